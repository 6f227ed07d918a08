"""`trit bench`: stream CIFAR-10 test images to a device, check each result against the
reference interpreter, and report accuracy, agreement, counter statistics and sizes.

On a serial port every answered image is appended to a progress log (JSON lines) at once, so
a board that stops answering mid-run (unplugged, reset, emulator killed) loses nothing: the
run stops with a :class:`BoardStoppedAnswering` error and ``--resume`` continues from the
first unanswered image."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import serial
from tqdm import tqdm

from codegen import reference
from codegen.ir import ModelIR

from .bulk import fnv1a_logits, run_bulk
from .dut import DUT, ProtocolError


@dataclass
class BenchReport:
    board: str
    model: str
    images: int
    accuracy: float
    agreement: float
    instructions_per_inference: dict | None
    cycles_per_inference: dict | None
    milliseconds_per_inference: dict | None   # real boards: at the board's clock
    weights_bytes: int
    flash_bytes: int
    ram_bytes: int
    wall_seconds: float

    def to_json(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [
            f"board            {self.board}",
            f"model            {self.model}",
            f"images           {self.images}",
            f"accuracy         {self.accuracy:.4f}",
            f"agreement        {self.agreement:.4f} (device vs integer reference)",
        ]
        for unit, stats in (("instructions", self.instructions_per_inference),
                            ("cycles", self.cycles_per_inference),
                            ("milliseconds", self.milliseconds_per_inference)):
            if stats:
                lines.append(f"{unit:<16} median {stats['median']}  min {stats['min']}  "
                             f"max {stats['max']} per inference")
        lines += [
            f"weights          {self.weights_bytes} B (IR count)",
            f"firmware         flash {self.flash_bytes} B, RAM {self.ram_bytes} B",
            f"wall time        {self.wall_seconds:.1f} s",
        ]
        return "\n".join(lines)


def _stats(values: np.ndarray, digits: int | None = None) -> dict:
    pick = {"median": np.median(values), "min": values.min(), "max": values.max()}
    if digits is None:
        return {k: int(v) for k, v in pick.items()}
    return {k: round(float(v), digits) for k, v in pick.items()}


def counter_stats(counters: np.ndarray, unit: str, clock_hz: int | None) -> dict:
    """Report fields for per-inference counters in ``unit``: instructions (emulators) as they
    are; cycles, and milliseconds at ``clock_hz``; microseconds as milliseconds, with cycles
    at ``clock_hz`` (a timer's resolution, not a cycle count); nanoseconds (Linux boards'
    monotonic clock) as milliseconds only: an application processor's clock varies."""
    out = {"instructions_per_inference": None, "cycles_per_inference": None,
           "milliseconds_per_inference": None}
    if unit == "instructions":
        out["instructions_per_inference"] = _stats(counters)
    elif unit == "cycles":
        out["cycles_per_inference"] = _stats(counters)
        if clock_hz:
            out["milliseconds_per_inference"] = _stats(counters * 1e3 / clock_hz, 3)
    elif unit == "microseconds":
        out["milliseconds_per_inference"] = _stats(counters / 1e3, 3)
        if clock_hz:
            out["cycles_per_inference"] = _stats(np.round(counters * (clock_hz / 1e6)))
    elif unit == "nanoseconds":   # Linux boards: clock_gettime(CLOCK_MONOTONIC), wall time
        out["milliseconds_per_inference"] = _stats(counters / 1e6, 3)
    else:
        raise ValueError(f"device reported an unknown counter unit {unit!r}")
    return out


