"""Weight-storage accounting shared by the trainer's report and the IR's own count.

Costs: 2 bits per ternary weight, 8 bits per int8 weight, 32 bits per float weight, scale and
threshold and bias word; 1 bit per threshold direction flag. Each field of a layer is rounded up
to whole bytes on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BITS = {"ternary": 2, "int8": 8, "float": 32}


def nbytes(count: int, bits: int) -> int:
    """Whole bytes needed for ``count`` values of ``bits`` bits each."""
    return (count * bits + 7) // 8


@dataclass(frozen=True)
class StorageRow:
    """One layer's storage. ``params`` counts weights; bytes are per field."""

    name: str
    kind: str
    shape: str
    weight_format: str
    params: int
    weight_bytes: int
    scale_bytes: int
    threshold_bytes: int  # thresholds + direction flags, or float batch norm, or bias

    @property
    def total(self) -> int:
        return self.weight_bytes + self.scale_bytes + self.threshold_bytes


@dataclass
class StorageReport:
    rows: list[StorageRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)

    @property
    def weights_and_scales(self) -> int:
        return sum(r.weight_bytes + r.scale_bytes for r in self.rows)

    def table(self) -> str:
        head = (f"{'layer':<12} {'kind':<9} {'shape':<16} {'format':<8} {'params':>7} "
                f"{'weights B':>9} {'scales B':>8} {'thr/bn B':>8} {'total B':>8}")
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name:<12} {r.kind:<9} {r.shape:<16} {r.weight_format:<8} "
                         f"{r.params:>7} {r.weight_bytes:>9} {r.scale_bytes:>8} "
                         f"{r.threshold_bytes:>8} {r.total:>8}")
        lines.append("-" * len(head))
        params = sum(r.params for r in self.rows)
        wb = sum(r.weight_bytes for r in self.rows)
        sb = sum(r.scale_bytes for r in self.rows)
        tb = sum(r.threshold_bytes for r in self.rows)
        lines.append(f"{'total':<12} {'':<9} {'':<16} {'':<8} {params:>7} {wb:>9} {sb:>8} "
                     f"{tb:>8} {self.total:>8}")
        lines.append(f"weights + scales: {self.weights_and_scales} B "
                     f"({self.weights_and_scales / 1024:.2f} KiB); with thresholds/batch norm: "
                     f"{self.total} B ({self.total / 1024:.2f} KiB)")
        return "\n".join(lines)
