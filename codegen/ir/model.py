"""The deployment IR: an in-memory graph of integer layers, and its file format.

A ``.trit`` file is a zip archive with two members:

* ``graph.json`` — format name, version, input description, the ordered layer list with shapes,
  attributes and tensor references, class names and free-form metadata;
* ``tensors.npz`` — every integer tensor, keyed ``<layer>.<field>``.

The integer semantics of each layer are specified in ``docs/ir.md``; the reference
interpreter (``codegen.reference``) implements them.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .storage import BITS, StorageReport, StorageRow, nbytes

IR_FORMAT = "trit-ir"
IR_VERSION = 5
SUPPORTED_VERSIONS = (1, 2, 3, 4, 5)
#: Version 1: binary activations only (conv2d outputs are sign_threshold). Version 2 adds
#: int8 activations: conv2d outputs of kind ``requant`` and the ``add`` op. Version 3 adds the
#: ``sign`` op (an int8 value to ±1), for binary convolutions on an int8 residual stream.
#: Version 4 lets ``sign_threshold`` thresholds be int8 or int16 where their values fit (same
#: semantics; the export counts equal-scale ternary layers in units of one product). Version 5
#: lets a ``requant`` output store its multipliers in 16 bits (``mult_bits: 16``: each ``mult``
#: a multiple of 2**16, stored as ``mult >> 16``; same semantics).
OPS = ("conv2d", "global_sum_pool", "dense", "add", "sign")
WEIGHT_FORMATS = ("ternary", "int8")
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
#: Storage types of ``sign_threshold`` thresholds: int32 in every version, int8 and int16 from
#: version 4 on.
THRESHOLD_DTYPES = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32))


class IRError(ValueError):
    """A malformed or unsupported IR file; the message names the layer and field."""


@dataclass
class Weights:
    """Integer weights. ``values`` is int8: codes {-1, 0, +1} for ``ternary``, [-127, 127] for
    ``int8``. ``scales`` (ternary only) is int32 ``[wp_q, wn_q]``: the layer sums
    ``wp_q·P − wn_q·N`` where P (N) is the input sum under +1 (−1) codes."""

    format: str
    values: np.ndarray
    scales: np.ndarray | None = None


@dataclass
class SignThreshold:
    """Batch norm + sign (+ residual) folded into integer thresholds on the accumulator.

    ``threshold`` is int32 (version 4: or int8, int16) ``[C]`` without a residual, ``[C, 3]``
    with one (column ``r + 1``
    for residual value ``r ∈ {−1, 0, +1}``); ``direction`` is int8 ``[C]`` of ±1. The output
    is +1 where ``acc ≥ T`` (direction +1) or ``acc ≤ T`` (direction −1), else −1.
    """

    threshold: np.ndarray
    direction: np.ndarray
    residual: str | None = None   # name of a binary value added before the sign
    residual_stride: int = 1      # spatial subsampling of the residual source


@dataclass
class Requant:
    """Batch norm (+ ReLU) folded into an int8 requantisation of the accumulator (IR v2).

    Per output channel ``o``: ``hi = ((acc + bias[o]) · mult[o]) >> 32`` (int64 product,
    floor shift), ``y = clamp((hi + 2**(r − 1)) >> r, act_min, 127)`` with ``r = shift[o] − 32``.
    ``bias`` and ``mult`` are int32 ``[C]`` (``mult`` in ``[2**30, 2**31)``), ``shift`` int8
    ``[C]`` in ``[33, 62]``; ``act_min`` is −128, or 0 for a ReLU. One SMULL and a rounding
    shift on a Cortex-M (``trit_requant`` in firmware/include/trit/kernels.h).

    ``mult_bits`` is how the IR file stores ``mult``: 32 (int32), or 16 (version 5: every
    ``mult`` a multiple of 2**16, stored as the int16 ``mult >> 16`` in ``[2**14, 2**15)``).
    In memory ``mult`` is always the int32 value the formula takes.
    """

    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    act_min: int = 0
    mult_bits: int = 32

    @property
    def residual(self) -> None:
        """Requantised outputs never take a residual (an ``add`` layer does)."""
        return None

    def apply(self, acc: np.ndarray, axis: int = 1) -> np.ndarray:
        """int8 outputs of integer accumulators, channels along ``axis``."""
        shape = [1] * acc.ndim
        shape[axis] = -1
        b, m, r = (v.astype(np.int64).reshape(shape) for v in (self.bias, self.mult, self.shift))
        hi = ((acc.astype(np.int64) + b) * m) >> 32
        r = r - 32
        return np.clip((hi + (np.int64(1) << (r - 1))) >> r, self.act_min, 127).astype(np.int8)


@dataclass
class AddParams:
    """Residual add of two int8 values (IR v2): ``y = clamp((a·ma + b·mb + 2**(shift − 1)) >>
    shift, act_min, 127)`` where ``a`` is the layer's input and ``b`` the value ``other``
    sampled at ``(y·stride, x·stride)``, channels beyond its own count reading 0 (the option-A
    shortcut). ``ma``, ``mb`` in ``[0, 2**22)``, ``shift`` in ``[1, 30]`` (int32 arithmetic:
    ``|a·ma + b·mb| < 2**30``)."""

    other: str
    ma: int
    mb: int
    shift: int
    act_min: int = 0
    stride: int = 1


@dataclass
class Layer:
    name: str
    op: str
    input: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    weights: Weights | None = None
    output: SignThreshold | Requant | None = None
    bias: np.ndarray | None = None  # int32 [out] (dense)
    add: AddParams | None = None    # op "add"

    @property
    def kind(self) -> str:
        """Short layer kind used in reports: conv3x3, dw3x3, pw1x1, dense, pool."""
        if self.op == "dense":
            return "dense"
        if self.op == "global_sum_pool":
            return "pool"
        if self.op in ("add", "sign"):
            return self.op
        if self.groups > 1:
            return f"dw{self.kernel}x{self.kernel}"
        return f"pw{self.kernel}x{self.kernel}" if self.kernel == 1 else \
            f"conv{self.kernel}x{self.kernel}"

    def tensors(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if self.weights is not None:
            out["weights"] = self.weights.values
            if self.weights.scales is not None:
                out["scales"] = self.weights.scales
        if isinstance(self.output, SignThreshold):
            out["threshold"] = self.output.threshold
            out["direction"] = self.output.direction
        elif isinstance(self.output, Requant):
            out["rq_bias"] = self.output.bias
            out["rq_mult"] = self.output.mult if self.output.mult_bits == 32 else \
                (self.output.mult >> 16).astype(np.int16)
            out["rq_shift"] = self.output.shift
        if self.bias is not None:
            out["bias"] = self.bias
        return out


@dataclass
class ModelIR:
    """A whole network. Input: uint8 pixels ``[3, H, W]``; the first layer sees
    ``p − input_offset`` as int8. Output: the int32 logits of the last layer."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]
    input_offset: int = 128
    classes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    version: int = IR_VERSION

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def storage(self) -> StorageReport:
        """Weight storage counted from the IR tensors (see :mod:`.storage`)."""
        rows = []
        for layer in self.layers:
            if layer.add is not None:  # int32 ma, mb, shift
                rows.append(StorageRow(name=layer.name, kind="add", shape="-", weight_format="-",
                                       params=0, weight_bytes=0, scale_bytes=0,
                                       threshold_bytes=12))
            if layer.weights is None:
                continue
            w = layer.weights
            thr = 0
            if isinstance(layer.output, SignThreshold):
                thr = (layer.output.threshold.nbytes
                       + nbytes(layer.output.direction.size, 1))
            elif isinstance(layer.output, Requant):
                o = layer.output
                thr = 4 * o.bias.size + o.mult_bits // 8 * o.mult.size + o.shift.size
            if layer.bias is not None:
                thr += 4 * layer.bias.size
            rows.append(StorageRow(
                name=layer.name, kind=layer.kind, shape="x".join(map(str, w.values.shape)),
                weight_format=w.format, params=int(w.values.size),
                weight_bytes=nbytes(w.values.size, BITS[w.format]),
                scale_bytes=0 if w.scales is None else 4 * w.scales.size,
                threshold_bytes=thr))
        return StorageReport(rows)


