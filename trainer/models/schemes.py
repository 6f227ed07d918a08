"""Quantization schemes: which quantizer each kind of layer gets.

The named variants follow the papers' depthwise-separable ResNet-20 experiments:

===============  =======  =========  ==========  ==========  ==========
variant          stem     depthwise  pointwise   classifier  activation
===============  =======  =========  ==========  ==========  ==========
``fp``           float    float      float       float       relu
``fp-bin``       int8     float      float       float       sign
``ttq-pw``       float    float      ternary     float       relu
``ttq-all``      float    ternary    ternary     ternary     relu
``ttq-all-bin``  int8     ternary    ternary     ternary     sign
``ttq-all-a8``   int8     ternary    ternary     ternary     relu8
===============  =======  =========  ==========  ==========  ==========

``ttq-all-bin-sym`` is ``ttq-all-bin`` with one trained scale per layer (``Wp = Wn``): with
binary activations a layer's scale only moves its threshold, and equal scales let the
optimised kernels count one popcount chain per weight word and compare counts directly
(firmware/kernels/armv7em).

``fp-bin`` is the binary network with its ternary layers left in float: not deployable, it
measures what the ternary weights cost a binary-activation network and is the first stage of a
two-stage schedule (train it, then fine-tune ``ttq-all-bin-sym`` from its weights with
``init_from``, which starts fresh TTQ scales from them).

``ttq-pw`` is the papers' "TTQ on 1×1 convolutions only" network (~32 kB), ``ttq-all`` the
"TTQ on all layers but the first" one (~11 kB); ``ttq-all-bin`` adds binary activations and
keeps the input convolution in int8 so that every layer has an exact integer form (it is the
variant ``trit export`` deploys).

``ttq-all-bin-s8`` keeps the binary convolutions of ``ttq-all-bin-sym`` but carries the residual
stream between blocks as signed int8 (Bi-Real Net's real-valued shortcuts, quantized): the input
convolution and every block's output are :class:`~trainer.quant.Signed8` codes, each block
binarises its input before the first depthwise convolution, and the block's last batch norm is
quantized to signed int8 before the add, so the shortcut carries 8 bits instead of the sign.
``trit export`` writes it as IR version 3 (a ``sign`` layer at each block input).

``ttq-all-a8`` has 8-bit activations: ReLU outputs quantized to int8 codes 0…127 with a
learned step (:class:`~trainer.quant.ReLU8`), the residual branch quantized to signed int8
before the add (:class:`~trainer.quant.Signed8`), and one scale per ternary layer, so that a
layer's sum is ``Σ code·x`` over int8 inputs and the scale folds into the requantisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from ..quant import (ActivationQuantizer, Int8Weight, OrderedDither, Passthrough, ReLU, ReLU8,
                     Signed8, SignOfCodes, SignSTE, TTQTernary, WeightQuantizer)

WEIGHT_FORMATS = ("float", "int8", "ternary")
ACTIVATIONS = ("relu", "sign", "dither2d", "dither3d", "relu8")
#: What a block passes on: the activation's output, or signed int8 codes (a residual stream).
STREAMS = ("activation", "int8")


@dataclass(frozen=True)
class QuantScheme:
    """Weight format per layer kind and the activation used between layers."""

    stem: str = "int8"
    depthwise: str = "ternary"
    pointwise: str = "ternary"
    classifier: str = "ternary"
    activation: str = "sign"
    ttq_t: float = 0.05
    ttq_shared_scale: bool = False
    stream: str = "activation"

    def __post_init__(self) -> None:
        for field in ("stem", "depthwise", "pointwise", "classifier"):
            if getattr(self, field) not in WEIGHT_FORMATS:
                raise ValueError(f"quantization scheme: {field} must be one of "
                                 f"{', '.join(WEIGHT_FORMATS)}, got {getattr(self, field)!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"quantization scheme: activation must be one of "
                             f"{', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.stream not in STREAMS:
            raise ValueError(f"quantization scheme: stream must be one of {', '.join(STREAMS)}, "
                             f"got {self.stream!r}")
        if self.stream == "int8" and self.activation != "sign":
            raise ValueError("quantization scheme: an int8 stream goes with binary activations "
                             f"(sign), not {self.activation!r}")

    def weight_quantizer(self, layer_kind: str) -> WeightQuantizer:
        """A fresh quantizer for a layer of kind ``stem|depthwise|pointwise|classifier``."""
        fmt = getattr(self, layer_kind)
        if fmt == "ternary":
            return TTQTernary(t=self.ttq_t, shared_scale=self.ttq_shared_scale)
        if fmt == "int8":
            return Int8Weight()
        return Passthrough()

    def activation_quantizer(self) -> ActivationQuantizer:
        if self.activation == "sign":
            return SignSTE()
        if self.activation.startswith("dither"):
            return OrderedDither(three_d=self.activation == "dither3d")
        if self.activation == "relu8":
            return ReLU8()
        return ReLU()

    def residual_quantizer(self) -> nn.Module:
        """Applied to a block's branch before the shortcut is added: signed int8 with 8-bit
        activations or an int8 stream (the deployed add takes two int8 tensors), the identity
        otherwise."""
        return Signed8() if self.activation == "relu8" or self.stream == "int8" else nn.Identity()

    def stream_quantizer(self) -> ActivationQuantizer:
        """Applied to the input convolution's output and to each block's sum: the activation,
        or signed int8 codes with an int8 stream."""
        return Signed8() if self.stream == "int8" else self.activation_quantizer()

    def block_input_quantizer(self) -> nn.Module:
        """Applied to a block's input before its first convolution: with an int8 stream the
        sign of its codes (the convolutions see binary values; code 0 is +1), else the
        identity (the stream is already the activation's output)."""
        return SignOfCodes() if self.stream == "int8" else nn.Identity()

    def to_dict(self) -> dict:
        """The fields as a dict; ``stream`` only when it is not the default (the configs of
        checkpoints written before it existed stay comparable)."""
        d = asdict(self)
        if d["stream"] == "activation":
            del d["stream"]
        return d


VARIANTS: dict[str, QuantScheme] = {
    "fp": QuantScheme(stem="float", depthwise="float", pointwise="float", classifier="float",
                      activation="relu"),
    "fp-bin": QuantScheme(stem="int8", depthwise="float", pointwise="float", classifier="float",
                          activation="sign"),
    "ttq-pw": QuantScheme(stem="float", depthwise="float", pointwise="ternary",
                          classifier="float", activation="relu"),
    "ttq-all": QuantScheme(stem="float", depthwise="ternary", pointwise="ternary",
                           classifier="ternary", activation="relu"),
    "ttq-all-bin": QuantScheme(stem="int8", depthwise="ternary", pointwise="ternary",
                               classifier="ternary", activation="sign"),
    "ttq-all-bin-sym": QuantScheme(stem="int8", depthwise="ternary", pointwise="ternary",
                                   classifier="ternary", activation="sign",
                                   ttq_shared_scale=True),
    "ttq-all-bin-s8": QuantScheme(stem="int8", depthwise="ternary", pointwise="ternary",
                                  classifier="ternary", activation="sign",
                                  ttq_shared_scale=True, stream="int8"),
    "ttq-all-a8": QuantScheme(stem="int8", depthwise="ternary", pointwise="ternary",
                              classifier="ternary", activation="relu8", ttq_shared_scale=True),
}
