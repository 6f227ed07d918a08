"""Host side of the serial protocol (firmware/include/trit/protocol.h): drive a device under
test over any pyserial port (a real board's USB serial or an emulator's socket)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import serial

DB_CHUNK = 64  # bytes of image per `db` command (128 hex digits, well under the 256-byte line)


class ProtocolError(RuntimeError):
    """The device answered with e-[...] or something unexpected."""


@dataclass
class Inference:
    pred: int
    logits: list[int]
    counter: int | None   # per inference, in ``unit``
    unit: str | None


class DUT:
    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port

    def wait_ready(self) -> list[str]:
        """Read lines up to and including ``m-ready``; raise on an ``e-`` line."""
        lines = []
        while True:
            raw = self.port.read_until(b"\n")
            if not raw.endswith(b"\n"):
                raise ProtocolError(f"timed out waiting for m-ready (got {lines + [raw]!r})")
            line = raw.decode(errors="replace").strip()
            if line == "m-ready":
                return lines
            lines.append(line)

    def handshake(self, attempts: int = 3) -> str:
        """Synchronise with a board that booted long ago, or is booting now (USB boards may
        reset when the port opens): drop pending input, send ``name%`` and read up to its
        reply and the following m-ready (a boot banner's m-ready is skipped). Returns the
        model name the firmware reports."""
        for _ in range(attempts):
            self.port.reset_input_buffer()
            self.port.write(b"name%")
            name = None
            while True:
                raw = self.port.read_until(b"\n")
                if not raw.endswith(b"\n"):
                    break  # timed out: send again
                line = raw.decode(errors="replace").strip()
                if line.startswith("m-name-dut-[") and line.endswith("]"):
                    name = line[len("m-name-dut-["):-1]
                elif line == "m-ready" and name is not None:
                    return name
        raise ProtocolError(f"no answer to `name%` on {self.port.name} after {attempts} tries "
                            f"(is trit firmware running there, at this baud rate?)")

    def identify(self) -> dict[str, str]:
        """The ``profile`` reply as a dict: model, board, counter (unit)."""
        info = {}
        for line in self.command("profile"):
            m = re.fullmatch(r"m-(profile|board|counter)-\[(.*)\]", line)
            if m:
                info[m.group(1)] = m.group(2)
        info["model"] = info.pop("profile", "").removeprefix("trit ")
        return info

    def wait_ready_checked(self, what: str = "reply") -> list[str]:
        """Like :meth:`wait_ready`, raising :class:`ProtocolError` on an ``e-`` line."""
        lines = self.wait_ready()
        errors = [line for line in lines if line.startswith("e-")]
        if errors:
            raise ProtocolError(f"{what}: {errors[0]}")
        return lines

    def command(self, cmd: str) -> list[str]:
        """Send ``cmd%``; return the reply lines (without m-ready)."""
        self.port.write(cmd.encode() + b"%")
        return self.wait_ready_checked(repr(cmd[:40]))

    def load(self, data: bytes) -> None:
        self.command(f"db load {len(data)}")
        for i in range(0, len(data), DB_CHUNK):
            self.command("db " + data[i:i + DB_CHUNK].hex())

    def infer(self, image: np.ndarray, runs: int = 1, warmup: int = 0) -> Inference:
        self.load(np.ascontiguousarray(image, np.uint8).tobytes())
        lap = self.command(f"infer {runs} {warmup}")
        counter = unit = None
        for line in lap:
            m = re.fullmatch(r"m-lap-(\w+)-\[(\d+)\]", line)
            if m:
                unit, counter = m.group(1), int(m.group(2))
        res = self.command("results")
        logits = pred = None
        for line in res:
            if line.startswith("m-results-["):
                logits = [int(v) for v in line[len("m-results-["):-1].split(",")]
            elif line.startswith("m-pred-["):
                pred = int(line[len("m-pred-["):-1])
        if logits is None or pred is None:
            raise ProtocolError(f"malformed results reply {res!r}")
        return Inference(pred, logits, counter, unit)

    def layers(self, image: np.ndarray) -> tuple[list[tuple[str, int]], str]:
        """One profiled inference: ``([(layer name, counter ticks), ...], counter unit)``."""
        self.load(np.ascontiguousarray(image, np.uint8).tobytes())
        rows, unit = [], None
        for line in self.command("layers"):
            m = re.fullmatch(r"m-layer-\[(\d+),([^,\]]+),(\d+)\]", line)
            if m:
                rows.append((m.group(2), int(m.group(3))))
            m = re.fullmatch(r"m-layer-total-(\w+)-\[(\d+)\]", line)
            if m:
                unit = m.group(1)
        if unit is None or not rows:
            raise ProtocolError("malformed layers reply")
        return rows, unit
