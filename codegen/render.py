"""Render an IR as C (model.h / model.c) through the Jinja2 templates in codegen/templates/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from . import nibble_tables, pack, sliced
from .banded import Chain, Slide, row_bytes
from .ir import Layer, ModelIR, Requant, SignThreshold
from .memory import SCRATCH, ArenaOptions, MemoryPlan, _const_bytes, plan_memory, value_kind

TEMPLATES = Path(__file__).parent / "templates"


class CodegenError(ValueError):
    """The IR has a layer the kernel library cannot run."""


@dataclass
class CArray:
    ctype: str
    cname: str
    count: int
    body: str


@dataclass
class LayerContext:
    name: str
    c: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    stride: int
    residual: str | None
    weight_note: str
    const_bytes: int
    has_threshold: bool
    threshold_init: str = ""
    requant: Requant | None = None
    call: str = ""
    mark: bool = True  # the layer ends where the next one starts (false inside a banded chain)
    header: str = ""
    arrays: list[CArray] = field(default_factory=list)


def c_ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def c_body(values: np.ndarray, per_line: int = 12, hex_words: bool = False) -> str:
    flat = np.asarray(values).ravel()
    items = [f"0x{int(v):08x}u" if hex_words else str(int(v)) for v in flat]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "\n".join("    " + line + "," for line in lines)


def _arrays(layer: Layer, c: str) -> list[CArray]:
    w = layer.weights
    out: list[CArray] = []
    if w.format == "int8":
        v = pack.conv_weights_hwc(w.values)
        out.append(CArray("int8_t", f"{c}_weights", v.size, c_body(v, 16)))
    elif layer.op == "conv2d" and layer.groups > 1:
        v = pack.dw_codes(w.values)
        out.append(CArray("int8_t", f"{c}_codes", v.size, c_body(v, 18)))
    else:
        sign, nz = pack.pack_ternary(w.values)
        out.append(CArray("uint32_t", f"{c}_sign", sign.size, c_body(sign, 6, True)))
        out.append(CArray("uint32_t", f"{c}_nz", nz.size, c_body(nz, 6, True)))
    if isinstance(layer.output, Requant):
        o = layer.output
        for fld, arr in (("bias", o.bias), ("mult", o.mult), ("shift", o.shift)):
            out.append(CArray("int32_t", f"{c}_rq_{fld}", arr.size, c_body(arr, 8)))
    elif layer.output is not None:
        t = layer.output.threshold
        out.append(CArray(THRESHOLD_CTYPES[t.dtype.itemsize], f"{c}_threshold", t.size,
                          c_body(t, {1: 16, 2: 12, 4: 8}[t.dtype.itemsize])))
        d = pack.pack_direction(layer.output.direction)
        out.append(CArray("uint32_t", f"{c}_negative", d.size, c_body(d, 6, True)))
    if layer.bias is not None:
        out.append(CArray("int32_t", f"{c}_bias", layer.bias.size, c_body(layer.bias, 8)))
    return out


#: C type of a layer's thresholds by bytes, and the trit_threshold_t field that points to them.
THRESHOLD_CTYPES = {1: "int8_t", 2: "int16_t", 4: "int32_t"}


def threshold_init(c: str, threshold: np.ndarray, residual: bool) -> str:
    """The trit_threshold_t initialiser of layer ``c`` (kernels.h: one pointer of three set)."""
    bytes_ = threshold.dtype.itemsize
    ptrs = {b: (f"{c}_threshold" if b == bytes_ else "0") for b in (1, 2, 4)}
    return (f"{{ {ptrs[4]}, {c}_negative, {1 if residual else 0}, {ptrs[1]}, {ptrs[2]} }}")


@dataclass(frozen=True)
class Band:
    """Where a binary convolution call reads and writes, as C expressions: ``src`` (uint32_t
    pointer) holds input row ``in_y0`` at [0]; output rows [y0, y1) (``rows`` of them) go to
    ``dst`` from [0] on; ``res`` points at the residual row of the first output row."""
    src: str
    in_y0: str
    y0: str
    y1: str
    rows: int
    dst: str
    res: str


def _call(ir: ModelIR, layer: Layer, plan: MemoryPlan, c: str,
          sliced_constants: bool = False, band: Band | None = None,
          tables: bool = False) -> str:
    """The kernel call of ``layer``: on whole maps, or (``band``) on a band of rows;
    ``tables``: pass its nibble tables (a pointwise layer)."""
    def ptr(value: str) -> str:
        return f"(arena + {plan.buffers[value].offset // 4})"

    if value_kind(ir, layer.input) == "int8" and layer.input != "input" or \
            isinstance(layer.output, Requant):
        return _call_int8(ir, layer, plan, c)
    if layer.op == "global_sum_pool":
        ch, h, w = layer.in_shape
        return (f"trit_global_sum_pool_bin({ptr(layer.input)}, {h * w}, {ch}, "
                f"(int32_t *){ptr(layer.name)});")
    wp_wn = ""
    if layer.weights.format == "ternary":
        wp, wn = (int(v) for v in layer.weights.scales)
        wp_wn = f"(trit_scales_t){{{wp}, {wn}}}"
    if layer.op == "dense":
        if layer.weights.format != "ternary":
            raise CodegenError(f"layer {layer.name!r}: only ternary dense layers are supported")
        return (f"trit_dense_ternary((const int32_t *){ptr(layer.input)}, {layer.in_shape[0]}, "
                f"{c}_sign, {c}_nz, {wp_wn}, {c}_bias, {layer.out_shape[0]}, logits);")
    scratch = f"(int32_t *){ptr(SCRATCH + layer.name)}"  # the layer's kernel scratch
    cin, h, w = layer.in_shape
    cout = layer.out_shape[0]
    k, s, p = layer.kernel, layer.stride, layer.padding
    if layer.input == "input":
        if layer.weights.format != "int8" or layer.groups != 1:
            raise CodegenError(f"layer {layer.name!r}: the input layer must be an int8 conv")
        return (f"trit_conv_input_s8((const int8_t *){ptr('input')}, {h}, {w}, {cin}, "
                f"{c}_weights, {cout}, {k}, {s}, {p}, &{c}_thr, {ptr(layer.name)}, {scratch});")
    if layer.weights.format != "ternary":
        raise CodegenError(f"layer {layer.name!r}: binary-input layers need ternary weights")
    sliced = f"{c}_sliced" if sliced_constants else "0"
    if band is None:
        band = Band(ptr(layer.input), "0", "0", str(layer.out_shape[1]), layer.out_shape[1],
                    ptr(layer.name), ptr(layer.output.residual) if layer.output.residual else "0")
    if layer.groups > 1:
        return (f"trit_dw_ternary_bin({band.src}, {h}, {w}, {cin}, {c}_codes, {wp_wn}, "
                f"{k}, {s}, {p}, &{c}_thr, {band.dst}, {scratch}, {sliced}, {band.in_y0}, "
                f"{band.y0}, {band.y1});")
    if k != 1 or s != 1 or p != 0:
        raise CodegenError(f"layer {layer.name!r}: dense binary convolutions must be 1x1, "
                           "stride 1, no padding")
    res = layer.output.residual
    if res:
        rc, _, rw = ir.layer(res).out_shape
        residual = f"{band.res}, {rw}, {rc}, {layer.output.residual_stride}"
    else:
        residual = "0, 0, 0, 1"
    return (f"trit_pw_ternary_bin({band.src}, {band.rows}, {w}, {cin}, {c}_sign, "
            f"{c}_nz, {wp_wn}, {cout}, &{c}_thr, {residual}, {band.dst}, {scratch}, {sliced}, "
            f"{c + '_tables' if tables else '0'});")


def _call_int8(ir: ModelIR, layer: Layer, plan: MemoryPlan, c: str) -> str:
    """The kernel call of a layer with an int8 input or output (IR v2 and v3): requantised
    convolutions, adds, pooling of int8 maps and the sign of an int8 map."""
    def ptr(value: str, ctype: str = "int8_t") -> str:
        return f"({ctype} *)((uint8_t *)arena + {plan.buffers[value].offset})"

    if layer.op == "global_sum_pool":
        ch, h, w = layer.in_shape
        return (f"trit_global_sum_pool_s8({ptr(layer.input)}, {h * w}, {ch}, "
                f"{ptr(layer.name, 'int32_t')});")
    if layer.op == "add":
        a = layer.add
        ch, h, w = layer.in_shape
        if value_kind(ir, a.other) != "int8":
            raise CodegenError(f"layer {layer.name!r}: the add's second input must be int8")
        oc, _, ow = ir.layer(a.other).out_shape if a.other != "input" else ir.input_shape
        return (f"trit_add_residual_s8({ptr(layer.input)}, {h}, {w}, {ch}, {ptr(a.other)}, "
                f"{ow}, {oc}, {a.stride}, {a.ma}, {a.mb}, {a.shift}, {a.act_min}, "
                f"{ptr(layer.name)});")
    if layer.op == "sign":
        ch, h, w = layer.in_shape
        return (f"trit_sign_pack_s8({ptr(layer.input)}, {h * w}, {ch}, "
                f"{ptr(layer.name, 'uint32_t')});")
    if layer.op != "conv2d" or not isinstance(layer.output, Requant):
        raise CodegenError(f"layer {layer.name!r}: an int8-input {layer.op} must be a conv2d "
                           "with a requant output, an add, a sign or a pool")
    scratch = f"(int32_t *)(arena + {plan.buffers[SCRATCH + layer.name].offset // 4})"
    cin, h, w = layer.in_shape
    cout = layer.out_shape[0]
    k, s, p = layer.kernel, layer.stride, layer.padding
    rq = f"&{c}_rq"
    if value_kind(ir, layer.input) == "binary":
        if layer.weights.format != "ternary" or (k, s, p, layer.groups) != (1, 1, 0, 1):
            raise CodegenError(f"layer {layer.name!r}: a requantised convolution on binary "
                               "inputs must be a ternary 1x1, stride 1, no padding")
        wp, wn = (int(v) for v in layer.weights.scales)
        return (f"trit_pw_ternary_bin_s8({ptr(layer.input, 'uint32_t')}, {h * w}, {cin}, "
                f"{c}_sign, {c}_nz, (trit_scales_t){{{wp}, {wn}}}, {cout}, {rq}, "
                f"{ptr(layer.name)}, {scratch});")
    if value_kind(ir, layer.input) != "int8":
        raise CodegenError(f"layer {layer.name!r}: requantised convolutions need int8 or "
                           "binary inputs")
    if layer.weights.format == "int8":
        if layer.groups > 1:
            return (f"trit_dw_s8({ptr(layer.input)}, {h}, {w}, {cin}, {c}_weights, {k}, {s}, "
                    f"{p}, {rq}, {ptr(layer.name)}, {scratch});")
        return (f"trit_conv_s8({ptr(layer.input)}, {h}, {w}, {cin}, {c}_weights, {cout}, {k}, "
                f"{s}, {p}, {rq}, {ptr(layer.name)}, {scratch});")
    wp, wn = (int(v) for v in layer.weights.scales)
    scales = f"(trit_scales_t){{{wp}, {wn}}}"
    if layer.groups > 1:
        return (f"trit_dw_ternary_s8({ptr(layer.input)}, {h}, {w}, {cin}, {c}_codes, {scales}, "
                f"{k}, {s}, {p}, {rq}, {ptr(layer.name)}, {scratch});")
    if k != 1 or s != 1 or p != 0:
        raise CodegenError(f"layer {layer.name!r}: dense ternary x int8 convolutions must be "
                           "1x1, stride 1, no padding")
    return (f"trit_pw_ternary_s8({ptr(layer.input)}, {h * w}, {cin}, {c}_sign, {c}_nz, "
            f"{scales}, {cout}, {rq}, {ptr(layer.name)}, {scratch});")


def _weight_note(layer: Layer) -> str:
    if layer.add is not None:
        a = layer.add
        return (f"adds {a.other} (stride {a.stride}): ma={a.ma} mb={a.mb} shift={a.shift} "
                f"act_min={a.act_min}")
    if layer.op == "sign":
        return "sign of the int8 input (x < 0 -> bit 1), no constants"
    if layer.weights is None:
        return "no weights"
    w = layer.weights
    if w.format == "int8":
        return f"int8 weights {'x'.join(map(str, w.values.shape))}"
    wp, wn = (int(v) for v in w.scales)
    return (f"ternary weights {'x'.join(map(str, w.values.shape))}, "
            f"{int((w.values != 0).sum())} non-zero, wp_q={wp} wn_q={wn}")


@dataclass(frozen=True)
class FlashTables:
    """Tables of the ARMv7E-M pointwise kernel that a build makes at code generation and keeps
    in flash, trading flash for instructions (other flavours ignore them; layouts
    TRIT_NIBBLE_TABLES, TRIT_NIBBLE_WORD_TILES and TRIT_BYTE_TABLES in
    firmware/include/trit/kernels.h).
    ``byte``: byte tables for the layers of 21..24 inputs and outputs (`--byte-tables`,
    18,868 B each); ``nibble``: nibble tables for every other layer that counts through
    nibble tables (`--nibble-tables`; 64 B per four inputs and four outputs, and start values),
    which the kernel then reads instead of building them on each call."""
    byte: bool = False
    nibble: bool = False

    def label(self) -> str:
        """The project folder's suffix: ``bytes``, ``nibbles``, both, or empty."""
        return "-".join(n for n, on in (("bytes", self.byte), ("nibbles", self.nibble)) if on)


