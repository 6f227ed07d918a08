"""Generate a complete PlatformIO project for a model and a board target:

    platformio.ini          the local dev-platform in firmware/platformio/ (emulated boards) or
                            a stock platform (ststm32, raspberrypi, teensy, nordicnrf52)
    include/trit/*.h        kernel, board-port, runtime and protocol interfaces
    include/trit/port_config.h   framework ports only: the board's facts from boards.yaml
    src/model.{c,h}         rendered from the IR
    src/runtime/            protocol, runtime and (bare-metal and STM32Cube ports) main()
    src/kernels/            the board's kernel flavour (portable files it does not replace
                            come from the reference flavour)
    src/board/              the board port (firmware/boards/<port>/) and the Cortex-M counters
    ld/                     bare-metal ports: linker scripts

Linux boards (Raspberry Pi class, QEMU user mode) get a Makefile instead of platformio.ini: one
static program, ``trit-runtime``, cross-built here or built natively on the board.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .ir import ModelIR
from .memory import ArenaOptions, plan_memory
from .render import NO_FLASH_TABLES, TEMPLATES, FlashTables, render_model, uses_word_tiles

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"
PLATFORM_DIR = FIRMWARE / "platformio" / "platform-trit"
COMMON_PORT = FIRMWARE / "boards" / "cortex-m"   # shared by every port: Cortex-M counters

KERNEL_FLAVOURS = ("ref", "armv7em", "neon")
LOCAL_PLATFORM = "trit"
LINUX_PORTS = ("linux",)   # user-space runtimes: built with a Makefile, no PlatformIO


@dataclass(frozen=True)
class ProjectTarget:
    """What the project generator needs to know about a board (hostbench.boards builds it
    from boards.yaml). ``platform = "trit"`` is the local dev-platform for emulated boards."""

    name: str                                  # environment name (the catalogue's board name)
    port: str                                  # board-port folder under firmware/boards/
    platform: str = LOCAL_PLATFORM
    pio_board: str = ""
    framework: str = "trit-baremetal"
    upload_protocol: str | None = None
    baud: int = 115200
    defines: list[str] = field(default_factory=list)         # -D flags (bare-metal ports)
    port_config: dict[str, str] = field(default_factory=dict)  # macros of trit/port_config.h
    includes: list[str] = field(default_factory=list)        # headers port_config.h includes
    linux_cc: str | None = None                # Linux boards: the (cross) C compiler
    linux_cflags: list[str] = field(default_factory=list)    # Linux boards: -mcpu, -mfpu, ...

    @property
    def local(self) -> bool:
        return self.platform == LOCAL_PLATFORM

    @property
    def linux(self) -> bool:
        """A Linux user-space runtime (Makefile project) rather than firmware."""
        return self.port in LINUX_PORTS


def kernel_sources(flavour: str) -> list[Path]:
    """C sources of a kernel flavour: its own files, plus the portable reference's files for
    the operations it does not optimise (same file name = same operations)."""
    if flavour not in KERNEL_FLAVOURS:
        raise ValueError(f"unknown kernel flavour {flavour!r} (have {', '.join(KERNEL_FLAVOURS)})")
    own = {p.name: p for p in (FIRMWARE / "kernels" / flavour).glob("*.c")}
    ref = {p.name: p for p in (FIRMWARE / "kernels" / "ref").glob("*.c")}
    return [own.get(name, ref.get(name)) for name in sorted(ref.keys() | own.keys())]


def kernel_headers(flavour: str) -> list[Path]:
    """Private headers of a flavour (``*.h`` beside its sources)."""
    return sorted((FIRMWARE / "kernels" / flavour).glob("*.h"))


def port_sources(port: str) -> list[Path]:
    """Files of a board port: its folder plus, for microcontroller ports, the shared Cortex-M
    counters."""
    pdir = FIRMWARE / "boards" / port
    if not pdir.is_dir():
        raise ValueError(f"no firmware board port {port!r} in {pdir.parent}")
    own = sorted(p for p in pdir.iterdir() if p.is_file())
    return own if port in LINUX_PORTS else own + sorted(COMMON_PORT.iterdir())


def linker_script(files: list[Path], board: str) -> Path:
    """The port's linker script for ``board``: the ``.ld`` file whose name (without suffix) is
    the longest prefix of the board name, e.g. mps2.ld for mps2-an386."""
    scripts = [f for f in files if f.suffix == ".ld" and board.startswith(f.stem)]
    if not scripts:
        raise ValueError(f"no linker script for {board} among "
                         f"{', '.join(f.name for f in files if f.suffix == '.ld') or 'none'}")
    return max(scripts, key=lambda f: len(f.stem))


def runtime_sources(framework: str) -> list[Path]:
    """The runtime's C files; Arduino ports bring their own entry (setup/loop), not main.c."""
    files = sorted((FIRMWARE / "runtime").glob("*.c"))
    return [f for f in files if not (framework == "arduino" and f.name == "main.c")]


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def write_project(ir: ModelIR, target: ProjectTarget, out_dir: str | Path, kernels: str = "ref",
                  model_name: str | None = None, qemu_timeout: int | None = None,
                  arena: ArenaOptions | None = None,
                  tables: FlashTables = NO_FLASH_TABLES) -> Path:
    """Write the project into ``out_dir`` (kept: .pio build and core folders): a PlatformIO
    project for microcontrollers, a Makefile project for Linux boards. ``arena``: how the
    model fits a small arena (banded layer chains, scratch cap; codegen/memory.py);
    ``tables``: the pointwise kernel's tables kept in flash (codegen/render.py, FlashTables)."""
    out = Path(out_dir)
    files = port_sources(target.port)
    for sub in ("src", "include", "ld"):
        shutil.rmtree(out / sub, ignore_errors=True)
    shutil.copytree(FIRMWARE / "include", out / "include")
    (out / "src" / "runtime").mkdir(parents=True)
    for name, text in render_model(ir, kernels, arena, tables).items():
        (out / "src" / name).write_text(text)
    config = []
    if arena is not None and arena.scratch_cap:
        config.append(f"#define TRIT_SCRATCH_CAP {arena.scratch_cap} "
                      "/* ints of kernel scratch per layer (codegen/memory.py) */")
    if uses_word_tiles(ir, kernels, plan_memory(ir, arena), tables):
        config.append("#define TRIT_WORD_TILES 1 /* nibble tables in whole-word tiles "
                      "(--nibble-tables) */")
    if config:
        (out / "include" / "trit" / "model_config.h").write_text(
            "/* Generated by trit for this model's build; do not edit. */\n"
            "#ifndef TRIT_MODEL_CONFIG_H\n#define TRIT_MODEL_CONFIG_H\n"
            + "".join(line + "\n" for line in config) + "#endif\n")
    for f in runtime_sources(target.framework):
        shutil.copy2(f, out / "src" / "runtime" / f.name)
    (out / "src" / "kernels").mkdir()
    for f in kernel_sources(kernels) + kernel_headers(kernels):
        shutil.copy2(f, out / "src" / "kernels" / f.name)
    (out / "src" / "board").mkdir()
    ldscript = None
    for f in files:
        if f.suffix != ".ld":
            shutil.copy2(f, out / "src" / "board" / f.name)
    if target.local:
        (out / "ld").mkdir()
        for f in files:
            if f.suffix == ".ld":
                shutil.copy2(f, out / "ld" / f.name)
        ldscript = f"ld/{linker_script(files, target.name).name}"
    env = _env()
    name = model_name or ir.name
    if target.linux:
        (out / "platformio.ini").unlink(missing_ok=True)
        (out / "Makefile").write_text(env.get_template("Makefile.j2").render(
            model=name, target=target, kernels=kernels))
        return out
    if target.port_config:
        (out / "include" / "trit" / "port_config.h").write_text(
            env.get_template("port_config.h.j2").render(target=target, model=name))
    (out / "platformio.ini").write_text(env.get_template("platformio.ini.j2").render(
        model=name, target=target, platform_dir=PLATFORM_DIR, ldscript=ldscript,
        qemu_timeout=qemu_timeout))
    return out
