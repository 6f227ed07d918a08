"""Start an emulated board in QEMU with its UART on a local TCP socket (pyserial `socket://`),
or on a pseudo-terminal, where it looks to the host like a board on a serial port
(`trit flash` on an emulated board; `trit bench --port /dev/pts/N` talks to it).

`-icount shift=0` makes the guest run one instruction per virtual nanosecond, so SysTick counts
are deterministic instruction counts (see firmware/boards/*/board.c).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import serial
from serial.urlhandler import protocol_socket


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


def start_on_pty(elf: Path, board: str = "mps2-an386", timeout: float = 30.0) -> PtyEmulator:
    """Run ``elf`` on an emulated ``board`` with UART0 on a new pseudo-terminal (QEMU
    ``-serial pty``); returns once QEMU has named the terminal."""
    binary, machine = qemu_machine(board)
    # QEMU names the terminal on stdout: "char device redirected to /dev/pts/N (label ...)"
    proc = subprocess.Popen(
        [_qemu_exe(binary), "-machine", machine, "-nographic", "-monitor", "none", "-icount",
         "shift=0", "-serial", "pty", "-kernel", str(elf)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    seen = b""
    while time.time() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            seen += os.read(proc.stdout.fileno(), 4096)
            m = re.search(rb"char device redirected to (\S+)", seen)
            if m:
                # keep draining QEMU's output so that it never blocks on a full pipe
                threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
                return PtyEmulator(proc, m.group(1).decode())
    proc.kill()
    proc.wait()
    raise EmulatorError(f"QEMU did not report its pseudo-terminal: "
                        f"{seen.decode(errors='replace').strip()[-500:]}")


def _drain(stream) -> None:
    while stream.read(4096):
        pass


class GuestSocketPort(protocol_socket.Serial):
    """pyserial's ``socket://`` port, keeping what arrives while it opens. pyserial empties the
    input at the end of ``open()``, and QEMU starts the guest as soon as it accepts the
    connection, so on a loaded machine the boot banner (and its ``m-ready``) could arrive in
    between and be thrown away, leaving the host waiting for a line already sent."""

    _opening = False

    def open(self) -> None:
        self._opening = True
        try:
            super().open()
        finally:
            self._opening = False

    def reset_input_buffer(self) -> None:
        if not self._opening:
            super().reset_input_buffer()


@contextmanager
def emulator(elf: Path, board: str = "mps2-an386", timeout: float = 30.0,
             preload: tuple[Path, int] | None = None) -> Iterator[serial.SerialBase]:
    """Run ``elf`` on ``board``; yields an open pyserial port on its UART0. QEMU waits for
    this connection before starting the guest, so no output is lost. ``preload`` = (file,
    address) places a raw file in guest memory before boot (bulk mode). Stops QEMU on exit.
    Linux boards run under QEMU user mode instead (:mod:`hostbench.qemu_user`), the port on
    the program's stdin/stdout and the preloaded file read by the program at start."""
    from .boards import get_board
    if get_board(board).linux:
        from .qemu_user import user_emulator
        with user_emulator(elf, board, timeout, bulk_file=preload[0] if preload else None) as p:
            yield p
        return
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
                port_obj = GuestSocketPort(f"socket://127.0.0.1:{port}", timeout=timeout)
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
