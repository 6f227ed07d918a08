"""`trit bench`: stream CIFAR-10 test images to a device, check each result against the
reference interpreter, and report accuracy, agreement, counter statistics and sizes."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from codegen import reference
from codegen.ir import ModelIR

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


def run_bench(dut: DUT, ir: ModelIR, images: np.ndarray, labels: np.ndarray, board: str,
              model_name: str, flash_bytes: int, ram_bytes: int,
              progress: bool = True) -> BenchReport:
    t0 = time.time()
    want = reference.predict(ir, images)
    preds, counters, units = [], [], set()
    for img in tqdm(images, desc=f"bench {board}", unit="img", disable=not progress):
        r = dut.infer(img)
        preds.append(r.pred)
        counters.append(r.counter)
        units.add(r.unit)
    preds_a = np.array(preds)
    c = np.array(counters, dtype=np.int64)
    stats = {"median": int(np.median(c)), "min": int(c.min()), "max": int(c.max())}
    return BenchReport(
        board=board, model=model_name, images=len(images),
        accuracy=float((preds_a == labels).mean()), agreement=float((preds_a == want).mean()),
        instructions_per_inference=stats if units == {"instructions"} else None,
        cycles_per_inference=stats if units == {"cycles"} else None,
        weights_bytes=ir.storage().total, flash_bytes=flash_bytes, ram_bytes=ram_bytes,
        wall_seconds=time.time() - t0)
