"""Depthwise-separable ResNet-20 for CIFAR-10.

The CIFAR ResNet-20 of He et al. (a 3×3 input convolution, three stages of three basic blocks
at widths ``w, 2w, 4w`` on 32×32, 16×16 and 8×8 maps, global average pooling, a linear
classifier) with every 3×3 convolution after the input one replaced by a depthwise 3×3 and a
pointwise 1×1 convolution, each followed by batch norm and the activation. Shortcuts are
parameter-free ("option A"): identity, or stride-2 subsampling with zero channels appended
when a stage doubles the width. A block computes::

    h = act(bn(dw1(x)));  h = act(bn(pw1(h)));  h = act(bn(dw2(h)))
    out = act(q(bn(pw2(h))) + shortcut(x))

where ``q`` is the scheme's residual quantizer (signed int8 with 8-bit activations or an int8
stream, else the identity). With an int8 stream (variant ``ttq-all-bin-s8``) ``x`` and ``out``
are signed int8 codes and the block binarises its input first: ``dw1(act(x))``, and the final
``act`` is the stream's int8 quantizer.

The first block of stages 2 and 3 downsamples in ``dw1`` (stride 2). With ``stem_stride=2`` the
input convolution downsamples too (stages on 16×16, 8×8 and 4×4 maps: about a quarter of the
MACs and of the activation memory, the same weights). With ``stage1_stride=2`` the input
convolution keeps the full 32×32 map and the first block of stage 1 downsamples in ``dw1``
instead (its shortcut subsamples the input convolution's map): the same stage maps as with
``stem_stride=2``, the same weights, the input convolution's MACs four times theirs.
``stage1_width`` sets stage 1's channels (and the input convolution's) apart from ``width``,
which then sets stages 2 and 3 (``2w``, ``4w``) alone. The model takes uint8
pixels and normalises them as ``(p − 128) / 64`` so that zero padding of the normalised image
equals padding with pixel value 128 (an exact integer form for deployment).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import QConv2d, QLinear
from ..quant import ActivationQuantizer
from .schemes import VARIANTS, QuantScheme

INPUT_OFFSET = 128
INPUT_DIVISOR = 64.0
NUM_CLASSES = 10


class _ChannelsLastGradient(torch.autograd.Function):
    """The identity, whose backward hands on its gradient in channels-last layout.

    The backward passes of the pooled head (``mean`` over H and W) and of the subsampling,
    zero-padded shortcut make gradients in NCHW layout; through the residual adds they would
    reach the blocks' quantizers and batch norms, whose tensors are channels-last, and
    elementwise work on tensors of two layouts is several times slower on the CPU than on
    one."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        return g.contiguous(memory_format=torch.channels_last)


def channels_last_gradient(x: torch.Tensor) -> torch.Tensor:
    """``x``, with its gradient made channels-last on the way back (training only)."""
    return _ChannelsLastGradient.apply(x) if x.requires_grad else x


