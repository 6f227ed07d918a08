"""Export a trained model to the deployment IR: integer weights, batch norm + sign folded into
per-channel integer thresholds (docs/ir.md gives the semantics)."""

from __future__ import annotations

import math

import numpy as np
import torch

from codegen.ir import INT32_MAX, INT32_MIN, IR_VERSION, Layer, ModelIR, SignThreshold, Weights

from .data import CLASSES
from .layers import QConv2d, QLinear
from .models import ConvBN, DWSResNet
from .models.dws_resnet import INPUT_DIVISOR, INPUT_OFFSET
from .quant import Int8Weight, TTQTernary

#: Ternary scales become integers ``wp_q, wn_q`` with ``max(|wp_q|, |wn_q|) = 2**SCALE_BITS``.
SCALE_BITS = 12


class ExportError(ValueError):
    """The model has a part without an exact integer form in IR version 1."""


def check_exportable(model: DWSResNet) -> None:
    s = model.scheme
    problems = []
    if s.activation != "sign":
        problems.append(f"activation is {s.activation!r}; IR v{IR_VERSION} deploys sign "
                        "activations only (variant ttq-all-bin)")
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
    k, s, p = conv.kernel_size[0], conv.stride[0], conv.padding[0]
    cin, h, w = in_shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return Layer(name=name, op="conv2d", input=src, in_shape=in_shape,
                 out_shape=(conv.out_channels, oh, ow), kernel=k, stride=s, padding=p,
                 groups=conv.groups, weights=weights, output=out)


@torch.no_grad()
def export_model(model: DWSResNet, name: str = "model") -> ModelIR:
    """The integer IR of a trained ``ttq-all-bin``-style model (eval-mode batch norm)."""
    check_exportable(model)
    model = model.cpu().eval()
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
                                                "scale_bits": SCALE_BITS})

