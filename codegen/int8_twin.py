"""The int8 twin of a binary-activation model: the same network as an ordinary int8
deployment would run it, for end-to-end cost comparisons on the device.

Every convolution keeps its shape, stride and padding but takes 8-bit weights and int8
activations: its output is requantised to int8 with a ReLU (``Requant``), the residual that the
binary model folds into a pointwise layer's thresholds becomes an ``add`` layer of two int8 maps
(option-A shortcut, as the binary model's), and the pooling sums int8 maps. The weights are the
binary model's: the input convolution's int8 weights as they are, the ternary codes times
:data:`CODE_SCALE` elsewhere; the classifier stays the binary model's dense layer on the pooled
sums. Each requantisation is calibrated on a few images so that the layer's outputs span the
int8 range: a per-channel bias that centres the accumulators (the median over the calibration
images) and one multiplier per layer that maps the 99.9th percentile of the centred positive
accumulators to :data:`TARGET_CODE`.

The twin's accuracy means nothing (nobody trained it); its instruction counts and its memory
are those of an int8 network of the binary model's shape, and ``trit bench`` checks it
bit-exactly against the reference interpreter like any model.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .ir.model import (AddParams, Layer, ModelIR, Requant, SignThreshold, Weights,
                       required_version, validate)
from .reference import conv2d_acc, residual_add

CODE_SCALE = 64            # int8 weight of a ternary code ±1
TARGET_CODE = 100          # int8 output of the 99.9th percentile of a layer's accumulators
ADD = dict(ma=1 << 14, mb=1 << 14, shift=15)   # residual add: (a + b) / 2, rounded
CALIBRATION_IMAGES = 64    # training images that set the requantisation ranges by default


class TwinError(ValueError):
    """The model is not one the twin can mirror (not a binary-activation network)."""


def is_binary_model(ir: ModelIR) -> bool:
    """Whether every value of ``ir`` but the input image is binary (no requantised maps, adds
    or sign layers): the models an int8 twin mirrors."""
    return not any(layer.op in ("add", "sign") or isinstance(layer.output, Requant)
                   for layer in ir.layers)


def requant_for(acc: np.ndarray) -> Requant:
    """A ReLU requantisation of accumulators ``[N, C, H, W]``: per-channel bias (minus the
    median), one multiplier ``mult / 2**shift`` for the layer (``mult`` in ``[2**30, 2**31)``,
    ``shift`` in ``[33, 62]``, as the IR requires)."""
    c = acc.shape[1]
    per_channel = acc.transpose(1, 0, 2, 3).reshape(c, -1).astype(np.float64)
    median = np.median(per_channel, axis=1)
    bias = np.clip(-np.rint(median), -2 ** 31, 2 ** 31 - 1).astype(np.int32)
    centred = per_channel + bias[:, None]
    top = float(np.percentile(centred[centred > 0], 99.9)) if (centred > 0).any() else 1.0
    factor = TARGET_CODE / max(top, 1.0)
    exponent = math.floor(math.log2(factor))
    shift = min(max(30 - exponent, 33), 62)
    mult = int(round(factor * 2.0 ** shift))
    if mult >= 2 ** 31:
        mult, shift = mult // 2, shift - 1
    mult = min(max(mult, 2 ** 30), 2 ** 31 - 1)
    return Requant(bias=bias, mult=np.full(c, mult, np.int32),
                   shift=np.full(c, shift, np.int8), act_min=0)


def _int8_weights(layer: Layer) -> Weights:
    w = layer.weights
    if w.format == "int8":
        return Weights("int8", w.values.copy())
    return Weights("int8", (w.values.astype(np.int16) * CODE_SCALE).astype(np.int8))


def int8_twin(ir: ModelIR, images: np.ndarray) -> ModelIR:
    """The int8 twin of binary-activation model ``ir``, calibrated on uint8 ``images``
    ``[N, 3, H, W]`` (a few dozen training images are enough)."""
    if not is_binary_model(ir):
        raise TwinError(f"{ir.name!r} already has int8 activations: the twin mirrors "
                        "binary-activation models")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != tuple(ir.input_shape):
        raise TwinError(f"calibration images must be uint8 [N, "
                        f"{', '.join(map(str, ir.input_shape))}]")
    rename: dict[str, str] = {"input": "input"}   # binary value -> the twin's value
    values: dict[str, np.ndarray] = {"input": images.astype(np.int64) - ir.input_offset}
    layers: list[Layer] = []
    for layer in ir.layers:
        src = rename[layer.input]
        if layer.op == "conv2d":
            if not isinstance(layer.output, SignThreshold):
                raise TwinError(f"layer {layer.name!r}: expected a binary (thresholded) output")
            conv = replace(layer, input=src, weights=_int8_weights(layer), output=None)
            acc = conv2d_acc(conv, values[src])
            conv.output = requant_for(acc)
            values[conv.name] = conv.output.apply(acc)
            layers.append(conv)
            rename[layer.name] = conv.name
            if layer.output.residual is not None:
                add = Layer(name=f"{layer.name}.add", op="add", input=conv.name,
                            in_shape=conv.out_shape, out_shape=conv.out_shape,
                            add=AddParams(other=rename[layer.output.residual], act_min=0,
                                          stride=layer.output.residual_stride, **ADD))
                values[add.name] = residual_add(add, values[conv.name], values)
                layers.append(add)
                rename[layer.name] = add.name
        elif layer.op in ("global_sum_pool", "dense"):   # nothing to calibrate after them
            layers.append(replace(layer, input=src))
            rename[layer.name] = layer.name
        else:
            raise TwinError(f"layer {layer.name!r}: op {layer.op!r} has no int8 twin")
    twin = ModelIR(name=f"{ir.name}-int8-twin", input_shape=ir.input_shape, layers=layers,
                   input_offset=ir.input_offset, classes=list(ir.classes),
                   meta={"int8_twin_of": ir.name, "calibration_images": int(len(images)),
                         "code_scale": CODE_SCALE},
                   version=required_version(layers))
    validate(twin, f"int8 twin of {ir.name}")
    return twin
