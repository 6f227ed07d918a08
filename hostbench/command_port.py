"""A device under test that is a command: its stdin and stdout carry the serial protocol.

This is how trit talks to Linux boards: the runtime under QEMU user mode here, or on a
Raspberry Pi through ``ssh pi@host ./trit-runtime``. :class:`CommandPort` offers the part of
pyserial's port interface that :class:`hostbench.dut.DUT` uses (write, read_until with a
timeout, reset_input_buffer, close, name)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence


class CommandPort:
    """Run ``argv``; bytes written go to its stdin, its stdout is read back. A reader thread
    collects output, so reads time out like a serial port's (``timeout`` seconds)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None,
                 cwd: str | None = None, timeout: float = 10.0, name: str | None = None) -> None:
        self.name = name or " ".join(argv)
        self.timeout = timeout
        self._buf = bytearray()
        self._eof = False
        self._cond = threading.Condition()
        self._stderr = bytearray()
        try:
            self.process = subprocess.Popen(list(argv), stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                            env=env, cwd=cwd, bufsize=0)
        except FileNotFoundError as exc:
            raise OSError(f"cannot start {argv[0]}: {exc}") from None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        while True:
            chunk = self.process.stdout.read(65536)
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf += chunk
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        while chunk := self.process.stderr.read(4096):
            self._stderr += chunk[-4096:]

    @property
    def stderr_text(self) -> str:
        """The last few KiB the command wrote to stderr (for error messages)."""
        return self._stderr[-2000:].decode(errors="replace")

    def write(self, data: bytes) -> int:
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise OSError(f"{self.name} exited (status {self.process.poll()}): "
                          f"{self.stderr_text.strip()[-500:]}") from None
        return len(data)

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        """Bytes up to and including ``expected``; fewer when the timeout passes first or
        the command exits."""
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while True:
                at = self._buf.find(expected)
                if at >= 0:
                    end = at + len(expected)
                    break
                if size is not None and len(self._buf) >= size:
                    end = size
                    break
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    end = len(self._buf)
                    break
                self._cond.wait(left)
            out = bytes(self._buf[:end])
            del self._buf[:end]
            return out

    def reset_input_buffer(self) -> None:
        with self._cond:
            self._buf.clear()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.process.wait()