def required_version(layers: list[Layer]) -> int:
    """The lowest IR version that holds ``layers``: 5 with 16-bit requantisation multipliers,
    4 with int8 or int16 thresholds, 3 with a ``sign`` op, 2 with int8 activations, else 1."""
    if any(isinstance(layer.output, Requant) and layer.output.mult_bits == 16
           for layer in layers):
        return 5
    if any(isinstance(layer.output, SignThreshold) and layer.output.threshold.dtype != np.int32
           for layer in layers):
        return 4
    if any(layer.op == "sign" for layer in layers):
        return 3
    v2 = any(layer.op == "add" or isinstance(layer.output, Requant) for layer in layers)
    return 2 if v2 else 1


# -- serialisation -----------------------------------------------------------------------------

def _layer_json(layer: Layer) -> dict[str, Any]:
    d: dict[str, Any] = {"name": layer.name, "op": layer.op, "input": layer.input,
                         "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape)}
    if layer.op == "conv2d":
        d.update(kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
                 groups=layer.groups)
    if layer.weights is not None:
        d["weights"] = {"format": layer.weights.format, "values": f"{layer.name}.weights"}
        if layer.weights.scales is not None:
            d["weights"]["scales"] = f"{layer.name}.scales"
    if isinstance(layer.output, SignThreshold):
        d["output"] = {"kind": "sign_threshold", "threshold": f"{layer.name}.threshold",
                       "direction": f"{layer.name}.direction",
                       "residual": layer.output.residual,
                       "residual_stride": layer.output.residual_stride}
    elif isinstance(layer.output, Requant):
        d["output"] = {"kind": "requant", "bias": f"{layer.name}.rq_bias",
                       "mult": f"{layer.name}.rq_mult", "shift": f"{layer.name}.rq_shift",
                       "act_min": layer.output.act_min}
        if layer.output.mult_bits != 32:
            d["output"]["mult_bits"] = layer.output.mult_bits
    if layer.bias is not None:
        d["bias"] = f"{layer.name}.bias"
    if layer.add is not None:
        a = layer.add
        d["add"] = {"other": a.other, "ma": a.ma, "mb": a.mb, "shift": a.shift,
                    "act_min": a.act_min, "stride": a.stride}
    return d


def save_ir(ir: ModelIR, path: str | Path) -> None:
    """Write ``ir`` as a ``.trit`` zip archive (validated first)."""
    validate(ir)
    graph = {"format": IR_FORMAT, "version": ir.version, "name": ir.name,
             "input": {"shape": list(ir.input_shape), "dtype": "uint8",
                       "offset": ir.input_offset},
             "layers": [_layer_json(layer) for layer in ir.layers],
             "output": ir.layers[-1].name, "classes": ir.classes, "meta": ir.meta}
    tensors = {f"{layer.name}.{k}": v for layer in ir.layers for k, v in layer.tensors().items()}
    buf = io.BytesIO()
    np.savez(buf, **tensors)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        # a fixed timestamp: the same IR gives the same bytes (reproducible exports)
        for name, data in (("graph.json", json.dumps(graph, indent=1)),
                           ("tensors.npz", buf.getvalue())):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def load_ir(path: str | Path) -> ModelIR:
    """Read and validate a ``.trit`` file; raises :class:`IRError` naming layer and field."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            graph = json.loads(z.read("graph.json"))
            with np.load(io.BytesIO(z.read("tensors.npz")), allow_pickle=False) as npz:
                tensors = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, ValueError, OSError) as exc:
        raise IRError(f"{path}: not a trit IR archive ({exc})") from exc
    return ir_from_json(graph, tensors, str(path))


def ir_from_json(graph: dict, tensors: dict[str, np.ndarray], source: str = "IR") -> ModelIR:
    if not isinstance(graph, dict) or graph.get("format") != IR_FORMAT:
        raise IRError(f"{source}: format is {graph.get('format')!r}, expected {IR_FORMAT!r}")
    version = graph.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise IRError(f"{source}: IR version {version!r} is not supported "
                      f"(this trit reads {', '.join(map(str, SUPPORTED_VERSIONS))})")

    def req(d: dict, key: str, where: str) -> Any:
        if key not in d:
            raise IRError(f"{source}: {where}: missing field {key!r}")
        return d[key]

    def tensor(ref: Any, where: str) -> np.ndarray:
        if ref not in tensors:
            raise IRError(f"{source}: {where}: tensor {ref!r} is not in tensors.npz")
        return tensors[ref]

    inp = req(graph, "input", "graph")
    layers = []
    for i, d in enumerate(req(graph, "layers", "graph")):
        name = d.get("name", f"#{i}")
        where = f"layer {name!r}"
        op = req(d, "op", where)
        w = None
        if "weights" in d:
            wd = d["weights"]
            scales = wd.get("scales")
            w = Weights(format=req(wd, "format", f"{where} field 'weights'"),
                        values=tensor(req(wd, "values", f"{where} field 'weights'"),
                                      f"{where} field 'weights.values'"),
                        scales=None if scales is None else tensor(
                            scales, f"{where} field 'weights.scales'"))
        out = None
        add = None
        if "output" in d:
            od = d["output"]
            kinds = ("sign_threshold",) if version == 1 else ("sign_threshold", "requant")
            if od.get("kind") not in kinds:
                raise IRError(f"{source}: {where}: field 'output.kind' is {od.get('kind')!r}, "
                              f"expected {' or '.join(map(repr, kinds))}")
        if "output" in d and od["kind"] == "requant":
            mult = tensor(od.get("mult"), f"{where} field 'output.mult'")
            mult_bits = od.get("mult_bits", 32)
            if mult_bits not in (16, 32) or (mult_bits == 16 and version < 5):
                raise IRError(f"{source}: {where}: field 'output.mult_bits' is {mult_bits!r}, "
                              "expected 32" + (" or 16 (version 5 on)" if version < 5 else
                                               " or 16"))
            if mult_bits == 16:
                if mult.dtype != np.int16:
                    raise IRError(f"{source}: {where}: field 'output.mult': mult_bits 16 "
                                  f"expects int16, got {mult.dtype}")
                mult = mult.astype(np.int32) << 16
            out = Requant(bias=tensor(od.get("bias"), f"{where} field 'output.bias'"),
                          mult=mult,
                          shift=tensor(od.get("shift"), f"{where} field 'output.shift'"),
                          act_min=int(od.get("act_min", 0)), mult_bits=mult_bits)
        elif "output" in d:
            out = SignThreshold(threshold=tensor(od.get("threshold"), f"{where} field 'output.threshold'"),
                                direction=tensor(od.get("direction"), f"{where} field 'output.direction'"),
                                residual=od.get("residual"),
                                residual_stride=int(od.get("residual_stride", 1)))
        if "add" in d:
            ad = d["add"]
            try:
                add = AddParams(other=str(req(ad, "other", f"{where} field 'add'")),
                                ma=int(req(ad, "ma", f"{where} field 'add'")),
                                mb=int(req(ad, "mb", f"{where} field 'add'")),
                                shift=int(req(ad, "shift", f"{where} field 'add'")),
                                act_min=int(ad.get("act_min", 0)),
                                stride=int(ad.get("stride", 1)))
            except (TypeError, ValueError) as exc:
                raise IRError(f"{source}: {where}: malformed field 'add' ({exc})") from exc
        try:
            layers.append(Layer(
                name=name, op=op, input=req(d, "input", where),
                in_shape=tuple(req(d, "in_shape", where)), out_shape=tuple(req(d, "out_shape", where)),
                kernel=int(d.get("kernel", 1)), stride=int(d.get("stride", 1)),
                padding=int(d.get("padding", 0)), groups=int(d.get("groups", 1)),
                weights=w, output=out, add=add,
                bias=None if "bias" not in d else tensor(d["bias"], f"{where} field 'bias'")))
        except (TypeError, ValueError) as exc:
            raise IRError(f"{source}: {where}: malformed attribute ({exc})") from exc
    ir = ModelIR(name=graph.get("name", ""), input_shape=tuple(req(inp, "shape", "input")),
                 input_offset=int(inp.get("offset", 128)), layers=layers,
                 classes=list(graph.get("classes", [])), meta=dict(graph.get("meta", {})),
                 version=version)
    validate(ir, source)
    return ir


# -- validation --------------------------------------------------------------------------------

def _check(cond: bool, source: str, layer: str, fld: str, msg: str) -> None:
    if not cond:
        raise IRError(f"{source}: layer {layer!r} field {fld!r}: {msg}")


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def validate(ir: ModelIR, source: str = "IR") -> None:
    """Check shapes, dtypes, value ranges and references of every layer."""
    if not ir.layers:
        raise IRError(f"{source}: the graph has no layers")
    shapes: dict[str, tuple[int, ...]] = {"input": tuple(ir.input_shape)}
    binary: set[str] = set()        # values of ±1 (sign_threshold outputs)
    int8: set[str] = {"input"}      # int8 values (the input, requant and add outputs)
    for layer in ir.layers:
        n, c = layer.name, _check
        c(layer.op in OPS, source, n, "op", f"unknown op {layer.op!r} (known: {', '.join(OPS)})")
        c(layer.op != "add" or ir.version >= 2, source, n, "op", "'add' needs IR version 2")
        c(layer.op != "sign" or ir.version >= 3, source, n, "op", "'sign' needs IR version 3")
        c(n not in shapes, source, n, "name", "duplicate layer name")
        c(layer.input in shapes, source, n, "input", f"{layer.input!r} is not an earlier value")
        c(tuple(layer.in_shape) == shapes[layer.input], source, n, "in_shape",
          f"{list(layer.in_shape)} but {layer.input!r} has shape {list(shapes[layer.input])}")
        if layer.op == "conv2d":
            _validate_conv(layer, source, ir.version)
            (int8 if isinstance(layer.output, Requant) else binary).add(n)
        elif layer.op == "global_sum_pool":
            c(len(layer.in_shape) == 3 and tuple(layer.out_shape) == (layer.in_shape[0],),
              source, n, "out_shape", "global_sum_pool maps [C,H,W] to [C]")
        elif layer.op == "add":
            _validate_add(layer, source, shapes, int8)
            int8.add(n)
        elif layer.op == "sign":
            c(layer.weights is None and layer.output is None and layer.add is None
              and layer.bias is None, source, n, "op", "a sign layer has no parameters")
            c(layer.input in int8 and layer.input != "input", source, n, "input",
              f"{layer.input!r} is not an earlier int8 layer output")
            c(tuple(layer.out_shape) == tuple(layer.in_shape), source, n, "out_shape",
              "sign keeps the shape of its input")
            binary.add(n)
        else:
            _validate_dense(layer, source)
        if isinstance(layer.output, SignThreshold) and layer.output.residual is not None:
            r = layer.output.residual
            c(r in binary, source, n, "output.residual",
              f"{r!r} is not an earlier binary value")
            _check_fit(source, n, "output.residual_stride", shapes[r],
                       layer.output.residual_stride, layer.out_shape)
        shapes[n] = tuple(layer.out_shape)


def _check_fit(source: str, n: str, fld: str, rs: tuple[int, ...], s: int,
               out: tuple[int, ...]) -> None:
    """A residual of shape ``rs`` sampled with stride ``s`` fits an output of shape ``out``."""
    _check(s >= 1 and rs[0] <= out[0] and -(-rs[1] // s) == out[1] and -(-rs[2] // s) == out[2],
           source, n, fld, f"residual {list(rs)} with stride {s} does not fit output {list(out)}")


def _validate_add(layer: Layer, source: str, shapes: dict[str, tuple[int, ...]],
                  int8: set[str]) -> None:
    n, a = layer.name, layer.add
    _check(a is not None, source, n, "add", "an add layer needs its parameters")
    _check(layer.weights is None and layer.output is None, source, n, "add",
           "an add layer has no weights and no output folding")
    _check(layer.input in int8, source, n, "input", f"{layer.input!r} is not an int8 value")
    _check(a.other in int8 and a.other in shapes, source, n, "add.other",
           f"{a.other!r} is not an earlier int8 value")
    _check(len(layer.in_shape) == 3 and tuple(layer.out_shape) == tuple(layer.in_shape),
           source, n, "out_shape", "add keeps the shape of its input")
    _check_fit(source, n, "add.stride", shapes[a.other], a.stride, layer.out_shape)
    _check(0 <= a.ma < 2 ** 22 and 0 <= a.mb < 2 ** 22, source, n, "add.ma",
           "multipliers must be in [0, 2**22)")
    _check(1 <= a.shift <= 30, source, n, "add.shift", "must be in [1, 30]")
    _check(-128 <= a.act_min <= 0, source, n, "add.act_min", "must be in [-128, 0]")


def _validate_weights(layer: Layer, source: str, shape: tuple[int, ...]) -> None:
    n, w = layer.name, layer.weights
    _check(w is not None, source, n, "weights", "missing")
    _check(w.format in WEIGHT_FORMATS, source, n, "weights.format",
           f"{w.format!r} is not one of {', '.join(WEIGHT_FORMATS)}")
    _check(w.values.dtype == np.int8, source, n, "weights.values",
           f"dtype {w.values.dtype}, expected int8")
    _check(tuple(w.values.shape) == shape, source, n, "weights.values",
           f"shape {list(w.values.shape)}, expected {list(shape)}")
    if w.format == "ternary":
        _check(bool(np.isin(w.values, (-1, 0, 1)).all()), source, n, "weights.values",
               "ternary codes must be -1, 0 or +1")
        _check(w.scales is not None and w.scales.dtype == np.int32 and w.scales.shape == (2,),
               source, n, "weights.scales", "ternary weights need int32 [wp_q, wn_q]")
    else:
        _check(bool((w.values >= -127).all()), source, n, "weights.values",
               "int8 weights must be in [-127, 127]")


def _validate_conv(layer: Layer, source: str, version: int) -> None:
    n = layer.name
    cin, h, w = layer.in_shape
    cout, oh, ow = layer.out_shape
    _check(layer.groups in (1, cin) and (layer.groups == 1 or cout == cin), source, n, "groups",
           "only dense (groups=1) and depthwise (groups=C_in=C_out) convolutions exist")
    _check((oh, ow) == (conv_out_size(h, layer.kernel, layer.stride, layer.padding),
                        conv_out_size(w, layer.kernel, layer.stride, layer.padding)),
           source, n, "out_shape", "inconsistent with kernel/stride/padding")
    _validate_weights(layer, source, (cout, cin // layer.groups, layer.kernel, layer.kernel))
    o = layer.output
    _check(o is not None, source, n, "output", "conv2d needs a sign_threshold output")
    if isinstance(o, Requant):
        _validate_requant(o, source, n, cout, version)
        return
    cols = (cout, 3) if o.residual is not None else (cout,)
    dtypes = THRESHOLD_DTYPES if version >= 4 else THRESHOLD_DTYPES[2:]
    names = "/".join(map(str, dtypes))
    _check(o.threshold.dtype in dtypes and tuple(o.threshold.shape) == cols, source, n,
           "output.threshold", f"expected {names} {list(cols)}, got {o.threshold.dtype} "
           f"{list(o.threshold.shape)}" + ("" if version >= 4 or o.threshold.dtype in dtypes
                                          else " (int8/int16 need IR version 4)"))
    _check(o.direction.dtype == np.int8 and tuple(o.direction.shape) == (cout,)
           and bool(np.isin(o.direction, (-1, 1)).all()), source, n, "output.direction",
           f"expected int8 [{cout}] of ±1")


def _validate_dense(layer: Layer, source: str) -> None:
    n = layer.name
    _check(len(layer.in_shape) == 1 and len(layer.out_shape) == 1, source, n, "in_shape",
           "dense maps [C] to [K]")
    _validate_weights(layer, source, (layer.out_shape[0], layer.in_shape[0]))
    _check(layer.bias is not None and layer.bias.dtype == np.int32
           and layer.bias.shape == (layer.out_shape[0],), source, n, "bias",
           f"expected int32 [{layer.out_shape[0]}]")


def _validate_requant(o: Requant, source: str, n: str, cout: int, version: int) -> None:
    for fld, arr, dtype in (("bias", o.bias, np.int32), ("mult", o.mult, np.int32),
                            ("shift", o.shift, np.int8)):
        _check(arr.dtype == dtype and tuple(arr.shape) == (cout,), source, n, f"output.{fld}",
               f"expected {np.dtype(dtype).name} [{cout}], got {arr.dtype} {list(arr.shape)}")
    _check(bool(((o.mult >= 2 ** 30) & (o.mult.astype(np.int64) < 2 ** 31)).all()), source, n,
           "output.mult", "must be in [2**30, 2**31)")
    _check(bool(((o.shift >= 33) & (o.shift <= 62)).all()), source, n, "output.shift",
           "must be in [33, 62]")
    _check(o.mult_bits in (16, 32) and (o.mult_bits == 32 or version >= 5), source, n,
           "output.mult_bits", f"is {o.mult_bits}, expected 32" +
           (" or 16 (16 needs IR version 5)" if version < 5 else " or 16"))
    _check(o.mult_bits == 32 or not (o.mult & 0xFFFF).any(), source, n, "output.mult",
           "16-bit multipliers must be multiples of 2**16")
    _check(-128 <= o.act_min <= 0, source, n, "output.act_min", "must be in [-128, 0]")