NO_FLASH_TABLES = FlashTables()


def wants_byte_tables(layer: Layer, kernels: str, tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether the generated calls pass the layer's byte tables (codegen/nibble_tables.py) to
    the ARMv7E-M flavour: where a build asks for them (``tables.byte``, `--byte-tables`), for
    its pointwise layers of 21..24 inputs and outputs (18 KiB of flash each)."""
    return (tables.byte and kernels.partition("+")[0] == "armv7em"
            and nibble_tables.bytes_usable(layer))


def wants_nibble_tables(ir: ModelIR, layer: Layer, kernels: str, plan: MemoryPlan,
                        tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether the generated calls pass the layer's nibble tables (codegen/nibble_tables.py)
    to the ARMv7E-M flavour, unless it takes byte tables: for every pointwise layer that can
    count through them where a build asks for them (``tables.nibble``, `--nibble-tables`),
    else for those that run in bands (codegen/banded.py), which would otherwise build them
    again for every band."""
    if kernels.partition("+")[0] != "armv7em" or not nibble_tables.usable(layer) or \
            wants_byte_tables(layer, kernels, tables):
        return False
    return tables.nibble or any(ir.layers[i] is layer for ch in plan.chains for i in ch.layers)


def wants_word_tiles(ir: ModelIR, layer: Layer, kernels: str, plan: MemoryPlan,
                     tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether the layer's nibble tables come in whole-word tiles (TRIT_NIBBLE_WORD_TILES,
    codegen/nibble_tables.py word_tile_plan): where the build keeps them in flash
    (``tables.nibble``) and the layer has a multiple of 16 outputs."""
    return (tables.nibble and nibble_tables.word_tiles_usable(layer)
            and wants_nibble_tables(ir, layer, kernels, plan, tables))


def uses_word_tiles(ir: ModelIR, kernels: str, plan: MemoryPlan,
                    tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether any layer passes whole-word tiles: its project then defines TRIT_WORD_TILES
    (trit/model_config.h), which compiles the kernel's code for them."""
    return any(wants_word_tiles(ir, layer, kernels, plan, tables) for layer in ir.layers)


def wants_sliced_constants(layer: Layer, kernels: str,
                           tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether the generated call passes the layer's bit-sliced constants (codegen/sliced.py)
    to the ARMv7E-M flavour: for its pointwise layers of fewer than 32 pixels, where it counts
    bit-sliced and the per-call setup outweighs the pixels' work (unless the build puts nibble
    tables in flash, ``tables.nibble``: those layers then count through them), and for its
    depthwise 3x3 layers (tap planes and border-class count limits: 54 words per 32
    channels); to the NEON flavour for its depthwise 3x3 layers, which count bit-sliced the
    same way."""
    flavour = kernels.partition("+")[0]
    if flavour == "neon":
        return sliced.dw_usable(layer)
    if flavour != "armv7em":
        return False
    if sliced.usable(layer):
        return (layer.in_shape[1] * layer.in_shape[2] < sliced.FEW_PIXELS
                and not (tables.nibble and nibble_tables.usable(layer)))
    return sliced.dw_usable(layer)


def sliced_constant_bytes(ir: ModelIR, kernels: str,
                          tables: FlashTables = NO_FLASH_TABLES) -> int:
    """Flash bytes of the bit-sliced constants a build for ``kernels`` adds to the layers'."""
    return sum(4 * _sliced_words(layer) for layer in ir.layers
               if wants_sliced_constants(layer, kernels, tables))


def wants_nibble_starts(ir: ModelIR, layer: Layer, kernels: str, plan: MemoryPlan,
                        tables: FlashTables = NO_FLASH_TABLES) -> bool:
    """Whether the generated call passes the nibble kernel's start values alone
    (codegen/nibble_tables.py) to the ARMv7E-M flavour: for its other pointwise layers that
    count through nibble tables (32 pixels or more, no bit-sliced constants), which would
    otherwise derive them per call."""
    if kernels.partition("+")[0] != "armv7em" or not nibble_tables.usable(layer) or \
            wants_byte_tables(layer, kernels, tables):
        return False
    return (layer.in_shape[1] * layer.in_shape[2] >= sliced.FEW_PIXELS
            and not wants_sliced_constants(layer, kernels, tables)
            and not wants_nibble_tables(ir, layer, kernels, plan, tables))


def nibble_table_bytes(ir: ModelIR, kernels: str, plan: MemoryPlan,
                       tables: FlashTables = NO_FLASH_TABLES) -> int:
    """Flash bytes of the nibble tables a build for ``kernels`` with ``plan`` adds."""
    return sum(4 * nibble_tables.table_words(layer.in_shape[0], layer.out_shape[0])
               for layer in ir.layers
               if wants_nibble_tables(ir, layer, kernels, plan, tables))


def nibble_start_bytes(ir: ModelIR, kernels: str, plan: MemoryPlan,
                       tables: FlashTables = NO_FLASH_TABLES) -> int:
    """Flash bytes of the nibble kernel's start values a build for ``kernels`` with ``plan``
    adds (the layers without tables)."""
    return sum(4 * nibble_tables.start_words(layer.out_shape[0])
               for layer in ir.layers
               if wants_nibble_starts(ir, layer, kernels, plan, tables))


def byte_table_bytes(ir: ModelIR, kernels: str, tables: FlashTables = NO_FLASH_TABLES) -> int:
    """Flash bytes of the byte tables a build for ``kernels`` adds (``tables.byte``: asked)."""
    return sum(4 * nibble_tables.BYTE_TABLE_WORDS for layer in ir.layers
               if wants_byte_tables(layer, kernels, tables))


def _sliced_words(layer: Layer) -> int:
    if layer.groups > 1:
        return sliced.dw_sliced_words(layer.in_shape[0])
    return sliced.sliced_words(layer.in_shape[0], layer.out_shape[0])


def _sliced_array(ir: ModelIR, layer: Layer, c: str) -> CArray:
    if layer.groups > 1:
        v = sliced.dw_sliced_constants(layer)
    else:
        res = layer.output.residual
        v = sliced.pw_sliced_constants(layer.weights.values, int(layer.weights.scales[0]),
                                       layer.output, ir.layer(res).out_shape[0] if res else 0)
    return CArray("uint32_t", f"{c}_sliced", v.size, c_body(v, 6, True))


class _Rows:
    """Row numbers of one chain step as C: literals, or (``loop``) expressions in the loop
    variable r, the step's first output row of the chain's last layer."""

    def __init__(self, r: int, loop: bool) -> None:
        self.r, self.loop = r, loop

    def row(self, value: int) -> str:
        """A row number that moves with the step."""
        if not self.loop:
            return str(value)
        k = value - self.r
        return "r" if k == 0 else f"r + {k}" if k > 0 else f"r - {-k}"

    def words(self, base: int, row: int, row_words: int, scale: int = 1) -> str:
        """``arena + base + row * row_words`` for a row that moves ``scale`` rows per row of
        the step (a residual read at a stride)."""
        if not self.loop:
            return f"(arena + {base + row * row_words})"
        k = base + (row - scale * self.r) * row_words
        return f"(arena + {k} + r * {scale * row_words})"


def _chain_code(ir: ModelIR, chain: Chain, plan: MemoryPlan, kernels: str,
                tables: FlashTables = NO_FLASH_TABLES) -> str:
    """The C of a banded chain (codegen/banded.py): its steps' window slides and kernel
    calls, each call timed into spent[] when profiling. Runs of steps that differ only by
    where they are (the steady state) become one loop."""
    first = chain.layers[0]
    names = [ir.layers[i].name for i in chain.layers]
    inner = set(names[:-1])

    def window(value: str, row: int) -> str:
        """Row ``row`` of a window buffer (does not move with the step)."""
        rw = row_bytes(ir.layer(value)) // 4
        return f"(arena + {plan.buffers[value].offset // 4 + row * rw})"

    def whole(value: str, row: int, rows: _Rows, scale: int = 1) -> str:
        """Row ``row`` of a whole map (moving ``scale`` rows per row of the step)."""
        return rows.words(plan.buffers[value].offset // 4, row, row_bytes(ir.layer(value)) // 4,
                          scale)

    def step_code(step: list, rows: _Rows) -> list[str]:
        out = []
        for item in step:
            if isinstance(item, Slide):
                if item.keep:
                    rb = row_bytes(ir.layer(item.value))
                    out.append(f"memmove({window(item.value, 0)}, "
                               f"{window(item.value, item.drop)}, {item.keep * rb});")
                continue
            layer = ir.layers[item.layer]
            pointwise = layer.kernel == 1  # reads just its own rows
            if layer.input in inner:
                src = window(layer.input, item.y0 - item.in_base if pointwise else 0)
                in_y0 = rows.row(item.in_base)
            else:
                src = (whole(layer.input, item.y0, rows) if pointwise
                       else f"(arena + {plan.buffers[layer.input].offset // 4})")
                in_y0 = "0"
            dst = (window(layer.name, item.y0 - item.out_base) if layer.name in inner
                   else whole(layer.name, item.y0, rows))
            res = layer.output.residual
            res_ptr = "0"
            if res:
                rs = layer.output.residual_stride
                res_ptr = whole(res, item.y0 * rs, rows, rs)
            band = Band(src, in_y0, rows.row(item.y0), rows.row(item.y1), item.y1 - item.y0,
                        dst, res_ptr)
            call = _call(ir, layer, plan, c_ident(layer.name),
                         wants_sliced_constants(layer, kernels, tables), band,
                         wants_nibble_tables(ir, layer, kernels, plan, tables)
                         or wants_byte_tables(layer, kernels, tables))
            out.append(f"TIMED({item.layer - first}, {call[:-1]});")
        return out

    windows = ", ".join(f"{v} in a window of {r} rows" for v, r in chain.window_rows.items())
    lines = [f"/* {names[0]} .. {names[-1]} in bands of {chain.band_rows} output rows "
             f"(codegen/banded.py): {windows}; {names[-1]} is written "
             + (f"{plan.aliases[names[-1]][1]} B before {chain.source} starts, over its rows "
                "already read */" if names[-1] in plan.aliases else "to its own map */")]
    b = chain.band_rows
    shapes = [step_code(st, _Rows(t * b, True)) for t, st in enumerate(chain.steps)]
    t = 0
    while t < len(chain.steps):
        u = t
        while u + 1 < len(chain.steps) and shapes[u + 1] == shapes[t]:
            u += 1
        if u > t:
            lines.append(f"for (int r = {t * b}; r <= {u * b}; r += {b}) {{ "
                         f"/* steps {t + 1} to {u + 1} of {len(chain.steps)} */")
            lines += ["    " + ln for ln in shapes[t]]
            lines.append("}")
        else:
            lines.append(f"/* step {t + 1} of {len(chain.steps)} */")
            lines += step_code(chain.steps[t], _Rows(t * b, False))
        t = u + 1
    lines.append("if (marks) { /* each layer's own instructions; the rest counts to the last */")
    for j in range(1, len(names)):
        lines.append(f"    marks[{first + j}] = marks[{first + j - 1}] + spent[{j - 1}];")
    lines.append("}")
    return "\n    ".join(["{", f"    uint64_t spent[{len(names)}] = {{0}};"]
                          + ["    " + ln for ln in lines] + ["}"])


def render_model(ir: ModelIR, kernels: str = "ref", arena: ArenaOptions | None = None,
                 tables: FlashTables = NO_FLASH_TABLES) -> dict[str, str]:
    """``{"model.h": ..., "model.c": ...}`` for ``ir``, calling the kernels of flavour
    ``kernels`` (the ARMv7E-M flavour gets precomputed constants for some layers);
    ``arena``: band rows of the layer chains (codegen/banded.py) and scratch cap;
    ``tables``: the tables the ARMv7E-M pointwise kernel reads from flash (:class:`FlashTables`)."""
    plan = plan_memory(ir, arena)
    in_chain = {i: ch for ch in plan.chains for i in ch.layers}
    layers = []
    for layer in ir.layers:
        c = c_ident(layer.name)
        ctx = LayerContext(
            name=layer.name, c=c, kind=layer.kind, in_shape=layer.in_shape,
            out_shape=layer.out_shape, stride=layer.stride,
            residual=layer.output.residual if layer.output is not None else
            (layer.add.other if layer.add is not None else None),
            weight_note=_weight_note(layer), const_bytes=_const_bytes(layer),
            has_threshold=isinstance(layer.output, SignThreshold),
            requant=layer.output if isinstance(layer.output, Requant) else None)
        if layer.weights is not None:
            ctx.arrays = _arrays(layer, c)
        if ctx.has_threshold:
            ctx.threshold_init = threshold_init(c, layer.output.threshold,
                                                layer.output.residual is not None)
        with_bytes = wants_byte_tables(layer, kernels, tables)
        with_tables = wants_nibble_tables(ir, layer, kernels, plan, tables)
        with_starts = wants_nibble_starts(ir, layer, kernels, plan, tables)
        if with_bytes or with_tables or with_starts:
            res = layer.output.residual
            args = (layer.weights.values, int(layer.weights.scales[0]), layer.output,
                    ir.layer(res).out_shape[0] if res else 0)
            if with_bytes:
                v, what = (nibble_tables.byte_tables(*args),
                           "byte tables for the ARMv7E-M kernel's 24-channel tile")
            elif with_tables:
                v = nibble_tables.nibble_tables(
                    *args, word_tiles=wants_word_tiles(ir, layer, kernels, plan, tables))
                what = ("nibble tables for the ARMv7E-M kernel, which runs it in bands"
                        if len(layers) in in_chain else
                        "nibble tables for the ARMv7E-M kernel, read from flash instead of "
                        "built per call (--nibble-tables)")
            else:
                v, what = (nibble_tables.start_values(*args),
                           "the ARMv7E-M nibble kernel's start values")
            ctx.arrays.append(CArray("uint32_t", f"{c}_tables", v.size, c_body(v, 6, True)))
            ctx.const_bytes += 4 * v.size
            ctx.weight_note += f"; {what} (codegen/nibble_tables.py)"
        with_sliced = wants_sliced_constants(layer, kernels, tables)
        if with_sliced:
            ctx.arrays.append(_sliced_array(ir, layer, c))
            ctx.const_bytes += 4 * ctx.arrays[-1].count
            ctx.weight_note += ("; bit-sliced constants for the "
                                f"{'NEON' if kernels.startswith('neon') else 'ARMv7E-M'} kernel "
                                "(codegen/sliced.py)")
        ch = in_chain.get(len(layers))
        if ch is None:
            ctx.call = _call(ir, layer, plan, c, with_sliced,
                             tables=with_starts or with_bytes or with_tables)
        elif ch.layers[0] == len(layers):
            ctx.call = _chain_code(ir, ch, plan, kernels, tables)
        ctx.mark = ch is None or ch.layers[-1] == len(layers)
        ctx.header = (f"{layer.name}: {layer.kind} {'x'.join(map(str, layer.in_shape))} -> "
                      f"{'x'.join(map(str, layer.out_shape))}"
                      + (f", stride {layer.stride}" if layer.stride > 1 else "")
                      + (f", + residual {ctx.residual}" if ctx.residual else ""))
        layers.append(ctx)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    ctx = dict(ir=ir, plan=plan, layers=layers, num_classes=ir.layers[-1].out_shape[0],
               input_bytes=int(np.prod(ir.input_shape)), banded=bool(plan.chains))
    return {name: env.get_template(f"{name}.j2").render(**ctx) for name in ("model.h", "model.c")}


def write_model(ir: ModelIR, out_dir: str | Path, kernels: str = "ref",
                arena: ArenaOptions | None = None,
                tables: FlashTables = NO_FLASH_TABLES) -> MemoryPlan:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_model(ir, kernels, arena, tables).items():
        (out / name).write_text(text)
    return plan_memory(ir, arena)
