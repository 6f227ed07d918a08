"""The board catalogue (boards.yaml): load, validate against a schema, look up.

Every entry says how to build for the board (PlatformIO platform/board/framework, core, ISA and
the kernel flavour it selects), what fits on it (flash and RAM, used by the memory plan), how to
talk to it (baud rate, USB VID:PID for port discovery, upload protocol) and, for emulated
boards, how QEMU runs it. Errors name the board and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).resolve().parents[1] / "boards.yaml"

# ISA -> kernel flavour a core of that ISA runs when the entry does not name one. Only cores
# with the DSP extension (SIMD byte/halfword arithmetic, USADA8, SMLAD) get armv7em.
# Application processors (ARMv7-A with NEON, ARMv8-A) get the NEON flavour.
ISA_KERNELS = {"armv6-m": "ref", "armv7-m": "ref", "armv7e-m": "armv7em",
               "armv8-m.base": "ref", "armv8-m.main": "ref", "armv8-m.main+dsp": "armv7em",
               "armv8.1-m.main": "armv7em", "armv7-a": "neon", "armv8-a": "neon"}
# ISAs each optimised flavour needs (ref runs everywhere).
FLAVOUR_ISAS = {flavour: {isa for isa, k in ISA_KERNELS.items() if k == flavour}
                for flavour in set(ISA_KERNELS.values()) - {"ref"}}
CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55",
         "cortex-a53", "cortex-a72", "cortex-a76")
# nanoseconds: Linux boards on silicon (clock_gettime(CLOCK_MONOTONIC)).
COUNTERS = ("instructions", "cycles", "microseconds", "nanoseconds")
FRAMEWORKS = ("trit-baremetal", "stm32cube", "arduino")
# Linux boards under QEMU user mode read bulk images from a file ($TRIT_BULK_FILE): no address,
# this many bytes at most per run.
LINUX_BULK_BYTES = 64 << 20

# field -> (type, required); nested mappings are dotted. Checked in this order.
SCHEMA: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "description": (str, False),
    "core": (str, True),
    "isa": (str, True),
    "kernels": (str, False),
    "fpu": (bool, True),
    "clock_hz": (int, True),
    "flash": (int, True),
    "ram": (int, True),
    "firmware": (str, True),
    "counter": (str, True),
    "platformio": (dict, False),
    "platformio.platform": (str, True),
    "platformio.board": (str, True),
    "platformio.framework": (str, True),
    "serial": (dict, True),
    "serial.baud": (int, True),
    "serial.usb": (list, False),
    "stm32": (dict, False),
    "stm32.family": (str, True),
    "stm32.uart": (str, True),
    "stm32.tx": (str, True),
    "stm32.rx": (str, True),
    "stm32.af": (str, True),
    "upload": (dict, False),
    "upload.protocol": (str, True),
    "emulator": (dict, False),
    "emulator.qemu": (str, True),
    "emulator.machine": (str, True),
    "emulator.bulk": (list, True),
    "emulator.instructions_per_tick": (list, True),
    "emulator.uart": (int, True),
    "linux": (dict, False),
    "linux.cc": (str, True),
    "linux.cflags": (list, True),
    "linux.qemu": (str, False),
}
STM32_FAMILIES = ("F4", "F7", "H7", "L4", "G0")   # the ones firmware/boards/stm32cube/clock.c has
CHOICES = {"core": CORES, "isa": tuple(ISA_KERNELS), "counter": COUNTERS,
           "platformio.framework": FRAMEWORKS, "stm32.family": STM32_FAMILIES}


class BoardError(ValueError):
    """An unknown board or an invalid catalogue entry (names the board and the field)."""


@dataclass(frozen=True)
class Stm32Port:
    """What the STM32Cube port needs: the family (clock configuration, HAL header), the UART
    wired to the ST-LINK's virtual COM port (HAL instance name), its TX/RX pins as
    ``P<port><pin>`` (e.g. ``PD8``) and the HAL alternate-function macro."""

    family: str
    uart: str
    tx: str
    rx: str
    af: str

    def pin(self, which: str) -> tuple[str, int]:
        """(GPIO port letter, pin number) of ``tx`` or ``rx``."""
        text = getattr(self, which)
        return text[1], int(text[2:])


@dataclass(frozen=True)
class Board:
    name: str
    core: str
    isa: str
    kernels: str
    clock_hz: int
    flash: int                     # bytes available to firmware (code + constants)
    ram: int                       # bytes of RAM for data, stack and the activation arena
    counter: str                   # what the firmware's counter measures (COUNTERS)
    firmware: str = ""             # board support folder under firmware/boards/
    fpu: bool = False
    pio_platform: str = "trit"     # PlatformIO platform ("trit" = firmware/platformio/...)
    pio_board: str = ""
    framework: str = "trit-baremetal"
    baud: int = 115200
    usb_ids: tuple[tuple[int, int], ...] = ()   # (VID, PID) of the serial port it enumerates as
    stm32: Stm32Port | None = None
    uart_base: int | None = None   # emulated boards: CMSDK UART0 address
    upload_protocol: str | None = None
    qemu: str | None = None
    qemu_machine: str | None = None
    bulk: tuple[int, int] | None = None  # (address, bytes) the emulator's loader may fill
    instructions_per_tick: tuple[int, int] = (1, 1)  # SysTick tick = num/den instructions
    description: str = ""
    linux_cc: str | None = None        # Linux boards: the (cross) C compiler
    linux_cflags: tuple[str, ...] = ()  # Linux boards: target flags (-mcpu, -mfpu, ...)
    qemu_user: str | None = None       # Linux boards run here: qemu-aarch64 / qemu-arm

    @property
    def emulated(self) -> bool:
        """Run here in QEMU: a system emulator (bare-metal boards) or user mode (Linux)."""
        return self.qemu_machine is not None or self.qemu_user is not None

    @property
    def linux(self) -> bool:
        """A Linux board: the runtime is a user-space program (firmware/boards/linux)."""
        return self.framework == "linux"

    @property
    def usb_text(self) -> str:
        return ", ".join(f"{v:04X}:{p:04X}" for v, p in self.usb_ids) or "-"


def c_defines(board: Board) -> list[str]:
    """Compiler -D flags the bare-metal board support needs from the catalogue: the board name
    and, for emulated boards, the bulk region, the UART address and the SysTick-to-instruction
    ratio. (Framework ports get trit/port_config.h instead: :func:`port_config`.)"""
    flags = [f'-DTRIT_BOARD_NAME="{board.name}"']
    if board.linux:
        return flags
    if board.bulk is not None:
        addr, size = board.bulk
        flags += [f"-DTRIT_BULK_ADDRESS={addr:#x}u", f"-DTRIT_BULK_BYTES={size}u"]
    if board.qemu_machine is not None:
        num, den = board.instructions_per_tick
        flags += [f"-DTRIT_UART_BASE={board.uart_base:#x}u",
                  f"-DTRIT_INSTRUCTIONS_PER_TICK_NUM={num}u",
                  f"-DTRIT_INSTRUCTIONS_PER_TICK_DEN={den}u"]
    return flags


def _lookup(entry: dict, dotted: str) -> tuple[bool, Any]:
    node: Any = entry
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _parent_present(entry: dict, dotted: str) -> bool:
    parent = dotted.rpartition(".")[0]
    return not parent or _lookup(entry, parent)[0]


def _parse_usb(name: str, where: Path, items: list) -> tuple[tuple[int, int], ...]:
    ids = []
    for item in items:
        parts = str(item).split(":")
        try:
            vid, pid = (int(p, 16) for p in parts)
        except ValueError:
            raise BoardError(f"{where}: board {name!r}: field 'serial.usb' entries must be "
                             f"'VVVV:PPPP' (hex), got {item!r}") from None
        ids.append((vid, pid))
    return tuple(ids)


def _int_pair(name: str, where: Path, key: str, value: list) -> tuple[int, int]:
    if not (len(value) == 2 and all(isinstance(v, int) and v >= 0 for v in value)):
        raise BoardError(f"{where}: board {name!r}: field {key!r} must be a pair of "
                         f"non-negative integers, got {value!r}")
    return value[0], value[1]


def validate_entry(name: str, entry: Any, where: Path = CATALOGUE) -> Board:
    """Check one catalogue entry against :data:`SCHEMA` and build its :class:`Board`."""
    if not isinstance(entry, dict):
        raise BoardError(f"{where}: board {name!r} must be a mapping")
    known = set(SCHEMA)
    for key in _flatten_keys(entry):
        if key not in known:
            raise BoardError(f"{where}: board {name!r}: unknown field {key!r}")
    for key, (typ, required) in SCHEMA.items():
        present, value = _lookup(entry, key)
        if not present:
            if required and _parent_present(entry, key):
                raise BoardError(f"{where}: board {name!r}: missing field {key!r}")
            continue
        if isinstance(value, bool) and typ is int or not isinstance(value, typ):
            tname = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise BoardError(f"{where}: board {name!r}: field {key!r} must be {tname}, "
                             f"got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise BoardError(f"{where}: board {name!r}: field {key!r} must be one of "
                             f"{', '.join(CHOICES[key])}, got {value!r}")
        if typ is int and value <= 0:
            raise BoardError(f"{where}: board {name!r}: field {key!r} must be positive")
    isa = entry["isa"]
    kernels = entry.get("kernels", ISA_KERNELS[isa])
    if kernels != "ref" and isa not in FLAVOUR_ISAS.get(kernels, ()):
        raise BoardError(f"{where}: board {name!r}: field 'kernels': {kernels!r} runs on "
                         f"{', '.join(sorted(FLAVOUR_ISAS.get(kernels, ()))) or 'no ISA'}, "
                         f"not {isa} (use ref)")
    linux = entry.get("linux")
    if ("platformio" in entry) == (linux is not None):
        raise BoardError(f"{where}: board {name!r}: needs exactly one of the fields "
                         f"'platformio' (microcontrollers) and 'linux' (Linux boards)")
    pio = entry.get("platformio") or {"platform": "", "board": "", "framework": "linux"}
    serial, emu = entry["serial"], entry.get("emulator")
    if emu is not None and pio["framework"] != "trit-baremetal":
        raise BoardError(f"{where}: board {name!r}: field 'platformio.framework': emulated "
                         f"boards use trit-baremetal")
    if pio["framework"] == "stm32cube" and "stm32" not in entry:
        raise BoardError(f"{where}: board {name!r}: missing field 'stm32' (the STM32Cube port "
                         f"needs the family and the UART wired to the ST-LINK)")
    for pin in ("tx", "rx"):
        value = (entry.get("stm32") or {}).get(pin, "PA0")
        if not (len(value) >= 3 and value[0] == "P" and value[1] in "ABCDEFGHIJK"
                and value[2:].isdigit() and int(value[2:]) < 16):
            raise BoardError(f"{where}: board {name!r}: field 'stm32.{pin}' must be a pin "
                             f"like PD8, got {value!r}")
    if linux is not None and not all(isinstance(f, str) for f in linux["cflags"]):
        raise BoardError(f"{where}: board {name!r}: field 'linux.cflags' must be a list of "
                         f"compiler flags")
    if emu is None and "usb" not in serial and not (linux or {}).get("qemu"):
        raise BoardError(f"{where}: board {name!r}: missing field 'serial.usb' (real boards "
                         f"are found by USB VID:PID)")
    stm32 = Stm32Port(**entry["stm32"]) if "stm32" in entry else None
    return Board(
        name=name, core=entry["core"], isa=isa, kernels=kernels, clock_hz=entry["clock_hz"],
        flash=entry["flash"], ram=entry["ram"], counter=entry["counter"],
        firmware=entry["firmware"], fpu=entry["fpu"], pio_platform=pio["platform"],
        pio_board=pio["board"], framework=pio["framework"], baud=serial["baud"],
        usb_ids=_parse_usb(name, where, serial.get("usb", [])), stm32=stm32,
        upload_protocol=(entry.get("upload") or {}).get("protocol"),
        qemu=emu["qemu"] if emu else None, qemu_machine=emu["machine"] if emu else None,
        uart_base=emu["uart"] if emu else None,
        bulk=(_int_pair(name, where, "emulator.bulk", emu["bulk"]) if emu
              else (0, LINUX_BULK_BYTES) if (linux or {}).get("qemu") else None),
        instructions_per_tick=(_int_pair(name, where, "emulator.instructions_per_tick",
                                         emu["instructions_per_tick"]) if emu else (1, 1)),
        description=entry.get("description", ""),
        linux_cc=linux["cc"] if linux else None,
        linux_cflags=tuple(linux["cflags"]) if linux else (),
        qemu_user=(linux or {}).get("qemu"))


def _flatten_keys(entry: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in entry.items():
        key = f"{prefix}{k}"
        keys.append(key)
        if isinstance(v, dict):
            keys += _flatten_keys(v, key + ".")
    return keys


def load_boards(path: Path = CATALOGUE) -> dict[str, Board]:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(raw, dict):
        raise BoardError(f"{path}: the catalogue must map board names to entries")
    return {name: validate_entry(name, entry, Path(path)) for name, entry in raw.items()}


def get_board(name: str, path: Path = CATALOGUE) -> Board:
    boards = load_boards(path)
    if name not in boards:
        raise BoardError(f"unknown board {name!r}; boards.yaml has {', '.join(boards)}")
    return boards[name]


def port_config(board: Board) -> dict[str, str]:
    """Macros of the generated trit/port_config.h for a framework port (STM32Cube, Arduino),
    name -> value, in order."""
    macros = {"TRIT_BOARD_NAME": f'"{board.name}"', "TRIT_BOARD_CLOCK_HZ": f"{board.clock_hz}u",
              "TRIT_BAUD": f"{board.baud}u"}
    if board.stm32 is not None:
        s = board.stm32
        (txp, txn), (rxp, rxn) = s.pin("tx"), s.pin("rx")
        ports = "".join(sorted({txp, rxp}))
        macros.update({
            f"TRIT_STM32{s.family}": "1",
            "TRIT_UART": s.uart,
            "TRIT_UART_CLK_ENABLE()": f"__HAL_RCC_{s.uart}_CLK_ENABLE()",
            "TRIT_UART_PINS_CLK_ENABLE()": "do { " + " ".join(
                f"__HAL_RCC_GPIO{p}_CLK_ENABLE();" for p in ports) + " } while (0)",
            "TRIT_UART_TX_PORT": f"GPIO{txp}", "TRIT_UART_TX_PIN": f"GPIO_PIN_{txn}",
            "TRIT_UART_RX_PORT": f"GPIO{rxp}", "TRIT_UART_RX_PIN": f"GPIO_PIN_{rxn}",
            "TRIT_UART_AF": s.af,
        })
    return macros


def hal_header(board: Board) -> str | None:
    """The STM32Cube HAL umbrella header of a board (``stm32f7xx_hal.h``), or None."""
    return f"stm32{board.stm32.family.lower()}xx_hal.h" if board.stm32 else None
