"""The Linux runtime (Cortex-A boards): the generated Makefile project, the whole model under
QEMU user mode with the NEON kernels (bit-exact with the reference interpreter), and the serial
protocol over a command's stdin/stdout, as `trit bench --command "ssh pi@host ..."` uses it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from codegen import reference
from codegen.ir import load_ir
from codegen.project import write_project
from hostbench.boards import get_board
from hostbench.bulk import fnv1a_logits, run_bulk
from hostbench.firmware_build import build_firmware, project_target
from tests.conftest import REPO
from tests.test_export import trained_like_model
from trainer.export import export_model

ZOO_MODEL = REPO / "models" / "dws-tern-bin-32k" / "model.trit"
# board -> what it needs here (make setup installs them)
NEEDS = {"qemu-aarch64": ("aarch64-linux-gnu-gcc", "qemu-aarch64"),
         "qemu-armv7": ("arm-linux-gnueabihf-gcc", "qemu-arm")}


def needs(board: str) -> None:
    missing = [t for t in NEEDS[board] if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (make setup)")


def test_linux_board_gets_a_makefile_project(tmp_path):
    ir = export_model(trained_like_model(seed=3), name="golden")
    board = get_board("rpi4-aarch64")
    out = write_project(ir, project_target(board), tmp_path / "p", kernels=board.kernels)
    make = (out / "Makefile").read_text()
    assert not (out / "platformio.ini").exists() and not (out / "ld").exists()
    assert "CC = aarch64-linux-gnu-gcc" in make and "make -B CC=gcc" in make
    assert "TARGET_FLAGS ?= -mcpu=cortex-a72" in make
    assert "'-DTRIT_BOARD_NAME=\"rpi4-aarch64\"'" in make and "-static" in make
    assert (out / "src" / "kernels" / "neon_util.h").exists()
    assert (out / "src" / "board" / "board.c").exists()
    assert not any((out / "src" / "board").glob("cortex_m*"))


def test_native_build_with_cc_gcc_speaks_the_protocol(tmp_path, cifar):
    """The build a user runs on the board itself (`make CC=gcc`), here on the host with the
    portable kernels: the runtime answers the serial protocol on stdin/stdout, reports its
    monotonic clock in nanoseconds and agrees bit-exactly with the reference."""
    from hostbench.bench import bench_serial
    from hostbench.command_port import CommandPort
    from hostbench.dut import DUT
    ir = export_model(trained_like_model(seed=4), name="golden")
    out = write_project(ir, project_target(get_board("rpi4-aarch64")), tmp_path / "p",
                        kernels="ref")
    res = subprocess.run(["make", "-C", str(out), "CC=gcc", "TARGET_FLAGS=",
                          "EXTRA_CFLAGS=-Werror"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    port = CommandPort([str(out / "trit-runtime")], timeout=20.0)
    try:
        dut = DUT(port)
        assert dut.handshake() == "golden"
        assert dut.identify()["board"] == "rpi4-aarch64"
        images, labels = cifar.test_images[:8], cifar.test_labels[:8]
        report = bench_serial(dut, ir, images, labels, "rpi4-aarch64", "golden", 0, 0,
                              progress=False)
    finally:
        port.close()
    assert port.process.wait(timeout=10) == 0   # closing stdin ends the runtime
    assert report.agreement == 1.0
    assert report.instructions_per_inference is None
    assert report.milliseconds_per_inference["min"] > 0


@pytest.mark.parametrize("board", ["qemu-aarch64", "qemu-armv7"])
def test_zoo_model_bit_exact_under_qemu_user(board, cifar, tmp_path):
    """The zoo's popcount model, NEON kernels, cross-built and run under QEMU user mode in
    bulk mode: every prediction and every logit equal to the reference interpreter, and the
    counter counts guest instructions."""
    needs(board)
    ir = load_ir(ZOO_MODEL)
    fw = build_firmware(ir, tmp_path / board, board=board)
    assert fw.elf.name == "trit-runtime" and fw.flash_bytes > 0
    images = cifar.test_images[:12]
    res = run_bulk(fw.elf, images, board=board, instances=2)
    want = reference.run_batched(ir, images)
    assert np.array_equal(res.pred, want["pred"])
    assert np.array_equal(res.logits_hash, fnv1a_logits(want["logits"]))
    assert (res.counter > 1_000_000).all()


def test_serial_path_under_qemu_user_counts_the_same_instructions(cifar, tmp_path):
    """One image over the protocol on stdin/stdout and the same image in bulk mode: the same
    logits, and instruction counts that differ only by the protocol's own work."""
    needs("qemu-aarch64")
    from hostbench.dut import DUT
    from hostbench.qemu import emulator
    ir = export_model(trained_like_model(seed=7), name="golden")
    fw = build_firmware(ir, tmp_path / "p", board="qemu-aarch64")
    img = cifar.test_images[3]
    with emulator(fw.elf, "qemu-aarch64") as port:
        dut = DUT(port)
        dut.wait_ready()
        got = dut.infer(img)
    assert got.unit == "instructions"
    assert got.logits == reference.run(ir, img[None])["logits"][0].tolist()
    bulk = int(run_bulk(fw.elf, img[None], board="qemu-aarch64", instances=1).counter[0])
    assert abs(bulk - got.counter) <= 0.01 * bulk


