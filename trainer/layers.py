"""Layers whose weights pass through a weight quantizer given as a constructor argument."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .quant import Passthrough, WeightQuantizer


class QConv2d(nn.Conv2d):
    """``nn.Conv2d`` (no bias) that convolves with ``weight_quant(weight)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *,
                 stride: int = 1, padding: int = 0, groups: int = 1,
                 weight_quant: WeightQuantizer | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, groups=groups, bias=False)
        self.weight_quant = weight_quant if weight_quant is not None else Passthrough()

    def quantized_weight(self) -> torch.Tensor:
        return self.weight_quant(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.quantized_weight(), None, self.stride, self.padding,
                        self.dilation, self.groups)


class QLinear(nn.Linear):
    """``nn.Linear`` (float bias) computing ``out_scale · (weight_quant(weight) @ x) + bias``.

    ``out_scale`` is a constant: ``1/√in_features`` by default for ternary weights, so that
    weights of scale ~1 start with logits of unit size, and 1 otherwise (a smaller constant
    would slow the classifier's learning under Adam). Deployment folds it into the bias.
    """

    def __init__(self, in_features: int, out_features: int, *,
                 weight_quant: WeightQuantizer | None = None,
                 out_scale: float | None = None) -> None:
        super().__init__(in_features, out_features, bias=True)
        self.weight_quant = weight_quant if weight_quant is not None else Passthrough()
        if out_scale is None:
            out_scale = in_features ** -0.5 if self.weight_quant.kind == "ternary" else 1.0
        self.out_scale = out_scale

    def quantized_weight(self) -> torch.Tensor:
        return self.weight_quant(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.quantized_weight() * self.out_scale, self.bias)
