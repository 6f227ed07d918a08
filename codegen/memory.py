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

from .banded import Chain, find_chains, in_order_delta, plan_chains, row_bytes
from .ir import ModelIR, Requant
from .pack import words

ALIGN = 4  # bytes
SCRATCH = "scratch:"  # buffer name prefix of a layer's kernel scratch
BAND = "band:"  # buffer name prefix of a banded chain's shared window (codegen/banded.py)


@dataclass(frozen=True)
class Buffer:
    value: str       # IR value name ("input" is the int8 HWC image; "scratch:<layer>" a
                     # convolution's kernel scratch)
    size: int        # bytes
    offset: int      # bytes from the arena start
    first: int       # index of the producing step (-1: input)
    last: int        # index of the last consuming step


@dataclass(frozen=True)
class ArenaOptions:
    """How a model is fitted to a smaller arena: the layer chains run in bands (chain, by
    the name of its first layer -> output rows per step; codegen/banded.py) and the kernels'
    scratch capped (TRIT_SCRATCH_CAP of kernels.h, ints; None: not capped)."""
    band_rows: tuple[tuple[str, int], ...] = ()
    scratch_cap: int | None = None
    input_in_place: bool = False  # the input layer writes its output over the image

    def label(self) -> str:
        """Short name for a project folder."""
        rows = sorted({r for _, r in self.band_rows})
        parts = ([f"band{'-'.join(map(str, rows))}"] if rows else []) + \
            ([f"cap{4 * self.scratch_cap}"] if self.scratch_cap else []) + \
            (["inplace"] if self.input_in_place else [])
        return "-".join(parts)


@dataclass
class MemoryPlan:
    buffers: dict[str, Buffer]
    arena_bytes: int    # activations and kernel scratch
    scratch_words: int  # the largest layer's int32 kernel scratch (inside the arena)
    weight_bytes: int   # flash for constants (packed as deployed)
    in_place: dict[str, str] = field(default_factory=dict)  # add output -> the input it overwrites
    # value -> (the value it is written over, bytes it starts before that one); adds (0) and
    # the outputs of banded chains
    aliases: dict[str, tuple[str, int]] = field(default_factory=dict)
    chains: list[Chain] = field(default_factory=list)  # banded chains (codegen/banded.py)
    arena: ArenaOptions | None = None  # what it was planned with

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


Member = tuple[str, int, int, int, int]  # name, offset from its group, size, first, last


def _first_fit(groups: list[list[Member]]) -> list[Buffer]:
    """Place each group (values with fixed offsets between them: a value and those written
    over it) in the given order, at the lowest offset where none of its members shares a
    byte with an already placed value alive at the same time."""
    placed: list[Buffer] = []
    for members in groups:
        lo = min(rel for _, rel, _, _, _ in members)
        # candidate offsets of the group: 0, and where a member would start right after a
        # placed value (any member's lowest feasible start is one of these)
        candidates = sorted({0} | {b.offset + b.size - (rel - lo) for b in placed
                                   for _, rel, _, _, _ in members
                                   if b.offset + b.size - (rel - lo) > 0})
        for base in candidates:
            if all(b.last < first or b.first > last or
                   base + rel - lo + size <= b.offset or b.offset + b.size <= base + rel - lo
                   for _, rel, size, first, last in members for b in placed):
                break
        placed += [Buffer(name, size, base + rel - lo, first, last)
                   for name, rel, size, first, last in members]
    return placed


