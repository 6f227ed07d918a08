"""boards.yaml loading and the memory-plan fit check."""

from __future__ import annotations

import pytest

from codegen.memory import plan_memory
from hostbench.boards import BoardError, get_board, load_boards
from hostbench.firmware_build import DoesNotFit, check_fit
from tests.test_export import trained_like_model
from trainer.export import export_model


def test_catalogue_has_the_emulated_m4():
    b = get_board("mps2-an386")
    assert b.core == "cortex-m4" and b.qemu_machine == "mps2-an386" and b.ram == 4 << 20


REQUIRED_BOARDS = {"mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547", "nucleo_l4r5zi",
                   "nucleo_f746zg", "nucleo_h743zi", "nucleo_f401re", "nucleo_g0b1re", "pico",
                   "teensy41", "nano33ble"}
LINUX_BOARDS = {"qemu-aarch64", "qemu-armv7", "rpi4-aarch64", "rpi3-armv7"}


def test_every_catalogue_entry_is_complete_and_consistent():
    import json

    from codegen.project import FIRMWARE, KERNEL_FLAVOURS, port_sources
    from hostbench.firmware_build import CPU_FLAGS
    boards = load_boards()
    assert REQUIRED_BOARDS | LINUX_BOARDS <= set(boards)
    for b in boards.values():
        assert b.kernels in KERNEL_FLAVOURS, b.name
        assert (FIRMWARE / "boards" / b.firmware).is_dir(), b.name
        assert port_sources(b.firmware), b.name
        if b.linux:   # application processors: NEON kernels, a cross compiler, no PlatformIO
            assert b.kernels == "neon" and b.firmware == "linux" and b.linux_cc, b.name
            assert b.counter == ("instructions" if b.emulated else "nanoseconds"), b.name
            assert not b.qemu_machine and b.pio_platform == "", b.name
            continue
        assert b.core in CPU_FLAGS, b.name
        # cores without the DSP extension get the portable flavour
        assert b.kernels == ("ref" if b.core in ("cortex-m0plus", "cortex-m3") else "armv7em")
        assert b.baud > 0 and b.clock_hz >= 16_000_000
        if b.emulated:
            spec = json.loads((FIRMWARE / "platformio" / "platform-trit" / "boards" /
                               f"{b.name}.json").read_text())
            assert spec["build"]["cpu"] == b.core
            assert spec["build"]["qemu_machine"] == b.qemu_machine
            assert spec["upload"]["maximum_size"] == b.flash
            assert b.counter == "instructions" and b.bulk is not None
            assert b.pio_platform == "trit" and b.firmware == "mps"
        else:
            assert b.usb_ids and b.upload_protocol and b.counter in ("cycles", "microseconds")
            assert b.pio_platform in ("ststm32", "raspberrypi", "teensy", "nordicnrf52")
            assert (b.stm32 is not None) == (b.framework == "stm32cube")
    assert boards["mps2-an500"].bulk == (0x60000000, 16 << 20)
    assert boards["mps3-an547"].instructions_per_tick == (125, 4)
    assert boards["nucleo_l4r5zi"].clock_hz == 120_000_000
    assert boards["nucleo_f746zg"].stm32.pin("tx") == ("D", 8)
    assert (0x0483, 0x374B) in boards["nucleo_f401re"].usb_ids


BASE = """tiny:
  core: cortex-m0plus
  isa: armv6-m
  fpu: false
  clock_hz: 48000000
  flash: 65536
  ram: 8192
  firmware: stm32cube
  counter: cycles
  platformio: {platform: ststm32, board: tiny, framework: stm32cube}
  serial: {baud: 115200, usb: ["0483:374B"]}
  stm32: {family: G0, uart: USART2, tx: PA2, rx: PA3, af: GPIO_AF1_USART2}
"""