def test_cli_flash_and_bench_a_linux_board_through_a_command(tmp_path, capsys, cifar_path,
                                                             monkeypatch):
    """`trit flash` on a Linux board without --ssh says how to copy and run the program;
    `trit bench --command` runs it (here under qemu-aarch64 standing in for `ssh pi@host`),
    checks it runs this model on this board and reports milliseconds from its monotonic
    clock. A microcontroller with --command is refused before anything is built."""
    needs("qemu-aarch64")
    from codegen.ir import save_ir
    from hostbench.cli import main
    save_ir(export_model(trained_like_model(seed=8), name="pi-model"), tmp_path / "m.trit")
    monkeypatch.chdir(tmp_path)
    assert main(["flash", "--board", "rpi4-aarch64", "--model", "m.trit"]) == 0
    out = capsys.readouterr().out
    program = "build/rpi4-aarch64-m/trit-runtime"
    assert f"scp {program} pi@HOST:trit-runtime" in out and '--command "ssh pi@HOST' in out
    assert main(["bench", "--board", "rpi4-aarch64", "--model", "m.trit", "--images", "4",
                 "--data", str(cifar_path), "--command", f"qemu-aarch64 {program}",
                 "--json", "reports/r.json"]) == 0
    out = capsys.readouterr().out
    assert "agreement        1.0000" in out and "milliseconds" in out
    assert "instructions" not in out.split("milliseconds")[0].split("agreement")[1]
    assert (tmp_path / "reports" / "r.json").exists()
    assert main(["bench", "--board", "mps2-an386", "--model", "m.trit", "--command", "x",
                 "--data", str(cifar_path)]) == 2
    err = capsys.readouterr().err
    assert "trit bench: error: --command runs a Linux board's runtime" in err
    assert not (tmp_path / "build" / "mps2-an386-m").exists()


def test_qemu_plugin_builds_from_several_threads_at_once(tmp_path):
    """`trit demo` benches boards from threads of one process; each may build the plugin on a
    fresh machine: every build has a temporary file of its own, and all end with the library."""
    from concurrent.futures import ThreadPoolExecutor

    from hostbench.qemu_user import plugin_library
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("needs a host C compiler")
    with ThreadPoolExecutor(4) as pool:
        libs = list(pool.map(lambda _: plugin_library(tmp_path), range(4)))
    assert libs == [tmp_path / "libtrit_icount.so"] * 4
    assert [p.name for p in tmp_path.iterdir()] == ["libtrit_icount.so"]


def test_qemu_user_counts_do_not_depend_on_the_host_environment_or_paths(cifar, tmp_path,
                                                                          monkeypatch):
    """The guest sees ./program, relative file names and no host environment: the same
    instruction count with a longer environment and the firmware under a longer path (both move
    a guest's initial stack, and with it the alignment of its stack buffers)."""
    needs("qemu-aarch64")
    import shutil as sh
    ir = export_model(trained_like_model(seed=7), name="golden")
    fw = build_firmware(ir, tmp_path / "p", board="qemu-aarch64")
    img = cifar.test_images[:1]
    first = int(run_bulk(fw.elf, img, board="qemu-aarch64", instances=1).counter[0])
    elsewhere = tmp_path / ("a-much-longer-folder-name" * 4) / "firmware"
    elsewhere.parent.mkdir()
    sh.copy(fw.elf, elsewhere)
    monkeypatch.setenv("TRIT_TEST_PADDING", "x" * 1000)
    again = int(run_bulk(elsewhere, img, board="qemu-aarch64", instances=1).counter[0])
    assert again == first
