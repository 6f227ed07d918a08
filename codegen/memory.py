"""Static memory plan of a generated model: every activation, and every convolution's kernel
scratch, gets an offset in one arena, reused once the value is dead (greedy first fit over
liveness intervals, the better of two placement orders). No malloc.

An ``add`` writes its output over its branch input when that value dies at the add (the add
kernels are elementwise: each output byte is written after the input byte at the same index is
read), so a block of an int8 network holds two full-size int8 maps, not three.

A layer's scratch (TRIT_SCRATCH_INTS of its output channels) lives only while the layer runs,
so the wide layers' tables go where the large maps of the early layers were."""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir import ModelIR, Requant
from .pack import words

ALIGN = 4  # bytes
SCRATCH = "scratch:"  # buffer name prefix of a layer's kernel scratch


@dataclass(frozen=True)
class Buffer:
    value: str       # IR value name ("input" is the int8 HWC image; "scratch:<layer>" a
                     # convolution's kernel scratch)
    size: int        # bytes
    offset: int      # bytes from the arena start
    first: int       # index of the producing step (-1: input)
    last: int        # index of the last consuming step


@dataclass
class MemoryPlan:
    buffers: dict[str, Buffer]
    arena_bytes: int    # activations and kernel scratch
    scratch_words: int  # the largest layer's int32 kernel scratch (inside the arena)
    weight_bytes: int   # flash for constants (packed as deployed)
    in_place: dict[str, str] = field(default_factory=dict)  # add output -> the input it overwrites

    @property
    def activation_bytes(self) -> int:
        return self.arena_bytes


def value_kind(ir: ModelIR, name: str) -> str:
    """How a value is stored: ``"int8"`` (the input image, requantised and added maps, HWC),
    ``"binary"`` (packed sign maps) or ``"int32"`` (pooled sums, logits)."""
    if name == "input":
        return "int8"
    layer = ir.layer(name)
    if layer.op == "add" or isinstance(layer.output, Requant):
        return "int8"
    return "binary" if layer.op in ("conv2d", "sign") else "int32"


def value_bytes(ir: ModelIR, name: str) -> int:
    """Deployed size: int8 HWC maps, packed binary maps, int32 vectors."""
    if name == "input":
        c, h, w = ir.input_shape
        return c * h * w
    kind = value_kind(ir, name)
    layer = ir.layer(name)
    if kind == "int8":
        c, h, w = layer.out_shape
        return c * h * w
    if kind == "binary":
        c, h, w = layer.out_shape
        return 4 * h * w * words(c)
    return 4 * layer.out_shape[0]


def _first_fit(values: list[tuple[str, int, int, int]]) -> list[Buffer]:
    """Place (name, size, first, last) in the given order, each at the lowest offset free of
    every value already placed whose lifetime overlaps its own."""
    placed: list[Buffer] = []
    for name, size, first, last in values:
        busy = sorted((b.offset, b.offset + b.size) for b in placed
                      if not (b.last < first or b.first > last))
        offset = 0
        for lo, hi in busy:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        placed.append(Buffer(name, size, offset, first, last))
    return placed


def plan_memory(ir: ModelIR) -> MemoryPlan:
    """Offsets for every value: first fit over liveness intervals, in production order and in
    order of decreasing size (ties in production order); the smaller arena wins."""
    last_use: dict[str, int] = {"input": 0}
    for i, layer in enumerate(ir.layers):
        last_use[layer.input] = i
        if layer.output is not None and layer.output.residual:
            last_use[layer.output.residual] = i
        if layer.add is not None:
            last_use[layer.add.other] = i
    last_use[ir.layers[-1].name] = len(ir.layers)  # logits live until returned
    in_place = {layer.name: layer.input for i, layer in enumerate(ir.layers)
                if layer.op == "add" and layer.input != "input" and last_use.get(layer.input) == i}

    def root(name: str) -> str:
        while name in in_place:
            name = in_place[name]
        return name

    order = [("input", -1)] + [(layer.name, i) for i, layer in enumerate(ir.layers)]
    span_last: dict[str, int] = {}  # an overwritten value's place is held until its heir dies
    for name, first in order:
        span_last[root(name)] = max(span_last.get(root(name), -1), last_use.get(name, first))
    values = [(name, -(-value_bytes(ir, name) // ALIGN) * ALIGN, first, span_last[name])
              for name, first in order if name not in in_place]
    convs = [(i, layer) for i, layer in enumerate(ir.layers) if layer.op == "conv2d"]
    values += [(SCRATCH + layer.name, 4 * scratch_ints(layer.out_shape[0]), i, i)
               for i, layer in convs]
    plans = [_first_fit(values), _first_fit(sorted(values, key=lambda v: -v[1]))]
    placed = min(plans, key=lambda bs: max(b.offset + b.size for b in bs))
    scratch = max((scratch_ints(layer.out_shape[0]) for _, layer in convs), default=0)
    weight = sum(_const_bytes(layer) for layer in ir.layers)
    firsts = dict(order)
    buffers = {b.value: Buffer(b.value, b.size, b.offset, b.first,
                               last_use.get(b.value, b.first) if b.value in firsts else b.last)
               for b in placed}
    for name, first in order:
        if name in in_place:
            r = buffers[root(name)]
            buffers[name] = Buffer(name, r.size, r.offset, first, last_use.get(name, first))
    return MemoryPlan(buffers, max(b.offset + b.size for b in placed), scratch, weight,
                      in_place)


def scratch_ints(channels: int) -> int:
    """TRIT_SCRATCH_INTS of firmware/include/trit/kernels.h: int32 words of kernel scratch."""
    words = (channels + 31) // 32
    tables = (96 if channels <= 28 else 128 if channels <= 64 else 64) * ((channels + 3) // 4)
    depthwise = 224 * words + 2 * channels + 32  # ARMv7E-M dw: per-border-class weights
    return max(4 * channels + 64, (2 * channels + 16) * words, tables, depthwise)


def _const_bytes(layer) -> int:
    """Flash bytes of a layer's constants in the C layout (ternary pw/dense: two bit planes)."""
    if layer.weights is None:
        return 0  # an add's three integers are immediates in its call
    w = layer.weights
    n = 0
    if w.format == "int8":
        n += w.values.size
    elif layer.op == "conv2d" and layer.groups > 1:
        n += w.values.size  # depthwise codes as int8
    else:
        n += 2 * 4 * w.values.shape[0] * words(int(w.values[0].size))
    if isinstance(layer.output, Requant):  # bias, mult, shift as int32 (trit_requant_t)
        n += 12 * layer.output.bias.size
    elif layer.output is not None:
        n += layer.output.threshold.nbytes + 4 * words(layer.output.direction.size)
    if layer.bias is not None:
        n += 4 * layer.bias.size
    return n
