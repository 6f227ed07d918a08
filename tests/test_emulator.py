"""Firmware on the emulated Cortex-M4 (QEMU mps2-an386) over the serial protocol."""

from __future__ import annotations

import re

import numpy as np
import pytest

from codegen import reference
from hostbench.dut import DUT, ProtocolError
from hostbench.firmware_build import build_firmware
from hostbench.qemu import emulator
from tests.conftest import assert_runs_like_the_reference, needs_emulator
from tests.test_export import (trained_like_a8_model, trained_like_model,
                               trained_like_s8_stream_model, trained_like_sym_model)
from trainer.export import export_model

pytestmark = needs_emulator


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    ir = export_model(trained_like_model(seed=5), name="golden")
    fw = build_firmware(ir, tmp_path_factory.mktemp("fw"))
    with emulator(fw.elf) as port:
        dut = DUT(port)
        assert "m-init-done" in dut.wait_ready()
        yield ir, dut, fw


def test_twenty_images_bit_exact(device, cifar):
    ir, dut, fw = device
    images = cifar.test_images[:20]
    want = reference.run(ir, images)
    for i, img in enumerate(images):
        got = dut.infer(img)
        assert got.logits == want["logits"][i].tolist()
        assert got.pred == want["pred"][i]
        assert got.unit == "instructions" and got.counter > 0


def test_instruction_counts_are_deterministic(device, cifar):
    _, dut, _ = device
    # SysTick advances once per 40 instructions and its phase at the start of a measurement
    # depends on how long the firmware polled the UART, so counts agree to within one tick
    a = dut.infer(cifar.test_images[0])
    b = dut.infer(cifar.test_images[0], runs=1, warmup=1)
    c = dut.infer(cifar.test_images[1])
    assert abs(a.counter - b.counter) <= 40
    assert a.counter % 40 == 0 and c.counter != 0


def test_infer_speaks_the_mlperf_tiny_runner_sequence(device, cifar):
    _, dut, _ = device
    dut.load(np.ascontiguousarray(cifar.test_images[2], np.uint8).tobytes())
    lines = dut.command("infer 3 1")
    heads = [re.sub(r"-?\[?\d+\]?$", "", line) for line in lines]
    assert heads == ["m-warmup-start", "m-warmup-done", "m-infer-start", "m-lap-us",
                     "m-lap-us", "m-infer-done", "m-lap-instructions"]
    us0, us1 = (int(line.rsplit("-", 1)[1]) for line in lines[3:5])
    per_inference = int(lines[-1][len("m-lap-instructions-["):-1])
    # virtual microseconds under -icount shift=0 are instructions / 1000
    assert abs((us1 - us0) * 1000 - 3 * per_inference) <= 3 * 1000 + 40


def test_layer_profile_covers_every_layer_and_one_inference(device, cifar):
    ir, dut, _ = device
    rows, unit = dut.layers(cifar.test_images[3])
    assert unit == "instructions"
    assert [name for name, _ in rows] == [layer.name for layer in ir.layers]
    assert all(ticks > 0 for name, ticks in rows if name != "fc")
    plain = dut.infer(cifar.test_images[3]).counter
    # the profile adds one counter call per layer (tens of instructions each)
    assert abs(sum(t for _, t in rows) - plain) < 100 * len(rows)
    assert dut.command("results")[0].startswith("m-results-[")


def test_name_and_profile(device):
    _, dut, fw = device
    assert dut.command("name") == ["m-name-dut-[golden]"]
    prof = dut.command("profile")
    assert any(line.startswith("m-counter-[instructions]") for line in prof)
    assert fw.flash_bytes > 0 and fw.ram_bytes > 0


