"""Bulk evaluation on emulated boards: images go into the board's bulk region through QEMU's
loader device instead of the ~12 KiB/s emulated UART; the firmware runs them with the same
model code and reports prediction, counter and an FNV-1a hash of the logits for every image
over the serial port, and parallel emulator instances share the work. Real boards use the
plain serial path (:mod:`hostbench.dut`)."""

from __future__ import annotations

import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .dut import DUT, ProtocolError
from .qemu import emulator



def bulk_region(board: str) -> tuple[int, int] | None:
    """(address, bytes) the emulator's loader may fill on ``board`` (boards.yaml), or None."""
    from .boards import get_board
    return get_board(board).bulk
LINE = re.compile(r"m-bulk-\[(\d+),(-?\d+),(\d+),(\d+)\]")


@dataclass
class BulkResult:
    pred: np.ndarray      # int64 [N]
    counter: np.ndarray   # int64 [N], per inference
    logits_hash: np.ndarray  # uint32 [N]


def fnv1a_logits(logits: np.ndarray) -> np.ndarray:
    """FNV-1a 32-bit over the little-endian bytes of each row of int32 logits."""
    data = np.ascontiguousarray(logits, dtype="<i4").view(np.uint8).reshape(len(logits), -1)
    h = np.full(len(logits), 2166136261, dtype=np.uint64)
    for col in data.T:
        h = ((h ^ col) * 16777619) & 0xFFFFFFFF
    return h.astype(np.uint32)


def _run_chunk(elf: Path, board: str, images: np.ndarray, out: BulkResult, start: int,
               tick: Callable[[int], None]) -> None:
    addr, size = bulk_region(board)
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "images.bin"
        blob.write_bytes(np.ascontiguousarray(images, np.uint8).tobytes())
        with emulator(elf, board, preload=(blob, addr)) as port:
            dut = DUT(port)
            dut.wait_ready()
            port.write(f"bulk {len(images)}%".encode())
            seen = 0
            while True:
                raw = port.read_until(b"\n")
                if not raw.endswith(b"\n"):
                    raise ProtocolError(f"bulk: timed out after {seen} of {len(images)} images")
                line = raw.decode(errors="replace").strip()
                if line == "m-ready":
                    break
                if line.startswith("e-"):
                    raise ProtocolError(f"bulk: {line}")
                m = LINE.fullmatch(line)
                if m:
                    i = start + int(m.group(1))
                    out.pred[i], out.counter[i] = int(m.group(2)), int(m.group(3))
                    out.logits_hash[i] = int(m.group(4))
                    seen += 1
                    tick(1)
            if seen != len(images):
                raise ProtocolError(f"bulk: {seen} results for {len(images)} images")


def run_bulk(elf: Path, images: np.ndarray, board: str = "mps2-an386", instances: int = 2,
             tick: Callable[[int], None] = lambda n: None) -> BulkResult:
    """Run ``images`` (uint8 [N, 3, 32, 32]) through the firmware on ``instances`` emulators."""
    region = bulk_region(board)
    if region is None:
        raise ValueError(f"{board} has no bulk mode; use the serial path")
    addr, size = region
    per_image = int(np.prod(images.shape[1:]))
    per_boot = size // per_image
    n = len(images)
    out = BulkResult(np.full(n, -1, np.int64), np.zeros(n, np.int64), np.zeros(n, np.uint32))
    bounds = np.linspace(0, n, max(instances, -(-n // per_boot)) + 1).astype(int)
    chunks = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def safe_tick(k: int) -> None:
        with lock:
            tick(k)

    def worker(queue: list[tuple[int, int]]) -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    a, b = queue.pop(0)
                _run_chunk(elf, board, images[a:b], out, a, safe_tick)
        except BaseException as exc:  # reported after join
            errors.append(exc)

    queue = list(chunks)
    threads = [threading.Thread(target=worker, args=(queue,)) for _ in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out