@pytest.mark.parametrize("change, message", [
    (("clock_hz: 48000000", "clock_hz: fast"), "field 'clock_hz' must be int"),
    (("clock_hz: 48000000", "clock_hz: true"), "field 'clock_hz' must be int"),
    (("ram: 8192", "ram: 0"), "field 'ram' must be positive"),
    (("  fpu: false\n", ""), "missing field 'fpu'"),
    (("core: cortex-m0plus", "core: cortex-m99"), "field 'core' must be one of"),
    (("framework: stm32cube}", "framework: zephyr}"), "field 'platformio.framework'"),
    (("board: tiny, ", ""), "missing field 'platformio.board'"),
    (("baud: 115200, ", "baud: 115200, speed: 9, "), "unknown field 'serial.speed'"),
    (('usb: ["0483:374B"]', 'usb: ["stlink"]'), "field 'serial.usb' entries must be 'VVVV:PPPP'"),
    ((', usb: ["0483:374B"]', ""), "missing field 'serial.usb'"),
    (("tx: PA2", "tx: A2"), "field 'stm32.tx' must be a pin like PD8"),
    (("family: G0", "family: U5"), "field 'stm32.family' must be one of"),
    (("  stm32: {family: G0, uart: USART2, tx: PA2, rx: PA3, af: GPIO_AF1_USART2}\n", ""),
     "missing field 'stm32'"),
    (("  counter: cycles\n", "  counter: cycles\n  kernels: armv7em\n"),
     "field 'kernels': 'armv7em' runs on .*, not armv6-m"),
    (("  counter: cycles\n", "  counter: cycles\n  kernels: neon\n"),
     "field 'kernels': 'neon' runs on armv7-a, armv8-a, not armv6-m"),
    (("  counter: cycles\n", "  counter: cycles\n  linux: {cc: gcc, cflags: []}\n"),
     "needs exactly one of the fields 'platformio' .* and 'linux'"),
])
def test_invalid_entries_name_board_and_field(tmp_path, change, message):
    p = tmp_path / "boards.yaml"
    text = BASE.replace(*change)
    assert text != BASE
    p.write_text(text)
    with pytest.raises(BoardError, match=f"board 'tiny': {message}"):
        load_boards(p)


def test_valid_minimal_entry_and_unknown_board(tmp_path):
    p = tmp_path / "boards.yaml"
    p.write_text(BASE)
    tiny = get_board("tiny", p)
    assert tiny.kernels == "ref" and tiny.stm32.family == "G0" and not tiny.emulated
    with pytest.raises(BoardError, match="unknown board 'nope'"):
        get_board("nope")


LINUX = """pi:
  core: cortex-a72
  isa: armv8-a
  fpu: true
  clock_hz: 1500000000
  flash: 67108864
  ram: 67108864
  firmware: linux
  counter: nanoseconds
  linux: {cc: aarch64-linux-gnu-gcc, cflags: [-mcpu=cortex-a72]}
  serial: {baud: 115200, usb: ["0525:A4A7"]}
"""


def test_linux_entries():
    """A Linux board: NEON kernels from its ISA, no PlatformIO; user-mode QEMU makes it an
    emulated board with a file-backed bulk region."""
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "boards.yaml"
        p.write_text(LINUX)
        pi = get_board("pi", p)
        assert pi.linux and pi.kernels == "neon" and not pi.emulated and pi.bulk is None
        p.write_text(LINUX.replace("cflags: [-mcpu=cortex-a72]}",
                                   "cflags: [-mcpu=cortex-a72], qemu: qemu-aarch64}"))
        emu = get_board("pi", p)
        assert emu.emulated and emu.qemu_user == "qemu-aarch64" and emu.bulk[1] > 0
        p.write_text(LINUX.replace("cflags: [-mcpu=cortex-a72]", "cflags: -O3"))
        with pytest.raises(BoardError, match="board 'pi': field 'linux.cflags' must be list"):
            load_boards(p)
        p.write_text(LINUX.replace("{cc: aarch64-linux-gnu-gcc, ", "{"))
        with pytest.raises(BoardError, match="board 'pi': missing field 'linux.cc'"):
            load_boards(p)


def test_port_config_names_the_uart_pins_and_clocks():
    from hostbench.boards import hal_header, port_config
    b = get_board("nucleo_l4r5zi")
    macros = port_config(b)
    assert hal_header(b) == "stm32l4xx_hal.h"
    assert macros["TRIT_STM32L4"] == "1" and macros["TRIT_UART"] == "LPUART1"
    assert macros["TRIT_UART_CLK_ENABLE()"] == "__HAL_RCC_LPUART1_CLK_ENABLE()"
    assert macros["TRIT_UART_TX_PORT"] == "GPIOG" and macros["TRIT_UART_RX_PIN"] == "GPIO_PIN_8"
    assert macros["TRIT_BOARD_CLOCK_HZ"] == "120000000u"
    pico = port_config(get_board("pico"))
    assert pico["TRIT_BOARD_NAME"] == '"pico"' and "TRIT_UART" not in pico


def test_model_that_does_not_fit_is_refused_with_figures():
    from dataclasses import replace
    plan = plan_memory(export_model(trained_like_model(width=8)))
    small = replace(get_board("mps2-an386"), ram=1024, flash=2048)
    with pytest.raises(DoesNotFit, match=rf"activations need {plan.activation_bytes} B of RAM"
                       r".*\(--arena-budget BYTES"):
        check_fit(plan, small)
    check_fit(plan, get_board("mps2-an386"))
