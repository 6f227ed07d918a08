"""Export a trained model to the deployment IR: integer weights, batch norm + sign folded into
per-channel integer thresholds (binary activations, IR v1), or batch norm + ReLU folded into
int8 requantisations with integer residual adds (8-bit activations, IR v2), or both around
an int8 residual stream with a sign layer at each block's input (IR v3). docs/ir.md gives the
semantics."""

from __future__ import annotations

import math

import numpy as np
import torch

from codegen.ir import (INT32_MAX, INT32_MIN, AddParams, Layer, ModelIR, Requant, SignThreshold,
                        Weights, required_version)
from codegen.ir.count_units import count_unit_thresholds

from .data import CLASSES
from .layers import QConv2d, QLinear
from .models import ConvBN, DWSResNet
from .models.dws_resnet import INPUT_DIVISOR, INPUT_OFFSET
from .quant import Int8Weight, TTQTernary, UniformQuant

#: Ternary scales become integers ``wp_q, wn_q`` with ``max(|wp_q|, |wn_q|) = 2**SCALE_BITS``.
SCALE_BITS = 12


class ExportError(ValueError):
    """The model has a part without an exact integer form in IR version 1."""


def check_exportable(model: DWSResNet) -> None:
    s = model.scheme
    problems = []
    if s.activation not in ("sign", "relu8"):
        problems.append(f"activation is {s.activation!r}; the IR deploys sign activations "
                        "(variant ttq-all-bin) and 8-bit ReLU activations (ttq-all-a8)")
    if (s.activation == "relu8" or s.stream == "int8") and not s.ttq_shared_scale:
        problems.append("8-bit activations and an int8 stream need one scale per ternary layer "
                        "(ttq_shared_scale)")
    if s.stem != "int8":
        problems.append(f"the input convolution is {s.stem!r}; it must be int8")
    for kind in ("depthwise", "pointwise", "classifier"):
        if getattr(s, kind) != "ternary":
            problems.append(f"{kind} weights are {getattr(s, kind)!r}; they must be ternary")
    if problems:
        raise ExportError("cannot export this model: " + "; ".join(problems))


