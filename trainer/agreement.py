"""Compare the PyTorch model (eval mode) with the integer reference interpreter of its IR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from codegen import reference
from codegen.ir import ModelIR


@dataclass
class Agreement:
    images: int
    agreement: float          # fraction of images with the same predicted class
    float_accuracy: float
    reference_accuracy: float


@torch.no_grad()
def float_vs_reference(model: torch.nn.Module, ir: ModelIR, images: np.ndarray,
                       labels: np.ndarray, batch_size: int = 500) -> Agreement:
    model = model.cpu().eval()
    fp = np.concatenate([model(torch.from_numpy(images[i:i + batch_size])).argmax(1).numpy()
                         for i in range(0, len(images), batch_size)])
    ref = reference.predict(ir, images, batch_size)
    return Agreement(images=len(images), agreement=float((fp == ref).mean()),
                     float_accuracy=float((fp == labels).mean()),
                     reference_accuracy=float((ref == labels).mean()))
