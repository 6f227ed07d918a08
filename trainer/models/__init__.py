"""Model definitions: the depthwise-separable ResNet-20 family and its quantization schemes."""

from .dws_resnet import (ConvBN, DWSBlock, DWSResNet, build_model, model_from_config,
                         stage_widths)
from .schemes import VARIANTS, QuantScheme

__all__ = ["ConvBN", "DWSBlock", "DWSResNet", "QuantScheme", "VARIANTS", "build_model",
           "model_from_config", "stage_widths"]