def plan_memory(ir: ModelIR, arena: ArenaOptions | None = None) -> MemoryPlan:
    """Offsets for every value: first fit over liveness intervals, in production order and in
    order of decreasing size (ties in production order); the smaller arena wins.

    ``arena``: the chains of codegen/banded.py named in it run that many output rows at a
    time; their intermediate values then take window buffers of a few rows (those whose
    consumer is pointwise carry no rows from step to step and share one buffer per chain),
    the chain's layers share one scratch, and a chain's output is written over its source
    where that dies in the chain. Its scratch cap sizes every layer's scratch."""
    arena = arena or ArenaOptions()
    cap = arena.scratch_cap
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
    aliases: dict[str, tuple[str, int]] = {name: (src, 0) for name, src in in_place.items()}
    chains = plan_chains(ir, dict(arena.band_rows))
    first = ir.layers[0]
    if arena.input_in_place and first.input == "input" and first.op == "conv2d" and \
            last_use["input"] == 0 and value_kind(ir, first.name) == "binary":
        c, _, w = ir.input_shape
        aliases[first.name] = ("input", in_order_delta(first, c * w, row_bytes(first)))
    inner: dict[str, Chain] = {}  # chain intermediates: window buffers, not whole maps
    for ch in chains:
        for i in ch.layers[:-1]:
            inner[ir.layers[i].name] = ch
        if ch.source != "input" and last_use[ch.source] <= ch.layers[-1]:
            aliases[ir.layers[ch.output].name] = (ch.source, ch.delta)

    order = [("input", -1)] + [(layer.name, i) for i, layer in enumerate(ir.layers)]
    # a banded chain writes its output from its first step on
    starts = {ir.layers[ch.output].name: ch.layers[0] for ch in chains}
    order = [(name, starts.get(name, first)) for name, first in order]
    size = {name: -(-value_bytes(ir, name) // ALIGN) * ALIGN for name, _ in order}

    def root(name: str) -> tuple[str, int]:
        """The value at the bottom of ``name``'s alias chain and ``name``'s offset from it."""
        rel = 0
        while name in aliases:
            name, delta = aliases[name]
            rel -= delta
        return name, rel

    # a group per root value: itself and the values written over it, each with its own
    # lifetime
    groups: dict[str, list[Member]] = {}
    for name, first in order:
        if name not in inner:
            r, rel = root(name)
            groups.setdefault(r, []).append((name, rel, size[name], first,
                                             last_use.get(name, first)))
    values = list(groups.values())
    convs = [(i, layer) for i, layer in enumerate(ir.layers) if layer.op == "conv2d"]
    shared: dict[str, str] = {}  # buffer name -> the shared buffer holding it
    for ch in chains:
        first, last = ch.layers[0], ch.layers[-1]
        lead = ir.layers[first].name
        for i in ch.layers:
            shared[SCRATCH + ir.layers[i].name] = SCRATCH + lead
        values.append([(SCRATCH + lead, 0, 4 * max(scratch_ints(ir.layers[i].out_shape[0], cap)
                                                   for i in ch.layers), first, last)])
        transient = 0
        for i in ch.layers[:-1]:
            layer = ir.layers[i]
            rows_bytes = ch.window_rows[layer.name] * row_bytes(layer)
            if ir.layers[i + 1].kernel == 1:  # read once by a pointwise layer: no carry
                shared[layer.name] = BAND + lead
                transient = max(transient, rows_bytes)
            else:
                values.append([(layer.name, 0, rows_bytes, first, last)])
        if transient:
            values.append([(BAND + lead, 0, transient, first, last)])
    values += [[(SCRATCH + layer.name, 0, 4 * scratch_ints(layer.out_shape[0], cap), i, i)]
               for i, layer in convs if SCRATCH + layer.name not in shared]

    def extent(g: list[Member]) -> int:
        return max(rel + sz for _, rel, sz, _, _ in g) - min(rel for _, rel, _, _, _ in g)

    plans = [_first_fit(values), _first_fit(sorted(values, key=lambda g: -extent(g)))]
    placed = min(plans, key=lambda bs: max(b.offset + b.size for b in bs))
    scratch = max((scratch_ints(layer.out_shape[0], cap) for _, layer in convs), default=0)
    weight = sum(_const_bytes(layer) for layer in ir.layers)
    buffers = {b.value: b for b in placed}
    for name, holder in shared.items():
        h = buffers[holder]
        buffers[name] = Buffer(name, h.size, h.offset, h.first, h.last)
    return MemoryPlan(buffers, max(b.offset + b.size for b in placed), scratch, weight,
                      in_place, aliases, chains, arena)


def scratch_ints(channels: int, cap: int | None = None) -> int:
    """TRIT_SCRATCH_INTS of firmware/include/trit/kernels.h: int32 words of kernel scratch
    (``cap``: TRIT_SCRATCH_CAP, ints)."""
    words = (channels + 31) // 32
    tables = (96 if channels <= 28 else 128 if channels <= 64 else 64) * ((channels + 3) // 4)
    depthwise = 274 * words + 2 * channels + 32  # ARMv7E-M dw: border classes, edge runs
    full = max(4 * channels + 64, (2 * channels + 16) * words, tables, depthwise)
    return full if cap is None else min(full, max(4 * channels + 64, cap))


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


#: scratch caps fit_arena tries, ints (TRIT_SCRATCH_CAP; at least 512)
SCRATCH_CAPS = (None, 1024, 768, 512)


def fit_arena(ir: ModelIR, budget: int) -> ArenaOptions:
    """Options under which the arena of ``ir`` fits ``budget`` bytes, with as few band steps
    (kernel calls) as the search finds. The input layer always writes over the image (no
    extra calls). Starting points: every chain at the same band height, and a greedy descent
    that halves the band height of the chain whose halving shrinks the arena most (ties to
    the chain of larger maps); from the fitting start with the fewest steps, moves that
    double one chain's height (or drop its banding), alone or while halving another's, as
    long as the arena fits and the steps decrease. The scratch is capped only where no
    banding fits. ValueError where nothing fits."""
    heights = {ir.layers[idx[0]].name: ir.layers[idx[-1]].out_shape[1]
               for idx in find_chains(ir)}
    least: tuple[int, ArenaOptions] | None = None

    def arena(rows: dict[str, int], cap: int | None) -> int:
        nonlocal least
        options = ArenaOptions(tuple(sorted(rows.items())), cap, True)
        size = plan_memory(ir, options).arena_bytes
        if least is None or size < least[0]:
            least = (size, options)
        return size

    def steps(rows: dict[str, int]) -> int:
        return sum(-(-heights[n] // rows[n]) if n in rows else 1 for n in heights)

    for cap in SCRATCH_CAPS:
        starts = [_greedy_bands(ir, heights, cap, budget, arena)]
        for b in (32, 16, 8, 4, 2, 1):
            starts.append({n: b for n, h in heights.items() if b < h})
        fitting = [r for r in starts if r is not None and arena(r, cap) <= budget]
        if not fitting:
            continue
        rows = min(fitting, key=steps)
        improved = True
        while improved:
            improved = False
            for up in heights:
                if up not in rows:
                    continue
                raised = dict(rows)
                if rows[up] * 2 >= heights[up]:
                    del raised[up]
                else:
                    raised[up] = rows[up] * 2
                for down in [None] + [n for n in heights if n != up]:
                    nxt = dict(raised)
                    if down is not None:
                        now = nxt.get(down, heights[down])
                        if now <= 1:
                            continue
                        nxt[down] = max(1, now // 2)
                    if steps(nxt) < steps(rows) and arena(nxt, cap) <= budget:
                        rows, improved = nxt, True
                        break
                if improved:
                    break
        return ArenaOptions(tuple(sorted(rows.items())), cap, True)
    raise ValueError(f"the arena of {ir.name} does not fit {budget} B: the least found is "
                     f"{least[0]} B ({least[1].label() or 'layer by layer'})")


def _greedy_bands(ir: ModelIR, heights: dict[str, int], cap: int | None, budget: int,
                  arena) -> dict[str, int] | None:
    """Halve band heights one chain at a time, the move that shrinks the arena most first,
    until it fits ``budget`` (None: it never does)."""
    rows: dict[str, int] = {}
    while arena(rows, cap) > budget:
        moves = []
        for name, height in heights.items():
            now = rows.get(name, height)
            if now <= 1:
                continue
            nxt = dict(rows, **{name: max(1, now // 2)})
            map_size = height * ir.layer(name).out_shape[0]  # ties: the larger maps first
            moves.append((arena(nxt, cap), -map_size, name, nxt))
        if not moves:
            return None
        rows = min(moves, key=lambda m: m[:3])[3]
    return rows
