"""Build firmware: generate the PlatformIO project (codegen.project), build it with
`pio run` offline (hostbench.pio), or with arm-none-eabi-gcc directly on the same tree
(`trit build --direct`), check the result against the board's flash and RAM."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codegen.ir import ModelIR
from codegen.memory import MemoryPlan, plan_memory
from codegen.project import write_project

from .boards import Board, c_defines, get_board
from .pio import pio_run

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-ffunction-sections",
          "-fdata-sections", "-g"]
CPU_FLAGS = {core: [f"-mcpu={core}", "-mthumb", "-mfloat-abi=soft"]
             for core in ("cortex-m3", "cortex-m4", "cortex-m7")}


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
        problems.append(f"activations need {plan.activation_bytes} B of RAM, {board.name} "
                        f"has {board.ram} B")
    if problems:
        raise DoesNotFit("model does not fit: " + "; ".join(problems))


@dataclass
class Firmware:
    elf: Path
    flash_bytes: int   # .text + .data (+ .ARM.exidx)
    ram_bytes: int     # .data + .bss


def elf_sizes(elf: Path, size_tool: str = "arm-none-eabi-size") -> tuple[int, int]:
    """(flash, ram) bytes from the Berkeley `size` output of an ELF."""
    out = subprocess.run([size_tool, str(elf)], check=True, capture_output=True, text=True)
    text, data, bss = (int(v) for v in out.stdout.splitlines()[1].split()[:3])
    return text + data, data + bss


def build_firmware(ir: ModelIR, out_dir: Path, board: str = "mps2-an386",
                   use_platformio: bool = True, kernels: str | None = None) -> Firmware:
    """Generate the PlatformIO project for ``ir`` in ``out_dir`` and build it: with
    ``pio run`` (default), or by calling arm-none-eabi-gcc on the same project tree.
    ``kernels`` overrides the board's kernel flavour (boards.yaml)."""
    spec = get_board(board)
    check_fit(plan_memory(ir), spec)
    project = write_project(ir, board, out_dir, kernels=kernels or spec.kernels,
                            board_support=spec.firmware, defines=c_defines(spec))
    if use_platformio:
        pio_run(project)
        elf = project / ".pio" / "build" / board / "firmware.elf"
    else:
        elf = _gcc_build(project, spec.core, c_defines(spec))
    flash, ram = elf_sizes(elf)
    if flash > spec.flash or ram > spec.ram:
        raise DoesNotFit(f"firmware needs {flash} B flash / {ram} B RAM, {board} has "
                         f"{spec.flash} B / {spec.ram} B")
    return Firmware(elf, flash, ram)


def _gcc_build(project: Path, cpu: str, defines: list[str]) -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise BuildError("arm-none-eabi-gcc is not installed (make setup installs "
                         "gcc-arm-none-eabi and libnewlib-arm-none-eabi)")
    elf = project / "firmware.elf"
    sources = sorted(str(p) for p in (project / "src").rglob("*.c"))
    ld = next((project / "ld").glob("*.ld"))
    cmd = [gcc, *CFLAGS, *CPU_FLAGS[cpu], *defines, f"-I{project / 'include'}",
           f"-I{project / 'src'}", *sources,
           "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections", f"-T{ld}", "-o",
           str(elf)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"firmware build failed:\n{res.stderr}")
    return elf
