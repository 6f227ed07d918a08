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


@dataclass
class LayerDivergence:
    """How far one int8 layer of the PyTorch model is from the integer reference, in codes.

    ``free``: fraction of its output codes that differ when both run the images end to end
    (differences from earlier layers included). ``own``: the fraction that differ when the
    PyTorch layer gets the reference's own inputs (its own rounding only), and ``own_margin``:
    the largest distance from a rounding boundary (half a code) among those, in codes."""
    layer: str
    values: int
    free: float
    own: float
    own_margin: float


@torch.no_grad()
def layer_divergence(model: torch.nn.Module, ir: ModelIR,
                     images: np.ndarray) -> list[LayerDivergence]:
    """Per int8 layer of a ``ttq-all-a8`` model, PyTorch (eval) against the integer reference
    interpreter on ``images`` (uint8 [N, 3, 32, 32]); see :class:`LayerDivergence`."""
    from .export import activation_layers
    from .quant import UniformQuant, lsq
    model = model.cpu().eval()
    pairs = activation_layers(model)
    if not all(isinstance(q, UniformQuant) for _, q in pairs):
        raise ValueError("per-layer divergence needs a model with 8-bit activations (ttq-all-a8)")
    want = reference.run(ir, images, keep=True)
    x = torch.from_numpy(np.asarray(images))
    free: dict[str, np.ndarray] = {}
    own: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def record(name):
        def hook(q, inp, out):
            free[name] = torch.round(out / (q.step.abs() + 1e-8)).numpy()
        return hook

    def substitute(name):
        def hook(q, inp, out):
            s = q.step.abs() + 1e-8
            _, pre, codes, _ = lsq.forward_eager(inp[0], s, q.lo, q.hi)  # the quantizer's own
            own[name] = pre.numpy(), codes.numpy()
            return torch.from_numpy(want[name].astype(np.float32)) * s
        return hook

    for make, sink in ((record, free), (substitute, own)):
        handles = [q.register_forward_hook(make(name)) for name, q in pairs]
        try:
            model(x)
        finally:
            for h in handles:
                h.remove()
    rows = []
    for name, _ in pairs:
        ref = want[name]
        pre, codes = own[name]
        miss = codes != ref
        margin = np.abs(np.abs(pre[miss] - np.floor(pre[miss])) - 0.5)
        rows.append(LayerDivergence(name, int(ref.size), float((free[name] != ref).mean()),
                                    float(miss.mean()),
                                    float(margin.max()) if miss.any() else 0.0))
    return rows


def format_divergence(rows: list[LayerDivergence]) -> str:
    head = f"{'layer':10s} {'values':>9s} {'end to end':>11s} {'own inputs':>11s} {'margin':>9s}"
    lines = [head, "-" * len(head)]
    lines += [f"{r.layer:10s} {r.values:9d} {r.free:10.4%} {r.own:10.4%} {r.own_margin:9.2e}"
              for r in rows]
    return "\n".join(lines)
