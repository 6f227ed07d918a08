"""Start an emulated board in QEMU with its UART on a local TCP socket (pyserial `socket://`),
or on a pseudo-terminal, where it looks to the host like a board on a serial port
(`trit flash` on an emulated board; `trit bench --port /dev/pts/N` talks to it).

`-icount shift=0` makes the guest run one instruction per virtual nanosecond, so SysTick counts
are deterministic instruction counts (see firmware/boards/*/board.c).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import serial


def qemu_machine(board: str) -> tuple[str, str]:
    """(QEMU binary, machine) of an emulated board from boards.yaml."""
    from .boards import get_board
    spec = get_board(board)
    if not spec.qemu or not spec.qemu_machine:
        raise EmulatorError(f"{board} is not an emulated board (no emulator entry in boards.yaml)")
    return spec.qemu, spec.qemu_machine


class EmulatorError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _qemu_exe(binary: str) -> str:
    exe = shutil.which(binary)
    if exe is None:
        raise EmulatorError(f"{binary} is not installed (make setup installs qemu-system-arm)")
    return exe


@dataclass
class PtyEmulator:
    """A QEMU process whose UART0 is the pseudo-terminal ``device``."""

    process: subprocess.Popen
    device: str

    def stop(self) -> None:
        """Stop the emulator (to the host: the board was unplugged)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_on_pty(elf: Path, board: str = "mps2-an386", timeout: float = 10.0) -> PtyEmulator:
    """Run ``elf`` on an emulated ``board`` with UART0 on a new pseudo-terminal (QEMU
    ``-serial pty``); returns once QEMU has named the terminal."""
    binary, machine = qemu_machine(board)
    proc = subprocess.Popen(
        [_qemu_exe(binary), "-machine", machine, "-nographic", "-monitor", "none", "-icount",
         "shift=0", "-serial", "pty", "-kernel", str(elf)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line.strip())
        m = re.search(r"char device redirected to (\S+)", line)
        if m:
            return PtyEmulator(proc, m.group(1))
    proc.kill()
    proc.wait()
    raise EmulatorError(f"QEMU did not report its pseudo-terminal: {' | '.join(seen)}")


@contextmanager
def emulator(elf: Path, board: str = "mps2-an386", timeout: float = 10.0,
             preload: tuple[Path, int] | None = None) -> Iterator[serial.SerialBase]:
    """Run ``elf`` on ``board``; yields an open pyserial port on its UART0. QEMU waits for
    this connection before starting the guest, so no output is lost. ``preload`` = (file,
    address) places a raw file in guest memory before boot (bulk mode). Stops QEMU on exit."""
    binary, machine = qemu_machine(board)
    exe = _qemu_exe(binary)
    port = free_port()
    proc = subprocess.Popen(
        [exe, "-machine", machine, "-nographic", "-monitor", "none", "-icount", "shift=0",
         "-chardev", f"socket,id=uart0,host=127.0.0.1,port={port},server=on,wait=on",
         "-serial", "chardev:uart0", "-kernel", str(elf),
         *(["-device", f"loader,file={preload[0]},addr={preload[1]:#x},force-raw=on"]
           if preload else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port_obj = None
    try:
        deadline = time.time() + timeout
        while port_obj is None:
            try:
                port_obj = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=timeout)
            except serial.SerialException:
                if proc.poll() is not None:
                    raise EmulatorError(f"QEMU exited: {proc.stderr.read().decode()}")
                if time.time() > deadline:
                    raise EmulatorError("QEMU did not open its serial socket")
                time.sleep(0.05)
        yield port_obj
    finally:
        if port_obj is not None:
            port_obj.close()
        proc.kill()
        proc.wait()
