"""`trit kernelbench`: each kernel on fixed shapes, the board's optimised flavour beside its
portable reference twin, both in the same emulated firmware image (the kernel job runner),
timed with the board counter (instructions under QEMU). Prints MACs per instruction.

A MAC here is one weight x activation product of the layer as specified (binary x ternary for
pw/dw, ternary x int8 for the int8-activation pw8/dw8, int8 x int8 for the input conv), border
taps of a 3x3 window included."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import pack
from codegen.int8_reference import random_requant
from codegen.ir import Layer, Requant as IRRequant, SignThreshold, Weights
from codegen.ir.model import conv_out_size

from .boards import get_board
from .kernel_calls import EmulatedBoard
from .kernel_jobs import KernelRunner


@dataclass
class KernelCase:
    name: str
    op: str             # pw | dw (binary activations) | pw8 | dw8 (int8 activations) | input
    cin: int
    cout: int
    size: int           # input height = width
    equal_scales: bool = False
    byte_tables: bool = False  # pw: pass byte tables (codegen/nibble_tables.py), as
    #                            models built with --byte-tables do

    @property
    def macs(self) -> int:
        if self.op in ("pw", "pw8"):
            return self.cin * self.cout * self.size * self.size
        if self.op in ("dw", "dw8"):
            return 9 * self.cin * self.size * self.size
        return 9 * self.cin * self.cout * self.size * self.size


CASES = [
    KernelCase("pw 64->64 8x8, wp!=wn", "pw", 64, 64, 8),
    KernelCase("pw 64->64 8x8, wp==wn", "pw", 64, 64, 8, True),
    KernelCase("pw 64->64 32x32, wp!=wn", "pw", 64, 64, 32),
    KernelCase("pw 64->64 1x1, wp==wn", "pw", 64, 64, 1, True),   # ~ the per-call setup
    KernelCase("pw 32->32 16x16, wp!=wn", "pw", 32, 32, 16),
    KernelCase("pw 32->32 16x16, wp==wn", "pw", 32, 32, 16, True),
    KernelCase("pw 16->16 32x32, wp==wn", "pw", 16, 16, 32, True),
    KernelCase("dw 64 8x8, wp!=wn", "dw", 64, 64, 8),
    KernelCase("dw 64 8x8, wp==wn", "dw", 64, 64, 8, True),
    KernelCase("dw 16 32x32, wp==wn", "dw", 16, 16, 32, True),
    KernelCase("input 3->16 32x32 int8", "input", 3, 16, 32),
    KernelCase("pw8 20->20 32x32, wp==wn", "pw8", 20, 20, 32, True),
    KernelCase("pw8 40->40 16x16, wp==wn", "pw8", 40, 40, 16, True),
    KernelCase("pw8 80->80 8x8, wp==wn", "pw8", 80, 80, 8, True),
    KernelCase("pw8 64->64 8x8, wp!=wn", "pw8", 64, 64, 8),
    KernelCase("dw8 20 32x32, wp==wn", "dw8", 20, 20, 32, True),
    KernelCase("dw8 80 8x8, wp==wn", "dw8", 80, 80, 8, True),
    # appended (earlier cases keep their random layers): the zoo models' first-stage shapes,
    # one channel word with 8 lanes spare
    KernelCase("dw 24 32x32, wp==wn", "dw", 24, 24, 32, True),
    KernelCase("pw 24->24 32x32, wp==wn", "pw", 24, 24, 32, True),
    # the zoo models' second- and third-stage pointwise shapes
    KernelCase("pw 96->96 8x8, wp==wn", "pw", 96, 96, 8, True),
    KernelCase("pw 48->48 16x16, wp==wn", "pw", 48, 48, 16, True),
    # the first-stage pointwise shape through byte tables (flavours without them: as above)
    KernelCase("pw 24->24 32x32, wp==wn, byte tables", "pw", 24, 24, 32, True, True),
]


def make_layer(case: KernelCase, rng: np.random.Generator) -> tuple[Layer, np.ndarray]:
    """A random layer for ``case`` and its input (packed bits; int8 [H][W][C] for pw8/dw8)."""
    k = 1 if case.op in ("pw", "pw8") else 3
    groups = case.cin if case.op in ("dw", "dw8") else 1
    pad = 0 if k == 1 else 1
    out = conv_out_size(case.size, k, 1, pad)
    if case.op in ("pw8", "dw8"):
        shape = (case.cout, case.cin // groups, k, k)
        scales = rng.integers(1, 17, 2).astype(np.int32)
        if case.equal_scales:
            scales[1] = scales[0]
        weights = Weights("ternary", rng.integers(-1, 2, shape).astype(np.int8), scales)
        rq = random_requant(rng, case.cout, int(scales.max()) * k * k * case.cin // groups, 0)
        layer = Layer(name=case.name, op="conv2d", input="x",
                      in_shape=(case.cin, case.size, case.size), out_shape=(case.cout, out, out),
                      kernel=k, stride=1, padding=pad, groups=groups, weights=weights,
                      output=IRRequant(rq.bias, rq.mult, rq.shift.astype(np.int8), 0))
        return layer, rng.integers(0, 128, (case.size, case.size, case.cin)).astype(np.int8)
    if case.op == "input":
        weights = Weights("int8", rng.integers(-127, 128, (case.cout, case.cin, 3, 3))
                          .astype(np.int8))
        x = pack.image_hwc(rng.integers(0, 256, (case.cin, case.size, case.size), np.uint8))
        spread = 20000
    else:
        shape = (case.cout, case.cin // groups, k, k)
        scales = rng.integers(512, 4097, 2).astype(np.int32)
        if case.equal_scales:
            scales[1] = scales[0]
        weights = Weights("ternary", rng.integers(-1, 2, shape).astype(np.int8), scales)
        x = pack.pack_binary(rng.choice(np.array([-1, 1], np.int8),
                                        (case.cin, case.size, case.size)))
        spread = 4096 * 4
    layer = Layer(name=case.name, op="conv2d", input="x", in_shape=(case.cin, case.size, case.size),
                  out_shape=(case.cout, out, out), kernel=k, stride=1, padding=pad,
                  groups=groups, weights=weights,
                  output=SignThreshold(rng.integers(-spread, spread + 1, case.cout)
                                       .astype(np.int32),
                                       rng.choice(np.array([-1, 1], np.int8), case.cout)))
    return layer, x


def _run(calls: EmulatedBoard, case: KernelCase, layer: Layer, x: np.ndarray) -> np.ndarray:
    if case.op == "pw":
        return calls.pw_ternary_bin(layer, x, byte_tables=case.byte_tables)
    if case.op == "dw":
        return calls.dw_ternary_bin(layer, x)
    if case.op == "pw8":
        return calls.pw_ternary_s8(layer, x)
    if case.op == "dw8":
        return calls.dw_ternary_s8(layer, x)
    return calls.conv_input_s8(layer, x)


def run_kernelbench(board: str, flavour: str | None = None, seed: int = 0,
                    only: str | None = None) -> list[dict]:
    """Time every case on ``board`` for its flavour (or ``flavour``) and the portable twin;
    ``only``: just the cases of that op (pw, dw, pw8, dw8, input)."""
    spec = get_board(board)
    runner = KernelRunner(flavour or spec.kernels, board)
    rng = np.random.default_rng(seed)
    rows = []
    for case in CASES:
        layer, x = make_layer(case, rng)  # drawn for every case: the same layers either way
        if only and case.op != only:
            continue
        opt, ref = EmulatedBoard(runner), EmulatedBoard(runner, reference=True)
        out_opt, out_ref = _run(opt, case, layer, x), _run(ref, case, layer, x)
        if not np.array_equal(out_opt, out_ref):
            raise RuntimeError(f"{case.name}: {runner.flavour} and ref outputs differ")
        rows.append({"kernel": case.name, "macs": case.macs, "ref": ref.last_ticks,
                     runner.flavour: opt.last_ticks, "flavour": runner.flavour})
    return rows


def format_rows(rows: list[dict], unit: str) -> str:
    flavour = rows[0]["flavour"]
    n = max([26] + [len(r["kernel"]) for r in rows])
    head = (f"{'kernel':{n}s} {'MACs':>9s} {'ref ' + unit:>16s} {flavour + ' ' + unit:>18s} "
            f"{'MACs/instr':>10s} {'speed-up':>8s}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['kernel']:{n}s} {r['macs']:9d} {r['ref']:16,d} {r[flavour]:18,d} "
                     f"{r['macs'] / r[flavour]:10.2f} {r['ref'] / r[flavour]:7.1f}x")
    return "\n".join(lines)


def trace_kernelbench(board: str, match: str, flavour: str | None = None,
                      seed: int = 0) -> list[tuple[str, "TraceReport"]]:
    """The fixed-shape cases whose name contains ``match``, each run once in the board's
    flavour (or ``flavour``) under the execution trace (hostbench/kernel_trace.py)."""
    from .kernel_trace import TracingBoard
    spec = get_board(board)
    if spec.linux:
        raise ValueError(f"--trace runs on the bare-metal boards (QEMU system mode); {board} is "
                         "a Linux board")
    runner = KernelRunner(flavour or spec.kernels, board)
    rng = np.random.default_rng(seed)
    reports = []
    for case in CASES:
        layer, x = make_layer(case, rng)  # drawn for every case: the same layers as the table
        if match not in case.name:
            continue
        traced = TracingBoard(runner)
        _run(traced, case, layer, x)
        reports.append((case.name, traced.last_report))
    if not reports:
        raise ValueError(f"no kernelbench case matches {match!r}: "
                         + ", ".join(c.name for c in CASES))
    return reports
