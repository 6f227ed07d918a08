"""Build firmware for an emulated Cortex-M board directly with arm-none-eabi-gcc.

The generated PlatformIO project uses the same sources and flags; this direct path is what the
test suite and `trit build --direct` use where PlatformIO is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codegen.ir import ModelIR
from codegen.memory import MemoryPlan, plan_memory
from codegen.render import render_model

from .boards import Board, get_board

REPO = Path(__file__).resolve().parents[1]
FIRMWARE = REPO / "firmware"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-ffunction-sections",
          "-fdata-sections", "-g"]
CPU_FLAGS = {"cortex-m4": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft"]}
BOARD_DIRS = {"mps2-an386": "mps2_an386"}


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


def build_firmware(ir: ModelIR, out_dir: Path, board: str = "mps2-an386") -> Firmware:
    spec = get_board(board)
    check_fit(plan_memory(ir), spec)
    cpu, flavour = spec.core, spec.kernels
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise BuildError("arm-none-eabi-gcc is not installed (make setup installs "
                         "gcc-arm-none-eabi and libnewlib-arm-none-eabi)")
    if board not in BOARD_DIRS:
        raise BuildError(f"no board support for {board!r} (have {', '.join(BOARD_DIRS)})")
    out_dir = Path(out_dir)
    src = out_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    for name, text in render_model(ir).items():
        (src / name).write_text(text)
    bdir = FIRMWARE / "boards" / BOARD_DIRS[board]
    sources = [src / "model.c", *sorted((FIRMWARE / "runtime").glob("*.c")),
               *sorted((FIRMWARE / "kernels" / flavour).glob("*.c")),
               *sorted(bdir.glob("*.c"))]
    elf = out_dir / "firmware.elf"
    cmd = [gcc, *CFLAGS, *CPU_FLAGS[cpu], f"-I{FIRMWARE / 'include'}", f"-I{src}",
           *map(str, sources), "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections",
           f"-T{bdir / (BOARD_DIRS[board] + '.ld')}", "-o", str(elf)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"firmware build failed:\n{res.stderr}")
    flash, ram = elf_sizes(elf)
    if flash > spec.flash or ram > spec.ram:
        raise DoesNotFit(f"firmware needs {flash} B flash / {ram} B RAM, {board} has "
                         f"{spec.flash} B / {spec.ram} B")
    return Firmware(elf, flash, ram)
