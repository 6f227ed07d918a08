"""Build firmware: generate the PlatformIO project (codegen.project) for a board of
boards.yaml, build it with `pio run` (hostbench.pio: offline with the local platform for
emulated boards, the stock platform for real boards), or with arm-none-eabi-gcc directly on the
same tree (`trit build --direct`, any bare-metal board); Linux boards get a Makefile project
built with their cross compiler. Check the result against the board's flash and RAM."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codegen.ir import ModelIR
from codegen.memory import ArenaOptions, MemoryPlan, plan_memory
from codegen.project import ProjectTarget, write_project
from codegen.render import NO_FLASH_TABLES, FlashTables

from .boards import Board, c_defines, get_board, hal_header, port_config
from .pio import pio_run, pio_run_stock

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-ffunction-sections",
          "-fdata-sections", "-g"]
# Linux boards (static user-space programs); the board's linux.cflags select the CPU.
LINUX_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-g"]
CPU_FLAGS = {core: [f"-mcpu={core}", "-mthumb", "-mfloat-abi=soft"]
             for core in ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33")}
# Helium (MVE) uses the floating-point register file: the soft-float calling convention with
# FP/MVE instructions allowed (softfp links with soft-float code)
CPU_FLAGS["cortex-m55"] = ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=softfp"]


class BuildError(RuntimeError):
    pass


class DoesNotFit(BuildError):
    """The model or the firmware exceeds the board's flash or RAM (boards.yaml)."""


def check_fit(plan: MemoryPlan, board: Board) -> None:
    """Refuse a model whose weights or activations alone exceed the board, with the figures."""
    problems = []
    if plan.weight_bytes > board.flash:
        problems.append(f"weights need {plan.weight_bytes} B of flash, {board.name} has "
                        f"{board.flash} B")
    if plan.activation_bytes > board.ram:
        hint = "" if plan.arena not in (None, ArenaOptions()) else \
            " (--arena-budget BYTES fits the activations into less, for more instructions)"
        problems.append(f"activations need {plan.activation_bytes} B of RAM, {board.name} "
                        f"has {board.ram} B{hint}")
    if problems:
        raise DoesNotFit("model does not fit: " + "; ".join(problems))


def project_target(board: Board) -> ProjectTarget:
    """The project generator's view of a catalogue entry."""
    framework_port = board.framework not in ("trit-baremetal", "linux")
    return ProjectTarget(
        name=board.name, port=board.firmware, platform=board.pio_platform,
        pio_board=board.pio_board, framework=board.framework,
        upload_protocol=board.upload_protocol, baud=board.baud,
        defines=[] if framework_port else c_defines(board),
        port_config=port_config(board) if framework_port else {},
        includes=[h for h in [hal_header(board)] if h],
        linux_cc=board.linux_cc, linux_cflags=list(board.linux_cflags))


def project_dir(board: str, model: Path, kernels: str | None = None,
                arena: str | None = None) -> Path:
    """Default project folder of `trit build`: build/<board>-<model>[-<kernels>][-<arena>]
    (``arena``: a label of the arena options, e.g. ``band2``)."""
    from .zoo import model_label
    suffix = (f"-{kernels}" if kernels else "") + (f"-{arena}" if arena else "")
    return Path("build") / f"{board}-{model_label(Path(model))}{suffix}"


@dataclass
class Firmware:
    elf: Path          # the firmware ELF, or a Linux board's static program (trit-runtime)
    flash_bytes: int   # .text + .data (+ .ARM.exidx)
    ram_bytes: int     # .data + .bss


def elf_sizes(elf: Path, size_tool: str = "arm-none-eabi-size") -> tuple[int, int]:
    """(flash, ram) bytes from the Berkeley `size` output of an ELF."""
    out = subprocess.run([size_tool, str(elf)], check=True, capture_output=True, text=True)
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss


