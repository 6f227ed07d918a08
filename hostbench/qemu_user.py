"""Run Linux boards' programs here under QEMU user mode (qemu-aarch64, qemu-arm) with the
trit_icount TCG plugin (hostbench/qemu_plugin/trit_icount.c), which gives the guest a
deterministic instruction counter: firmware/boards/linux/board.c reads it when
$TRIT_ICOUNT_FILE is set. The plugin is built with the host C compiler on first use."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .boards import Board, get_board
from .command_port import CommandPort
from .qemu import EmulatorError

PLUGIN_SOURCE = Path(__file__).resolve().parent / "qemu_plugin" / "trit_icount.c"
PLUGIN_DIR = Path(__file__).resolve().parents[1] / "build" / "qemu-plugin"


def plugin_library(build_dir: Path = PLUGIN_DIR) -> Path:
    """The plugin's shared library, (re)built when its source is newer."""
    lib = build_dir / "libtrit_icount.so"
    if lib.exists() and lib.stat().st_mtime >= PLUGIN_SOURCE.stat().st_mtime:
        return lib
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise EmulatorError("no host C compiler to build the QEMU plugin (install gcc)")
    build_dir.mkdir(parents=True, exist_ok=True)
    # a name of its own for each build (several threads of one process may build at once)
    fd, name = tempfile.mkstemp(prefix="libtrit_icount.", suffix=".so", dir=build_dir)
    os.close(fd)
    tmp = Path(name)
    try:
        res = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra",
                              "-fvisibility=hidden", str(PLUGIN_SOURCE), "-o", str(tmp)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise EmulatorError(f"building the QEMU plugin failed:\n{res.stderr}")
        tmp.replace(lib)   # atomic: parallel builds never see a half-written library
    finally:
        tmp.unlink(missing_ok=True)
    return lib


def qemu_user_binary(board: Board) -> str:
    if board.qemu_user is None:
        raise EmulatorError(f"{board.name} does not run under QEMU user mode (no linux.qemu)")
    exe = shutil.which(board.qemu_user)
    if exe is None:
        raise EmulatorError(f"{board.qemu_user} is not installed (make setup installs "
                            f"qemu-user)")
    return exe


# What the guest sees, the same on every machine: its program as ./program, the counter and
# bulk files by relative names in its working directory, and no other environment. The initial
# stack holds the program name and the environment; their lengths move the stack, and with it
# the alignment of stack buffers and the instruction counts (by up to about 150 an inference).
GUEST_PROGRAM, GUEST_ICOUNT, GUEST_BULK = "program", "icount.bin", "bulk.bin"


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target)


def guest_files(cwd: Path, program: Path, bulk_file: Path | None = None) -> None:
    """Put the guest's fixed names into ``cwd``: links to ``program`` and ``bulk_file``, an
    empty counter file."""
    cwd = Path(cwd)
    _link(cwd / GUEST_PROGRAM, Path(program).resolve())
    if bulk_file is not None and Path(bulk_file).resolve() != (cwd / GUEST_BULK).resolve():
        _link(cwd / GUEST_BULK, Path(bulk_file).resolve())
    (cwd / GUEST_ICOUNT).touch()


def user_command(board: Board, cwd: Path) -> list[str]:
    """argv running the program linked into ``cwd`` (:func:`guest_files`; a static binary for
    the board) under QEMU user mode, the instruction-counting plugin writing to its counter
    file; run it in ``cwd``."""
    icount = (Path(cwd) / GUEST_ICOUNT).resolve()
    return [qemu_user_binary(board), "-plugin", f"{plugin_library()},out={icount}",
            f"./{GUEST_PROGRAM}"]


def user_env(bulk: bool = False) -> dict[str, str]:
    """The guest's whole environment (relative names: run it in the directory of
    :func:`guest_files`)."""
    env = {"TRIT_ICOUNT_FILE": GUEST_ICOUNT}
    if bulk:
        env["TRIT_BULK_FILE"] = GUEST_BULK
    return env


def run_program(board: str | Board, program: Path, cwd: Path, bulk_file: Path | None = None,
                timeout: float = 300.0) -> subprocess.CompletedProcess:
    """Run ``program`` to completion under QEMU user mode in ``cwd`` (no input)."""
    spec = get_board(board) if isinstance(board, str) else board
    guest_files(cwd, program, bulk_file)
    try:
        return subprocess.run(user_command(spec, cwd), cwd=cwd,
                              env=user_env(bulk_file is not None), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EmulatorError(f"{program.name} did not finish within {timeout:.0f} s "
                            f"under {spec.qemu_user}") from None


@contextmanager
def user_emulator(program: Path, board: str | Board, timeout: float = 10.0,
                  bulk_file: Path | None = None) -> Iterator[CommandPort]:
    """Start the runtime ``program`` under QEMU user mode; yields a port on its stdin/stdout.
    ``bulk_file``: images for bulk mode (the program reads them at start)."""
    spec = get_board(board) if isinstance(board, str) else board
    with tempfile.TemporaryDirectory(prefix="trit-qemu-user-") as tmp:
        guest_files(Path(tmp), program, bulk_file)
        port = CommandPort(user_command(spec, Path(tmp)), env=user_env(bulk_file is not None),
                           cwd=tmp, timeout=timeout, name=f"{spec.qemu_user} {program.name}")
        try:
            yield port
        finally:
            port.close()
