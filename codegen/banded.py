"""Banded execution of layer chains, for a smaller activation arena.

A chain is a run of binary-activation convolutions (depthwise k x k, pointwise 1x1) in which
each layer reads the previous one's output and nothing else does: a residual block's
dw -> pw -> dw -> pw. Run layer by layer, a block holds three whole maps (its input, kept for
the shortcut, and a layer's input and output). Run in bands, only the chain's source and its
output are whole maps: the last layer's output rows come ``band_rows`` at a time, and every
layer computes just the rows the next one needs that it has not computed yet (the depthwise
kernels take a row range, kernels.h). Each intermediate value lives in a window buffer of a
few rows: before its producer adds rows, the rows its consumer still needs slide to the top
of the window (one memmove), so nothing is computed twice.

The chain's output can be written over its source: the rows of the source that no later
call reads are dead, and the output starts ``delta`` bytes before the source, enough that its
rows never reach a source row still to be read (computed from the schedule, below).

Geometry: a k x k layer of stride s and padding p computes output row y from input rows
y * s - p .. y * s - p + k - 1 (those inside the map)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Layer, ModelIR, SignThreshold
from .pack import words


def input_rows(layer: Layer, y0: int, y1: int) -> tuple[int, int]:
    """Input rows [lo, hi) that output rows [y0, y1) of ``layer`` read (inside the map;
    lo <= hi, empty when y0 >= y1)."""
    if y1 <= y0:
        return 0, 0
    h = layer.in_shape[1]
    lo = max(0, y0 * layer.stride - layer.padding)
    hi = min(h, (y1 - 1) * layer.stride - layer.padding + layer.kernel)
    return lo, max(lo, hi)


def row_bytes(layer: Layer, output: bool = True) -> int:
    """Bytes of one packed row of the layer's output (or input) map."""
    c, _, w = layer.out_shape if output else layer.in_shape
    return 4 * w * words(c)


def bandable(ir: ModelIR, layer: Layer) -> bool:
    """Whether the layer can run in bands: a binary convolution on a binary map (depthwise,
    or pointwise 1x1 stride 1) with a sign output."""
    if layer.op != "conv2d" or not isinstance(layer.output, SignThreshold):
        return False
    if layer.input == "input" or layer.weights is None or layer.weights.format != "ternary":
        return False
    src = ir.layer(layer.input)
    if src.op != "conv2d" or not isinstance(src.output, SignThreshold):
        return False  # the input must be a packed binary map
    if layer.groups > 1:
        return layer.groups == layer.in_shape[0] == layer.out_shape[0]
    return (layer.kernel, layer.stride, layer.padding) == (1, 1, 0)


@dataclass(frozen=True)
class Call:
    """One kernel call of a chain step: output rows [y0, y1) of layer ``layer`` (IR index).
    ``in_base``/``out_base``: the image row at row 0 of the input's/output's buffer (a
    window; 0 for a whole map)."""
    layer: int
    y0: int
    y1: int
    in_base: int
    out_base: int


@dataclass(frozen=True)
class Slide:
    """Before a producer adds rows to the window of ``value``: rows [drop, drop + keep) of
    the window move to its top (window row 0 becomes image row ``base``)."""
    value: str
    drop: int
    keep: int
    base: int


@dataclass
class Chain:
    layers: list[int]                  # IR indices, in order
    source: str                        # the value the first layer reads (a whole map)
    band_rows: int                     # output rows of the last layer per step
    steps: list[list[Call | Slide]] = field(default_factory=list)
    window_rows: dict[str, int] = field(default_factory=dict)  # intermediate -> window rows
    delta: int | None = None           # output written this many bytes before the source
    #                                    starts (None: the source stays intact)

    @property
    def output(self) -> int:
        return self.layers[-1]


def find_chains(ir: ModelIR) -> list[list[int]]:
    """Runs of two or more bandable layers, each reading the previous one's output, which no
    other layer reads (not even as a residual)."""
    readers: dict[str, int] = {}
    for layer in ir.layers:
        readers[layer.input] = readers.get(layer.input, 0) + 1
        if layer.output is not None and layer.output.residual:
            readers[layer.output.residual] = readers.get(layer.output.residual, 0) + 1
        if layer.add is not None:
            readers[layer.add.other] = readers.get(layer.add.other, 0) + 1
    chains: list[list[int]] = []
    run: list[int] = []
    for i, layer in enumerate(ir.layers):
        ok = bandable(ir, layer)
        if ok and run and layer.input == ir.layers[run[-1]].name and \
                readers.get(layer.input) == 1:
            run.append(i)
            continue
        if len(run) > 1:
            chains.append(run)
        run = [i] if ok else []
    if len(run) > 1:
        chains.append(run)
    return chains


