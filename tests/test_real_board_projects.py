"""Projects for real boards: the generated platformio.ini of every real board, read back by
PlatformIO's own config reader (`pio project config`, offline), the generated port header, the
files each port gets, and the error when the stock platform cannot be had."""

from __future__ import annotations

import json
import subprocess

import pytest

from codegen.project import write_project
from hostbench.boards import get_board, load_boards
from hostbench.firmware_build import project_target
from hostbench.pio import PlatformIOError, ensure_platform, pio_executable, pio_env
from tests.test_export import trained_like_model
from trainer.export import export_model

# real microcontroller boards (PlatformIO projects; Linux boards get a Makefile project)
REAL = [name for name, b in load_boards().items() if not b.emulated and not b.linux]


@pytest.fixture(scope="module")
def ir():
    return export_model(trained_like_model(width=8), name="real-board-test")


def pio_config(project, tmp_path) -> dict[str, dict]:
    """`pio project config --json-output` as {section: {option: value}}."""
    res = subprocess.run([pio_executable(), "project", "config", "-d", str(project),
                          "--json-output"], env=pio_env(tmp_path / "core"), capture_output=True,
                         text=True, check=True, stdin=subprocess.DEVNULL)
    return {section: dict(options) for section, options in json.loads(res.stdout)}


@pytest.mark.parametrize("name", REAL)
def test_generated_platformio_ini_as_platformio_reads_it(name, ir, tmp_path):
    board = get_board(name)
    project = write_project(ir, project_target(board), tmp_path / name, kernels=board.kernels)
    config = pio_config(project, tmp_path)
    env = config[f"env:{name}"]
    assert env["platform"] == board.pio_platform
    assert env["board"] == board.pio_board
    assert env["framework"] == [board.framework]
    assert env["upload_protocol"] == board.upload_protocol
    assert env["monitor_speed"] == board.baud  # PlatformIO types the option
    assert env["build_flags"] == ["-O2 -I include"] and env["build_unflags"] == ["-Os"]
    assert config["platformio"]["default_envs"] == [name]
    assert "core_dir" not in config["platformio"] or "pio-core" not in str(
        config["platformio"]["core_dir"])  # real boards use the user's PlatformIO core

    src = {p.relative_to(project / "src").as_posix() for p in (project / "src").rglob("*")}
    assert {"model.c", "model.h", "runtime/protocol.c", "runtime/runtime.c",
            "board/cortex_m_counters.c"} <= src
    header = (project / "include" / "trit" / "port_config.h").read_text()
    assert f'#define TRIT_BOARD_NAME "{name}"' in header
    assert f"#define TRIT_BAUD {board.baud}u" in header
    if board.framework == "stm32cube":
        assert "runtime/main.c" in src and "board/clock.c" in src
        assert f'#include "stm32{board.stm32.family.lower()}xx_hal.h"' in header
        assert f"#define TRIT_UART {board.stm32.uart}" in header
        assert f"#define TRIT_STM32{board.stm32.family} 1" in header
    else:  # the Arduino core owns main(): setup()/loop() in the port
        assert "runtime/main.c" not in src and "board/arduino_port.cpp" in src
    kernels = (project / "src" / "kernels")
    assert (kernels / "bitcount.h").exists() == (board.kernels == "armv7em")
    assert not (project / "ld").exists()


def test_emulated_board_project_uses_the_local_platform(ir, tmp_path):
    board = get_board("mps3-an547")
    project = write_project(ir, project_target(board), tmp_path / "p", kernels=board.kernels)
    env = pio_config(project, tmp_path)["env:mps3-an547"]
    assert env["platform"].startswith("symlink://")
    assert env["board_build.ldscript"] == "ld/mps3-an547.ld"
    flags = " ".join(env["build_flags"])
    assert "-DTRIT_UART_BASE=0x59303000u" in flags and '-DTRIT_BOARD_NAME="mps3-an547"' in flags
    assert not (project / "include" / "trit" / "port_config.h").exists()


def test_missing_stock_platform_without_network_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "empty-core"))
    with pytest.raises(PlatformIOError, match=r"platform 'ststm32' is not installed and could "
                       r"not be downloaded .*pio pkg install -g -p ststm32.*ready in"):
        ensure_platform("ststm32", tmp_path / "project", timeout=3)


def test_trit_build_for_a_real_board_generates_the_project_and_explains(tmp_path, monkeypatch,
                                                                        capsys):
    from codegen.ir import save_ir
    from hostbench.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLATFORMIO_CORE_DIR", str(tmp_path / "empty-core"))
    monkeypatch.setenv("TRIT_PIO_INSTALL_TIMEOUT", "3")
    save_ir(export_model(trained_like_model(width=8), name="m"), tmp_path / "m.trit")
    assert main(["build", "--board", "nucleo_f746zg", "--model", "m.trit"]) == 2
    err = capsys.readouterr().err
    assert "PlatformIO platform 'ststm32' is not installed" in err
    assert (tmp_path / "build" / "nucleo_f746zg-m" / "platformio.ini").exists()


def test_model_too_large_for_a_real_board_is_refused_before_building(tmp_path, monkeypatch,
                                                                     capsys):
    from dataclasses import replace

    from hostbench import firmware_build
    small = replace(get_board("nucleo_g0b1re"), ram=4096)
    monkeypatch.setattr(firmware_build, "get_board", lambda name: small)
    ir = export_model(trained_like_model(width=8), name="m")
    with pytest.raises(firmware_build.DoesNotFit, match=r"activations need \d+ B of RAM, "
                       r"nucleo_g0b1re has 4096 B"):
        firmware_build.build_firmware(ir, tmp_path / "p", board="nucleo_g0b1re")