@pytest.mark.parametrize("bad,msg", [
    ("hello", "unknown command"),
    ("db load 99999999", "out of range"),
    ("db load x", "byte count"),
    ("db 0g", "bad hex"),
    ("db 012", "odd number"),
    ("infer 0", "infer N W"),
    ("x" * 400, "too long"),
])
def test_malformed_input_gets_errors_and_device_keeps_answering(device, bad, msg):
    _, dut, _ = device
    with pytest.raises(ProtocolError, match=msg):
        dut.command(bad)
    assert dut.command("name") == ["m-name-dut-[golden]"]


def test_garbage_bytes_and_truncated_loads(device):
    _, dut, _ = device
    dut.port.write(bytes(range(1, 37)) + b"\xff\xfe%")
    with pytest.raises(ProtocolError):
        dut.wait_ready_checked()
    dut.command("db load 3072")
    dut.command("db " + "00" * 10)
    with pytest.raises(ProtocolError, match="whole input"):
        dut.command("infer 1 0")
    with pytest.raises(ProtocolError, match="more bytes than announced"):
        dut.command("db load 4")
        dut.command("db " + "00" * 5)
    assert dut.command("name") == ["m-name-dut-[golden]"]


def test_bulk_mode_matches_reference(device, cifar):
    ir, _, fw = device
    res = assert_runs_like_the_reference(fw.elf, ir, cifar.test_images[100:160], instances=2)
    assert (res.counter > 0).all() and len(set(res.counter.tolist())) >= 1


def test_serial_and_bulk_count_the_same_instructions(device, cifar):
    from hostbench.bulk import run_bulk
    _, dut, fw = device
    img = cifar.test_images[7]
    serial_count = dut.infer(img).counter
    # same model code, same input: equal up to one SysTick (40 instructions) of loop overhead
    assert abs(int(run_bulk(fw.elf, img[None], instances=1).counter[0]) - serial_count) <= 40


# Cortex-M3 (portable kernels), Cortex-M7 and Cortex-M55 (ARMv7E-M kernels) with the binary
# model; the Cortex-M3 and M4 with 8-bit activations (IR v2: requantised convolutions, adds)
# and with binary convolutions on an int8 stream (IR v3: sign layers, adds in place); the M4
# with stage 1's first block downsampling (a stride-2 depthwise layer and a stride-2 shortcut
# at equal widths), binary and with 8-bit activations; a stride-2 input convolution with stage 1
# wider than the width (stage 2's first shortcut pads 28 channels to 40)
@pytest.mark.parametrize("board,make", [
    ("mps2-an385", lambda: trained_like_model(seed=6)),
    ("mps2-an500", lambda: trained_like_model(seed=6)),
    ("mps3-an547", lambda: trained_like_model(seed=6)),
    ("mps2-an385", lambda: trained_like_a8_model(seed=7, width=8)),
    ("mps2-an386", lambda: trained_like_a8_model(seed=7, width=8)),
    ("mps2-an385", lambda: trained_like_s8_stream_model(seed=8, width=8)),
    ("mps2-an386", lambda: trained_like_s8_stream_model(seed=8, width=8)),
    ("mps2-an386", lambda: trained_like_sym_model(seed=9, width=24, stage1_stride=2)),
    ("mps2-an386", lambda: trained_like_a8_model(seed=9, width=8, stage1_stride=2)),
    ("mps2-an386", lambda: trained_like_sym_model(seed=10, width=20, stem_stride=2,
                                                  stage1_width=28))],
    ids=["an385", "an500", "an547", "an385-a8", "an386-a8", "an385-s8", "an386-s8",
         "an386-stage1-s2", "an386-a8-stage1-s2", "an386-s2-stage1-w28"])
def test_other_emulated_cores_run_the_model_bit_exactly(board, make, cifar, tmp_path):
    """Firmware built with gcc for the board's core, images through bulk mode, logits
    bit-identical to the reference."""
    ir = export_model(make(), name="golden")
    fw = build_firmware(ir, tmp_path / board, board=board, use_platformio=False)
    assert_runs_like_the_reference(fw.elf, ir, cifar.test_images[:6], board)
