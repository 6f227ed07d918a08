"""Generate a complete PlatformIO project for a model and a board:

    platformio.ini        platform = the local dev-platform in firmware/platformio/
    include/trit/*.h      kernel, board and protocol interfaces
    src/model.{c,h}       rendered from the IR
    src/runtime/          protocol and main
    src/kernels/          the board's kernel flavour (portable files it does not replace
                          come from the reference flavour)
    src/board/            startup and board support
    ld/<board>.ld         linker script
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2

from .ir import ModelIR
from .render import TEMPLATES, render_model

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware"
PLATFORM_DIR = FIRMWARE / "platformio" / "platform-trit"


KERNEL_FLAVOURS = ("ref", "armv7em")


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


def write_project(ir: ModelIR, board: str, out_dir: str | Path, kernels: str = "ref",
                  model_name: str | None = None, qemu_timeout: int | None = None,
                  board_support: str = "mps2", defines: list[str] | None = None) -> Path:
    """Write the project into ``out_dir`` (kept: .pio build and core folders). ``board`` names
    the PlatformIO board, ``board_support`` the folder under firmware/boards/."""
    out = Path(out_dir)
    bdir = FIRMWARE / "boards" / board_support
    if not bdir.is_dir():
        raise ValueError(f"no firmware board support {board_support!r} in {bdir.parent}")
    for sub in ("src", "include", "ld"):
        shutil.rmtree(out / sub, ignore_errors=True)
    shutil.copytree(FIRMWARE / "include", out / "include")
    (out / "src").mkdir(parents=True)
    for name, text in render_model(ir).items():
        (out / "src" / name).write_text(text)
    shutil.copytree(FIRMWARE / "runtime", out / "src" / "runtime")
    (out / "src" / "kernels").mkdir()
    for f in kernel_sources(kernels) + kernel_headers(kernels):
        shutil.copy2(f, out / "src" / "kernels" / f.name)
    (out / "src" / "board").mkdir()
    (out / "ld").mkdir()
    for f in bdir.iterdir():
        dest = out / "ld" if f.suffix == ".ld" else out / "src" / "board"
        shutil.copy2(f, dest / f.name)
    ld = next((out / "ld").glob("*.ld"))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    (out / "platformio.ini").write_text(env.get_template("platformio.ini.j2").render(
        model=model_name or ir.name, board=board, platform_dir=PLATFORM_DIR,
        ldscript=f"ld/{ld.name}", qemu_timeout=qemu_timeout, defines=defines or []))
    return out