def fold_sign_threshold(a: np.ndarray, b: np.ndarray, residual: bool) -> SignThreshold:
    """Thresholds for ``out = sign(a·acc + b + r)`` with integer ``acc`` (float64 ``a``, ``b``
    per channel; ``r`` ∈ {−1, 0, +1} when ``residual``, else 0).

    ``a > 0``: +1 iff ``acc ≥ ceil((−b − r)/a)``; ``a < 0``: +1 iff ``acc ≤ floor((−b − r)/a)``;
    ``a = 0``: constant, encoded as direction +1 with threshold INT32_MIN (always +1) or
    INT32_MAX (never: accumulators stay below 2**31 − 1).
    """
    rs = np.array([-1.0, 0.0, 1.0]) if residual else np.array([0.0])
    a = np.asarray(a, np.float64)[:, None]
    b = np.asarray(b, np.float64)[:, None]
    direction = np.where(a[:, 0] < 0, -1, 1).astype(np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (-b - rs[None, :]) / a
    thr = np.where(a > 0, np.ceil(bound), np.floor(bound))
    const = np.where(b + rs[None, :] >= 0, float(INT32_MIN), float(INT32_MAX))
    thr = np.where(a == 0, const, thr)
    thr = np.clip(thr, INT32_MIN, INT32_MAX).astype(np.int64).astype(np.int32)
    return SignThreshold(threshold=thr if residual else thr[:, 0], direction=direction)


def bn_affine(bn: torch.nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    """Eval-mode batch norm as ``y = a·x + b`` (float64 per channel)."""
    var = bn.running_var.double().numpy()
    mean = bn.running_mean.double().numpy()
    gamma = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    a = gamma / np.sqrt(var + bn.eps)
    return a, beta - a * mean


def ternary_weights(layer: QConv2d | QLinear) -> tuple[Weights, float]:
    """Codes and integer scales of a TTQ layer, and the real value ``u`` of one integer unit:
    the layer's float output equals ``u · (wp_q·P − wn_q·N)`` up to the rounding of the scales."""
    q = layer.weight_quant
    assert isinstance(q, TTQTernary)
    codes = q.ternary_codes(layer.weight).numpy()
    wp, wn = float(q.wp), float(q.wn)
    top = max(abs(wp), abs(wn))
    if top == 0 or not math.isfinite(top):
        raise ExportError(f"TTQ scales of a layer are degenerate (wp={wp}, wn={wn})")
    u = top / 2 ** SCALE_BITS
    scales = np.array([round(wp / u), round(wn / u)], dtype=np.int32)
    return Weights("ternary", codes.astype(np.int8), scales), u


def _conv_layer(name: str, unit: ConvBN, src: str, in_shape: tuple[int, int, int],
                residual: tuple[str, int] | None = None) -> Layer:
    conv = unit.conv
    if isinstance(conv.weight_quant, Int8Weight):
        weights = Weights("int8", conv.weight_quant.int_codes(conv.weight).numpy())
        unit_value = Int8Weight.scales(conv.weight).double().numpy() / INPUT_DIVISOR
    else:
        weights, unit_value = ternary_weights(conv)
    a, b = bn_affine(unit.bn)
    out = fold_sign_threshold(a * unit_value, b, residual is not None)
    if residual is not None:
        out.residual, out.residual_stride = residual
    fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    weights, out = count_unit_thresholds(weights, out, fan_in)
    return conv_ir_layer(name, conv, src, in_shape, weights, out)


def conv_ir_layer(name: str, conv: QConv2d, src: str, in_shape: tuple[int, int, int],
                  weights: Weights, output: SignThreshold | Requant) -> Layer:
    """The IR conv2d of ``conv`` (geometry from the module) on a value of ``in_shape``."""
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    _, h, w = in_shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return Layer(name=name, op="conv2d", input=src, in_shape=in_shape,
                 out_shape=(conv.out_channels, oh, ow), kernel=k, stride=s, padding=p,
                 groups=conv.groups, weights=weights, output=output)


# -- 8-bit activations (IR v2) -----------------------------------------------------------------

#: Largest real multiplier a requantisation takes (``mult < 2**31``, ``shift ≥ 33``), and the
#: target that a ternary layer's integer scale brings every channel under: the bias is an
#: integer in accumulator units, so its rounding moves the output by up to half the multiplier
#: (2**-13 codes here; at 2**-3, 1.8 % of the first layer's codes came out one off the float
#: model's, and the difference grew layer by layer).
REQUANT_MAX = 2.0 ** -2
REQUANT_TARGET = 2.0 ** -12
#: Largest integer scale of a ternary int8-activation layer: accumulators stay below
#: 2**14 · 96 · 128 < 2**28, with room for the bias in int32.
A8_SCALE_MAX_BITS = 14
#: Residual-add multipliers are below 2**ADD_MULT_BITS (``trit_add_residual_s8``).
ADD_MULT_BITS = 22
#: Channels whose multiplier is below this are constant (their weights are dropped).
REQUANT_DEAD = 2.0 ** -22
#: Default width of the requantisation multipliers in the IR (16: version 5).
REQUANT_MULT_BITS = 16


def requantisation(m: np.ndarray, c: np.ndarray, act_min: int, mult_bits: int = 32) -> Requant:
    """Requant for ``y = clamp(round(m·acc + c), act_min, 127)`` per channel (``m ≥ 0``):
    ``mult·2**-shift ≈ m`` and ``bias ≈ c/m``. Multipliers above :data:`REQUANT_MAX` saturate;
    channels below :data:`REQUANT_DEAD` get ``m = 2**-20`` and ``bias = c·2**20`` (their
    accumulator must be 0: the caller drops their weights). ``mult_bits`` 16 rounds each
    ``mult`` to a multiple of 2**16 (IR version 5 stores it in 16 bits: ``m`` to a relative
    2**-15, which moves an output code by at most 127·2**-15 before its rounding)."""
    if mult_bits not in (16, 32):
        raise ValueError(f"mult_bits must be 16 or 32, not {mult_bits}")
    m = np.asarray(m, np.float64)
    c = np.asarray(c, np.float64)
    dead = m < REQUANT_DEAD
    m_eff = np.where(dead, 2.0 ** -20, np.minimum(m, REQUANT_MAX * (1 - 2.0 ** -30)))
    shift = 30 - np.floor(np.log2(m_eff)).astype(np.int64)
    drop = 32 - mult_bits  # low bits of mult that are zero
    mult = np.rint(m_eff * 2.0 ** (shift - drop)).astype(np.int64)
    carry = mult >= 2 ** (31 - drop)
    mult = np.where(carry, mult // 2, mult) << drop
    shift = np.where(carry, shift - 1, shift)
    bias = np.clip(np.rint(c / m_eff), -(2 ** 30), 2 ** 30)
    return Requant(bias=bias.astype(np.int32), mult=mult.astype(np.int32),
                   shift=shift.astype(np.int8), act_min=act_min, mult_bits=mult_bits)


def _a8_conv(name: str, unit: ConvBN, src: str, in_shape: tuple[int, int, int],
             in_scale: float, out_quant: UniformQuant, mult_bits: int) -> Layer:
    """A conv + batch norm + int8 quantizer as an IR v2 conv2d with a requant output.

    The real pre-activation is ``a·(v·acc) + b`` per channel (``v`` the real value of one
    accumulator unit); channels with ``a·v < 0`` get negated weights so that every multiplier
    is positive. Ternary layers take integer scales ``[k, k]`` with ``k`` a power of two that
    brings the largest multiplier below :data:`REQUANT_TARGET`.
    """
    conv = unit.conv
    a, b = bn_affine(unit.bn)
    s_out = out_quant.scale()
    if isinstance(conv.weight_quant, Int8Weight):
        values = conv.weight_quant.int_codes(conv.weight).numpy().astype(np.int8)
        v = Int8Weight.scales(conv.weight).double().numpy() / INPUT_DIVISOR
        k = None
    else:
        q = conv.weight_quant
        values = q.ternary_codes(conv.weight).numpy().astype(np.int8)
        v = np.full(conv.out_channels, float(q.wp) * in_scale)
        top = float(np.max(np.abs(a * v))) / s_out
        k = int(2 ** np.clip(np.ceil(np.log2(max(top, 1e-30) / REQUANT_TARGET)), 0,
                             A8_SCALE_MAX_BITS))
        v = v / k
    av = a * v
    flip = av < 0
    values = np.where(flip[:, None, None, None], -values, values).astype(np.int8)
    rq = requantisation(np.abs(av) / s_out, b / s_out, out_quant.lo, mult_bits)
    values[np.abs(av) / s_out < REQUANT_DEAD] = 0
    weights = Weights("int8", values) if k is None else \
        Weights("ternary", values, np.array([k, k], np.int32))
    return conv_ir_layer(name, conv, src, in_shape, weights, rq)


def _a8_add(name: str, branch: Layer, branch_scale: float, other: Layer, other_scale: float,
            stride: int, out_quant: UniformQuant) -> Layer:
    """``act(branch + shortcut(other))`` as an IR v2 add: ``ma/2**shift ≈ s_branch/s_out``."""
    s_out = out_quant.scale()
    ra, rb = branch_scale / s_out, other_scale / s_out
    shift = int(min(30, np.floor(np.log2((2 ** ADD_MULT_BITS - 1) / max(ra, rb)))))
    if shift < 1:
        raise ExportError(f"{name}: residual scales differ by more than 2**{ADD_MULT_BITS - 1}")
    add = AddParams(other=other.name, ma=int(round(ra * 2 ** shift)),
                    mb=int(round(rb * 2 ** shift)), shift=shift, act_min=out_quant.lo,
                    stride=stride)
    return Layer(name=name, op="add", input=branch.name, in_shape=branch.out_shape,
                 out_shape=branch.out_shape, add=add)


def _a8_block_convs(block: torch.nn.Module) -> list[tuple[str, torch.nn.Module, torch.nn.Module]]:
    """The convolutions of one ``ttq-all-a8`` block in order, as (IR part name, conv unit,
    the 8-bit quantizer of its output); the block's add follows them, quantized by
    ``block.act_out``."""
    return [("dw1", block.dw1, block.act_dw1), ("pw1", block.pw1, block.act_pw1),
            ("dw2", block.dw2, block.act_dw2), ("pw2", block.pw2, block.res_quant)]


def activation_layers(model: DWSResNet) -> list[tuple[str, torch.nn.Module]]:
    """The 8-bit activation quantizers of a ``ttq-all-a8`` model with the names of the IR
    layers whose int8 outputs they are (``stem``, ``s1b1.dw1`` … ``s1b1.pw2``, ``s1b1.add``)."""
    out: list[tuple[str, torch.nn.Module]] = [("stem", model.act_stem)]
    for bname, block in model.blocks.named_children():
        out += [(f"{bname}.{part}", quant) for part, _, quant in _a8_block_convs(block)]
        out.append((f"{bname}.add", block.act_out))
    return out


def _export_a8(model: DWSResNet, mult_bits: int) -> list[Layer]:
    layers = [_a8_conv("stem", model.stem, "input", (3, 32, 32), 1.0, model.act_stem,
                       mult_bits)]
    scale = model.act_stem.scale()
    for bname, block in model.blocks.named_children():
        block_in, in_scale = layers[-1], scale
        for part, unit, quant in _a8_block_convs(block):
            prev = layers[-1]
            layers.append(_a8_conv(f"{bname}.{part}", unit, prev.name, prev.out_shape, scale,
                                   quant, mult_bits))
            scale = quant.scale()
        layers.append(_a8_add(f"{bname}.add", layers[-1], scale, block_in, in_scale,
                              block.stride, block.act_out))
        scale = block.act_out.scale()
    return layers + _int8_head(model, layers[-1], scale)


def _int8_head(model: DWSResNet, last: Layer, scale: float) -> list[Layer]:
    """Pooling and the classifier after an int8 value ``last`` of quantizer step ``scale``."""
    c, h, w = last.out_shape
    pool = Layer(name="pool", op="global_sum_pool", input=last.name, in_shape=last.out_shape,
                 out_shape=(c,))
    q = model.fc.weight_quant
    codes = q.ternary_codes(model.fc.weight).numpy().astype(np.int8)
    u = float(q.wp) * model.fc.out_scale * scale / (h * w)  # one integer logit unit
    if u < 0:
        codes, u = -codes, -u
    bias = np.round(model.fc.bias.double().numpy() / u)
    if np.abs(bias).max(initial=0) >= 2 ** 30:
        raise ExportError("fc: the classifier bias does not fit int32")
    fc = Layer(name="fc", op="dense", input="pool", in_shape=(c,),
               out_shape=(model.fc.out_features,),
               weights=Weights("ternary", codes, np.array([1, 1], np.int32)),
               bias=bias.astype(np.int32))
    return [pool, fc]


# -- binary convolutions on an int8 stream (IR v3) ---------------------------------------------

def _export_bin_s8(model: DWSResNet, mult_bits: int) -> list[Layer]:
    """``ttq-all-bin-s8``: the stem requantised to the stream's int8 codes; per block the sign
    of its input, dw1/pw1/dw2 with folded thresholds as in the binary network, pw2 from
    binary inputs (one unit each) requantised to the branch's codes, and the int8 add."""
    layers = [_a8_conv("stem", model.stem, "input", (3, 32, 32), 1.0, model.act_stem,
                       mult_bits)]
    scale = model.act_stem.scale()
    for bname, block in model.blocks.named_children():
        block_in, in_scale = layers[-1], scale
        layers.append(Layer(name=f"{bname}.sign", op="sign", input=block_in.name,
                            in_shape=block_in.out_shape, out_shape=block_in.out_shape))
        for part, unit in (("dw1", block.dw1), ("pw1", block.pw1), ("dw2", block.dw2)):
            prev = layers[-1]
            layers.append(_conv_layer(f"{bname}.{part}", unit, prev.name, prev.out_shape))
        prev = layers[-1]
        layers.append(_a8_conv(f"{bname}.pw2", block.pw2, prev.name, prev.out_shape, 1.0,
                               block.res_quant, mult_bits))
        layers.append(_a8_add(f"{bname}.add", layers[-1], block.res_quant.scale(), block_in,
                              in_scale, block.stride, block.act_out))
        scale = block.act_out.scale()
    return layers + _int8_head(model, layers[-1], scale)


@torch.no_grad()
def export_model(model: DWSResNet, name: str = "model",
                 requant_mult_bits: int = REQUANT_MULT_BITS) -> ModelIR:
    """The integer IR of a trained ``ttq-all-bin``-style (binary activations, IR v1),
    ``ttq-all-a8``-style (8-bit activations, IR v2) or ``ttq-all-bin-s8`` (binary
    convolutions on an int8 stream, IR v3) model, with eval-mode batch norm.
    ``requant_mult_bits`` (16 or 32) is the width of the int8 layers' requantisation
    multipliers; 16 makes the file version 5 (7 bytes per channel instead of 9)."""
    check_exportable(model)
    model = model.cpu().eval()
    if requant_mult_bits not in (16, 32):
        raise ExportError(f"requantisation multipliers take 16 or 32 bits, not {requant_mult_bits}")
    if model.scheme.activation == "relu8" or model.scheme.stream == "int8":
        layers = _export_a8(model, requant_mult_bits) if model.scheme.activation == "relu8" \
            else _export_bin_s8(model, requant_mult_bits)
        return ModelIR(name=name, input_shape=(3, 32, 32), layers=layers,
                       input_offset=INPUT_OFFSET, classes=list(CLASSES),
                       meta={"producer": "trit export", "model_config": model.config,
                             **({"scale_bits": SCALE_BITS} if model.scheme.stream == "int8"
                                else {})},
                       version=required_version(layers))
    layers = [_conv_layer("stem", model.stem, "input", (3, 32, 32))]
    for bname, block in model.blocks.named_children():
        block_in = layers[-1]
        chain = [("dw1", block.dw1), ("pw1", block.pw1), ("dw2", block.dw2)]
        for part, unit in chain:
            prev = layers[-1]
            layers.append(_conv_layer(f"{bname}.{part}", unit, prev.name, prev.out_shape))
        prev = layers[-1]
        layers.append(_conv_layer(f"{bname}.pw2", block.pw2, prev.name, prev.out_shape,
                                  residual=(block_in.name, block.stride)))
    last = layers[-1]
    c, h, w = last.out_shape
    layers.append(Layer(name="pool", op="global_sum_pool", input=last.name,
                        in_shape=last.out_shape, out_shape=(c,)))
    fc_weights, u = ternary_weights(model.fc)
    u *= model.fc.out_scale
    bias = np.round(model.fc.bias.double().numpy() * (h * w) / u).astype(np.int32)
    layers.append(Layer(name="fc", op="dense", input="pool", in_shape=(c,),
                        out_shape=(model.fc.out_features,), weights=fc_weights, bias=bias))
    return ModelIR(name=name, input_shape=(3, 32, 32), layers=layers, input_offset=INPUT_OFFSET,
                   classes=list(CLASSES), meta={"producer": "trit export",
                                                "model_config": model.config,
                                                "scale_bits": SCALE_BITS},
                   version=required_version(layers))