def summarize(ir: ModelIR, preds: np.ndarray, counters: np.ndarray, unit: str,
              logits_hash: np.ndarray | None, labels: np.ndarray, want: dict, board: str,
              model_name: str, flash_bytes: int, ram_bytes: int, t0: float,
              clock_hz: int | None = None) -> BenchReport:
    """Build the report; ``agreement`` counts images whose device prediction equals the
    reference's *and* whose logits are bit-identical (compared through their hash)."""
    same = preds == want["pred"]
    if logits_hash is not None:
        same &= logits_hash == fnv1a_logits(want["logits"])
    return BenchReport(
        board=board, model=model_name, images=len(preds),
        accuracy=float((preds == labels).mean()), agreement=float(same.mean()),
        **counter_stats(counters, unit, clock_hz),
        weights_bytes=ir.storage().total, flash_bytes=flash_bytes, ram_bytes=ram_bytes,
        wall_seconds=time.time() - t0)


class BoardStoppedAnswering(RuntimeError):
    """The board stopped answering mid-run; the results so far are in the progress log."""


class ProgressLog:
    """Per-image results of a serial run, one JSON line each, after a header line naming
    the run (model, board, images); written as they arrive."""

    def __init__(self, path: Path, header: dict) -> None:
        self.path = Path(path)
        self.header = header

    def start(self, resume: bool) -> dict[int, dict]:
        """Results already collected (``resume``), or a fresh log."""
        if resume and self.path.exists():
            lines = self.path.read_text().splitlines()
            head = json.loads(lines[0]) if lines else {}
            if head != self.header:
                raise ValueError(f"{self.path} belongs to another run ({head}); remove it or "
                                 f"run without --resume")
            rows = [json.loads(line) for line in lines[1:] if line.strip()]
            return {r["i"]: r for r in rows}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.header) + "\n")
        return {}

    def append(self, row: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def bench_serial(dut: DUT, ir: ModelIR, images: np.ndarray, labels: np.ndarray, board: str,
                 model_name: str, flash_bytes: int, ram_bytes: int, progress: bool = True,
                 log: ProgressLog | None = None, resume: bool = False,
                 clock_hz: int | None = None) -> BenchReport:
    """One image at a time over the serial protocol (works on every board). With ``log``,
    every answer is recorded as it arrives and ``resume`` skips the images already there."""
    t0 = time.time()
    want = reference.run_batched(ir, images)
    rows = log.start(resume) if log else {}
    todo = [i for i in range(len(images)) if i not in rows]
    for i in tqdm(todo, desc=f"bench {board}", unit="img", disable=not progress,
                  initial=len(images) - len(todo), total=len(images)):
        try:
            r = dut.infer(images[i])
        except (ProtocolError, serial.SerialException, OSError) as exc:
            kept = f"; {len(rows)} results kept in {log.path}, `--resume` continues" if log else ""
            raise BoardStoppedAnswering(f"{board} stopped answering at test image {i} "
                                        f"({exc}){kept}") from None
        row = {"i": i, "pred": r.pred, "counter": r.counter, "unit": r.unit,
               "hash": int(fnv1a_logits(np.array([r.logits]))[0])}
        rows[i] = row
        if log:
            log.append(row)
    ordered = [rows[i] for i in range(len(images))]
    units = {row["unit"] for row in ordered}
    if len(units) != 1:
        raise ValueError(f"device reported mixed counter units {units}")
    return summarize(ir, np.array([row["pred"] for row in ordered]),
                     np.array([row["counter"] for row in ordered], np.int64), units.pop(),
                     np.array([row["hash"] for row in ordered], np.uint32), labels, want, board,
                     model_name, flash_bytes, ram_bytes, t0, clock_hz)


def bench_bulk(elf, ir: ModelIR, images: np.ndarray, labels: np.ndarray, board: str,
               model_name: str, flash_bytes: int, ram_bytes: int, instances: int = 2,
               progress: bool = True) -> BenchReport:
    """Emulated boards: images preloaded by the emulator, results over serial (bulk.py)."""
    t0 = time.time()
    with tqdm(total=len(images), desc=f"bench {board} (bulk)", unit="img",
              disable=not progress) as bar:
        res = run_bulk(elf, images, board, instances, tick=bar.update)
    want = reference.run_batched(ir, images)
    return summarize(ir, res.pred, res.counter, "instructions", res.logits_hash, labels, want,
                     board, model_name, flash_bytes, ram_bytes, t0)
