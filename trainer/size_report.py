"""Weight-storage report of a PyTorch model, layer by layer, as deployed.

Counted per layer: weights (2 bits ternary, 8 bits int8, 32 bits float), the two TTQ scales
(2 × 32 bits), and what batch norm becomes: with binary activations a threshold per channel
(three per channel when a residual is added before the sign) plus a 1-bit direction flag per
channel, the threshold one byte for ternary layers with one scale on binary inputs of up to 126
products (two bytes beyond; IR version 4 counts them in units of one product) and four
otherwise; with 8-bit activations a requantisation per channel (int32 bias, a 16-bit multiplier
as IR version 5 stores it or a 32-bit one, int8 shift) and, per residual add, two int32
multipliers and an int32 shift; with float activations a float32 scale and shift per channel.
The classifier adds one 32-bit bias per class; with an int8 stream (``ttq-all-bin-s8``) the
input convolution and each block's last layer count a requantisation and each block an add.
For exportable models this equals the IR's own count.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from codegen.ir.count_units import threshold_dtype
from codegen.ir.storage import BITS, StorageReport, StorageRow, nbytes

from .layers import QConv2d, QLinear
from .models import ConvBN, DWSResNet


def _kind(conv: QConv2d) -> str:
    k = conv.kernel_size[0]
    if conv.groups > 1:
        return f"dw{k}x{k}"
    return f"pw{k}x{k}" if k == 1 else f"conv{k}x{k}"


def _row(name: str, layer: nn.Module, kind: str, threshold_bytes: int) -> StorageRow:
    q = layer.weight_quant
    w = layer.weight
    return StorageRow(name=name, kind=kind, shape="x".join(map(str, w.shape)),
                      weight_format=q.kind, params=w.numel(),
                      weight_bytes=nbytes(w.numel(), BITS[q.kind]),
                      scale_bytes=q.scale_bytes, threshold_bytes=threshold_bytes)


def requant_bytes_per_channel(mult_bits: int = 16) -> int:
    """Bytes per channel of a requantisation: int32 bias, the multiplier in ``mult_bits``
    (16 by default, IR version 5; 32 before), int8 shift."""
    return 4 + mult_bits // 8 + 1


#: Bytes of a residual add's parameters (int32 ma, mb, shift).
ADD_BYTES = 12


def threshold_bytes(conv: QConv2d, shared_scale: bool) -> int:
    """Bytes of one of ``conv``'s thresholds as the export stores them (binary inputs)."""
    if conv.weight_quant.kind != "ternary" or not shared_scale:
        return 4
    fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    return np.dtype(threshold_dtype(fan_in)).itemsize


def _bn_bytes(channels: int, act: str, residual: bool, thr_bytes: int = 4,
              mult_bits: int = 16) -> int:
    if act == "binary":
        return thr_bytes * channels * (3 if residual else 1) + nbytes(channels, 1)
    if act == "int8":
        return requant_bytes_per_channel(mult_bits) * channels
    return 8 * channels


def model_storage(model: DWSResNet, requant_mult_bits: int = 16) -> StorageReport:
    """Per-layer storage of a :class:`DWSResNet`, named as in the IR. With an int8 stream
    (``ttq-all-bin-s8``) the input convolution and each block's last layer requantise to int8
    and each block ends in an add; the other layers count as the activation says.
    ``requant_mult_bits`` is the export's multiplier width (``trit export
    --requant-mult-bits``)."""
    act = {"relu8": "int8", "relu": "float"}.get(model.scheme.activation, "binary")
    stream = "int8" if model.scheme.stream == "int8" else act
    rows = []

    def add(name: str, unit: ConvBN, act: str, residual: bool = False) -> None:
        thr = threshold_bytes(unit.conv, model.scheme.ttq_shared_scale)
        rows.append(_row(name, unit.conv, _kind(unit.conv),
                         _bn_bytes(unit.conv.out_channels, act, residual, thr,
                                   requant_mult_bits)))

    add("stem", model.stem, stream)
    for bname, block in model.blocks.named_children():
        add(f"{bname}.dw1", block.dw1, act)
        add(f"{bname}.pw1", block.pw1, act)
        add(f"{bname}.dw2", block.dw2, act)
        add(f"{bname}.pw2", block.pw2, stream, residual=True)
        if stream == "int8":
            rows.append(StorageRow(name=f"{bname}.add", kind="add", shape="-",
                                   weight_format="-", params=0, weight_bytes=0, scale_bytes=0,
                                   threshold_bytes=ADD_BYTES))
    fc: QLinear = model.fc
    rows.append(_row("fc", fc, "dense", 4 * fc.out_features))
    return StorageReport(rows)