class ConvBN(nn.Module):
    """A quantized convolution followed by batch norm (no activation)."""

    def __init__(self, conv: QConv2d) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(conv.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def shortcut(x: torch.Tensor, out_channels: int, stride: int) -> torch.Tensor:
    """Option-A shortcut: subsample by ``stride``, append zero channels up to ``out_channels``."""
    if stride > 1 or out_channels > x.shape[1]:
        x = channels_last_gradient(x)
    if stride > 1:
        x = x[:, :, ::stride, ::stride]
    extra = out_channels - x.shape[1]
    if extra > 0:
        x = F.pad(x, (0, 0, 0, 0, 0, extra))
    return x


class DWSBlock(nn.Module):
    """Basic block with both 3×3 convolutions made depthwise-separable."""

    def __init__(self, cin: int, cout: int, stride: int, scheme: QuantScheme) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        wq = scheme.weight_quantizer
        self.dw1 = ConvBN(QConv2d(cin, cin, 3, stride=stride, padding=1, groups=cin,
                                  weight_quant=wq("depthwise")))
        self.pw1 = ConvBN(QConv2d(cin, cout, 1, weight_quant=wq("pointwise")))
        self.dw2 = ConvBN(QConv2d(cout, cout, 3, padding=1, groups=cout,
                                  weight_quant=wq("depthwise")))
        self.pw2 = ConvBN(QConv2d(cout, cout, 1, weight_quant=wq("pointwise")))
        self.act_in: nn.Module = scheme.block_input_quantizer()
        self.act_dw1: ActivationQuantizer = scheme.activation_quantizer()
        self.act_pw1: ActivationQuantizer = scheme.activation_quantizer()
        self.act_dw2: ActivationQuantizer = scheme.activation_quantizer()
        self.act_out: ActivationQuantizer = scheme.stream_quantizer()
        self.res_quant = scheme.residual_quantizer()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act_dw1(self.dw1(self.act_in(x)))
        h = self.act_pw1(self.pw1(h))
        h = self.act_dw2(self.dw2(h))
        return self.act_out(self.res_quant(self.pw2(h)) + shortcut(x, self.cout, self.stride))


class DWSResNet(nn.Module):
    """Depthwise-separable ResNet (``blocks_per_stage=3`` gives ResNet-20)."""

    def __init__(self, scheme: QuantScheme, width: int = 16, blocks_per_stage: int = 3,
                 num_classes: int = NUM_CLASSES, stem_stride: int = 1,
                 stage1_stride: int = 1, stage1_width: int | None = None) -> None:
        super().__init__()
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
        if stage1_stride not in (1, 2):
            raise ValueError(f"stage1_stride must be 1 or 2, got {stage1_stride}")
        self.scheme = scheme
        self.config = {"arch": "dws-resnet", "width": width,
                       "blocks_per_stage": blocks_per_stage, "num_classes": num_classes,
                       "scheme": scheme.to_dict()}
        if stem_stride != 1:  # absent from the configs of stride-1 models (older checkpoints)
            self.config["stem_stride"] = stem_stride
        if stage1_stride != 1:
            self.config["stage1_stride"] = stage1_stride
        if stage1_width is not None and stage1_width != width:
            if stage1_width < 1:
                raise ValueError(f"stage1_width must be positive, got {stage1_width}")
            self.config["stage1_width"] = stage1_width
        widths = stage_widths(self.config)
        self.stem = ConvBN(QConv2d(3, widths[0], 3, stride=stem_stride, padding=1,
                                   weight_quant=scheme.weight_quantizer("stem")))
        self.act_stem = scheme.stream_quantizer()
        blocks: list[tuple[str, DWSBlock]] = []
        cin = widths[0]
        for stage in range(3):
            cout = widths[stage]
            for b in range(blocks_per_stage):
                stride = 1 if b else (stage1_stride if stage == 0 else 2)
                blocks.append((f"s{stage + 1}b{b + 1}", DWSBlock(cin, cout, stride, scheme)))
                cin = cout
        self.blocks = nn.Sequential()
        for name, block in blocks:
            self.blocks.add_module(name, block)
        self.fc = QLinear(cin, num_classes, weight_quant=scheme.weight_quantizer("classifier"))

    @staticmethod
    def normalise(images: torch.Tensor) -> torch.Tensor:
        """uint8 pixels → float ``(p − 128) / 64``."""
        return (images.float() - INPUT_OFFSET) / INPUT_DIVISOR

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Activations entering global pooling, ``[N, 4w, 8, 8]`` (``4×4`` with a stride-2
        stem or first block)."""
        x = self.act_stem(self.stem(self.normalise(images)))
        return self.blocks(x)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(channels_last_gradient(self.features(images)).mean(dim=(2, 3)))


def stage_widths(config: dict) -> tuple[int, int, int]:
    """Channels of the three stages of a model config: ``stage1_width`` (default ``width``),
    ``2·width``, ``4·width``."""
    w = config["width"]
    return (config.get("stage1_width") or w, 2 * w, 4 * w)


def build_model(variant: str | QuantScheme = "ttq-all-bin", width: int = 16,
                blocks_per_stage: int = 3, stem_stride: int = 1,
                stage1_stride: int = 1, stage1_width: int | None = None) -> DWSResNet:
    """Build a DWS-ResNet from a variant name (see :mod:`.schemes`) or a scheme."""
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        variant = VARIANTS[variant]
    return DWSResNet(variant, width=width, blocks_per_stage=blocks_per_stage,
                     stem_stride=stem_stride, stage1_stride=stage1_stride,
                     stage1_width=stage1_width)


def model_from_config(config: dict) -> DWSResNet:
    """Rebuild a model from the ``config`` dict stored in checkpoints."""
    if config.get("arch") != "dws-resnet":
        raise ValueError(f"unknown architecture {config.get('arch')!r} in checkpoint")
    return DWSResNet(QuantScheme(**config["scheme"]), width=config["width"],
                     blocks_per_stage=config["blocks_per_stage"],
                     num_classes=config["num_classes"],
                     stem_stride=config.get("stem_stride", 1),
                     stage1_stride=config.get("stage1_stride", 1),
                     stage1_width=config.get("stage1_width"))