def build_firmware(ir: ModelIR, out_dir: Path, board: str = "mps2-an386",
                   use_platformio: bool = True, kernels: str | None = None,
                   arena: ArenaOptions | None = None,
                   tables: FlashTables = NO_FLASH_TABLES) -> Firmware:
    """Generate the PlatformIO project for ``ir`` in ``out_dir`` and build it: with
    ``pio run`` (default), or by calling arm-none-eabi-gcc on the same project tree.
    ``kernels`` overrides the board's kernel flavour (boards.yaml); ``arena`` fits the
    model to a smaller arena (banded layer chains, scratch cap; codegen/memory.py);
    ``tables``: the pointwise kernel's tables kept in flash (`--byte-tables`,
    `--nibble-tables`; codegen/render.py, FlashTables)."""
    spec = get_board(board)
    check_fit(plan_memory(ir, arena), spec)
    project = write_project(ir, project_target(spec), out_dir, kernels=kernels or spec.kernels,
                            arena=arena, tables=tables)
    if spec.linux:
        return _make_linux(project, spec)
    if spec.pio_platform != "trit" and not use_platformio:
        raise BuildError(f"{board} builds with PlatformIO's {spec.pio_platform} platform "
                         f"({spec.framework}); --direct works for bare-metal boards only")
    try:
        if spec.pio_platform != "trit":
            pio_run_stock(project, spec.pio_platform)
            elf = project / ".pio" / "build" / board / "firmware.elf"
        elif use_platformio:
            pio_run(project)
            elf = project / ".pio" / "build" / board / "firmware.elf"
        else:
            elf = _gcc_build(project, spec.core, c_defines(spec))
    except RuntimeError as err:
        explain_overflow(err, spec, tables)
        raise
    flash, ram = elf_sizes(elf)
    if flash > spec.flash or ram > spec.ram:
        raise DoesNotFit(f"firmware needs {flash} B flash / {ram} B RAM, {board} has "
                         f"{spec.flash} B / {spec.ram} B")
    return Firmware(elf, flash, ram)


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def explain_overflow(err: Exception, spec: Board, tables: FlashTables = NO_FLASH_TABLES) -> None:
    """Raise DoesNotFit for a link that overflowed one of the board's memory regions (the
    linker's message in ``err``), saying by how much and, where the build keeps the pointwise
    kernel's tables in flash, that those are what to drop; return otherwise."""
    m = _OVERFLOW.search(str(err))
    if m is None:
        return
    region, over = m.group(1), int(m.group(2))
    hint = (": --byte-tables and --nibble-tables keep the pointwise kernel's tables in flash, "
            "build without one of them"
            if region.upper() == "FLASH" and (tables.byte or tables.nibble) else "")
    raise DoesNotFit(f"firmware does not fit {spec.name}: its {region} region ({spec.flash} B "
                     f"of flash, {spec.ram} B of RAM) overflowed by {over} B{hint}") from err


def _make_linux(project: Path, board: Board) -> Firmware:
    """Build a Linux board's runtime with the generated Makefile (cross compiler of
    boards.yaml); sizes from the matching binutils ``size`` (text + data, data + bss)."""
    cc = board.linux_cc or "gcc"
    if shutil.which(cc) is None:
        raise BuildError(f"{cc} is not installed (make setup installs the cross compilers); "
                         f"on the board itself, build natively: make -C {project} CC=gcc")
    if shutil.which("make") is None:
        raise BuildError("make is not installed")
    res = subprocess.run(["make", "-C", str(project), "--no-print-directory",
                          "EXTRA_CFLAGS=-Werror"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"runtime build failed:\n{res.stdout[-2000:]}{res.stderr[-4000:]}")
    program = project / "trit-runtime"
    size_tool = cc[:-3] + "size" if cc.endswith("gcc") else "size"
    flash, ram = elf_sizes(program, size_tool)
    return Firmware(program, flash, ram)


def _gcc_build(project: Path, cpu: str, defines: list[str]) -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise BuildError("arm-none-eabi-gcc is not installed (make setup installs "
                         "gcc-arm-none-eabi and libnewlib-arm-none-eabi)")
    elf = project / "firmware.elf"
    sources = sorted(str(p) for p in (project / "src").rglob("*.c"))
    ld = project / _ldscript(project)
    cmd = [gcc, *CFLAGS, *CPU_FLAGS[cpu], *defines, f"-I{project / 'include'}",
           f"-I{project / 'src'}", *sources,
           "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections", f"-L{project / 'ld'}",
           f"-T{ld}", "-o", str(elf)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"firmware build failed:\n{res.stderr}")
    return elf


def _ldscript(project: Path) -> str:
    """The linker script named in the generated platformio.ini (``board_build.ldscript``)."""
    for line in (project / "platformio.ini").read_text().splitlines():
        if line.startswith("board_build.ldscript"):
            return line.split("=", 1)[1].strip()
    raise BuildError(f"{project}/platformio.ini names no linker script (not a bare-metal board)")