def schedule(ir: ModelIR, idx: list[int], band_rows: int) -> Chain:
    """The calls and window slides of chain ``idx`` run ``band_rows`` output rows at a time,
    the intermediate windows' sizes and, where the source dies in the chain, the offset of
    the output written over it."""
    layers = [ir.layers[i] for i in idx]
    n = len(layers)
    heights = [layer.out_shape[1] for layer in layers]
    chain = Chain(list(idx), layers[0].input, band_rows)
    produced = [0] * n
    base = [0] * n  # image row at window row 0 of each intermediate (index of its producer)
    reads: list[int] = []  # per step, the lowest source row read
    writes: list[int] = []  # per step, the end row of the output written
    for r1 in range(band_rows, heights[-1] + band_rows, band_rows):
        need = [0] * n
        need[-1] = min(r1, heights[-1])
        for j in range(n - 1, 0, -1):
            _, hi = input_rows(layers[j], produced[j], need[j])
            need[j - 1] = max(produced[j - 1], hi)
        step: list[Call | Slide] = []
        low = None
        for j, layer in enumerate(layers):
            a, b = produced[j], need[j]
            if b <= a:
                continue
            if j < n - 1:  # make room: keep what the consumer still has to read
                name = layer.name
                keep_from = min(a, input_rows(layers[j + 1], produced[j + 1],
                                              produced[j + 1] + 1)[0])
                if keep_from > base[j]:
                    step.append(Slide(name, keep_from - base[j], a - keep_from, keep_from))
                    base[j] = keep_from
                rows = b - base[j]
                chain.window_rows[name] = max(chain.window_rows.get(name, 0), rows)
            lo, hi = input_rows(layer, a, b)
            if j > 0:
                assert base[j - 1] <= lo and hi <= produced[j - 1], "window misses rows"
            else:
                low = lo if low is None else min(low, lo)
            res = layer.output.residual
            if res == chain.source:
                rlo = a * layer.output.residual_stride
                low = rlo if low is None else min(low, rlo)
            step.append(Call(idx[j], a, b, base[j - 1] if j > 0 else 0,
                             base[j] if j < n - 1 else 0))
            produced[j] = b
        chain.steps.append(step)
        reads.append(low if low is not None else ir.layer(chain.source).out_shape[1])
        writes.append(produced[-1])
    # the output may overwrite source rows no call reads from this step on
    src_rows = ir.layer(chain.source).out_shape[1]
    xb, yb = row_bytes(ir.layer(chain.source)), row_bytes(layers[-1])
    delta = 0
    for t in range(len(chain.steps)):
        lo = min(reads[t:], default=src_rows)
        delta = max(delta, writes[t] * yb - lo * xb)
    chain.delta = -(-delta // 4) * 4
    return chain


def in_order_delta(layer: Layer, in_row_bytes: int, out_row_bytes: int) -> int:
    """Bytes the output of ``layer`` must start before its input for the kernel to write
    it over the input: a kernel that computes output rows in order, each after reading its
    window, reads input rows from y * stride - pad on once it writes output row y, so row y's
    bytes must end before that input row starts (kernels.h, trit_conv_input_s8)."""
    _, oh, _ = layer.out_shape
    delta = max((y + 1) * out_row_bytes - max(0, y * layer.stride - layer.padding) * in_row_bytes
                for y in range(oh))
    return -(-max(0, delta) // 4) * 4


def plan_chains(ir: ModelIR, band_rows: dict[str, int]) -> list[Chain]:
    """The chains of ``ir`` named in ``band_rows`` (by their first layer) scheduled with
    that many output rows per step."""
    chains = {ir.layers[idx[0]].name: idx for idx in find_chains(ir)}
    for name, rows in band_rows.items():
        if name not in chains:
            raise ValueError(f"no layer chain starts at {name!r} "
                             f"(chains: {', '.join(chains) or 'none'})")
        if rows < 1:
            raise ValueError(f"band rows of {name!r} must be at least 1")
    return sorted((schedule(ir, chains[name], rows) for name, rows in band_rows.items()),
                  key=lambda ch: ch.layers[0])
