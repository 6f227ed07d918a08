"""Quantizers: small modules with a forward and a straight-through backward.

Weight quantizers map a latent float weight tensor to the weight the layer convolves with;
activation quantizers map pre-activations to the values the next layer sees. Layers receive
quantizer instances as constructor arguments (see :mod:`trainer.layers`).
"""

from .activations import (ActivationQuantizer, OrderedDither, ReLU, ReLU8, Signed8,
                          SignOfCodes, SignSTE, UniformQuant, dither_mask)
from .weights import Int8Weight, Passthrough, TTQTernary, WeightQuantizer

__all__ = ["ActivationQuantizer", "Int8Weight", "OrderedDither", "Passthrough", "ReLU", "ReLU8",
           "Signed8", "SignOfCodes", "SignSTE", "TTQTernary", "UniformQuant", "WeightQuantizer", "dither_mask"]
