"""`trit bench`: stream CIFAR-10 test images to a device, check each result against the
reference interpreter, and report accuracy, agreement, counter statistics and sizes."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from codegen import reference
from codegen.ir import ModelIR

from .bulk import fnv1a_logits, run_bulk
from .dut import DUT


@dataclass
class BenchReport:
    board: str
    model: str
    images: int
    accuracy: float
    agreement: float
    instructions_per_inference: dict | None
    cycles_per_inference: dict | None
    weights_bytes: int
    flash_bytes: int
    ram_bytes: int
    wall_seconds: float

    def to_json(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        counter = self.instructions_per_inference or self.cycles_per_inference or {}
        unit = "instructions" if self.instructions_per_inference else "cycles"
        return "\n".join([
            f"board            {self.board}",
            f"model            {self.model}",
            f"images           {self.images}",
            f"accuracy         {self.accuracy:.4f}",
            f"agreement        {self.agreement:.4f} (device vs integer reference)",
            f"{unit:<16} median {counter.get('median')}  min {counter.get('min')}  "
            f"max {counter.get('max')} per inference",
            f"weights          {self.weights_bytes} B (IR count)",
            f"firmware         flash {self.flash_bytes} B, RAM {self.ram_bytes} B",
            f"wall time        {self.wall_seconds:.1f} s",
        ])


def summarize(ir: ModelIR, preds: np.ndarray, counters: np.ndarray, unit: str,
              logits_hash: np.ndarray | None, labels: np.ndarray, want: dict, board: str,
              model_name: str, flash_bytes: int, ram_bytes: int, t0: float) -> BenchReport:
    """Build the report; ``agreement`` counts images whose device prediction equals the
    reference's *and* whose logits are bit-identical (compared through their hash)."""
    same = preds == want["pred"]
    if logits_hash is not None:
        same &= logits_hash == fnv1a_logits(want["logits"])
    stats = {"median": int(np.median(counters)), "min": int(counters.min()),
             "max": int(counters.max())}
    return BenchReport(
        board=board, model=model_name, images=len(preds),
        accuracy=float((preds == labels).mean()), agreement=float(same.mean()),
        instructions_per_inference=stats if unit == "instructions" else None,
        cycles_per_inference=stats if unit == "cycles" else None,
        weights_bytes=ir.storage().total, flash_bytes=flash_bytes, ram_bytes=ram_bytes,
        wall_seconds=time.time() - t0)


def bench_serial(dut: DUT, ir: ModelIR, images: np.ndarray, labels: np.ndarray, board: str,
                 model_name: str, flash_bytes: int, ram_bytes: int,
                 progress: bool = True) -> BenchReport:
    """One image at a time over the serial protocol (works on every board)."""
    t0 = time.time()
    want = reference.run_batched(ir, images)
    preds, counters, hashes, units = [], [], [], set()
    for img in tqdm(images, desc=f"bench {board}", unit="img", disable=not progress):
        r = dut.infer(img)
        preds.append(r.pred)
        counters.append(r.counter)
        hashes.append(fnv1a_logits(np.array([r.logits]))[0])
        units.add(r.unit)
    if len(units) != 1:
        raise ValueError(f"device reported mixed counter units {units}")
    return summarize(ir, np.array(preds), np.array(counters, np.int64), units.pop(),
                     np.array(hashes, np.uint32), labels, want, board, model_name,
                     flash_bytes, ram_bytes, t0)


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
