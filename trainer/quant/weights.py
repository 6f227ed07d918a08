"""Weight quantizers: TTQ ternary, int8 per output channel, and full-precision passthrough."""

from __future__ import annotations

import torch
from torch import nn


class WeightQuantizer(nn.Module):
    """Base class. ``kind`` names the storage format: ``"ternary"``, ``"int8"`` or ``"float"``;
    ``bits`` is the storage cost of one weight in the deployed model."""

    kind: str = "float"
    bits: int = 32
    scale_bytes: int = 0  # per-layer scale storage besides the weights

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Passthrough(WeightQuantizer):
    """Full precision: the weight is used as is (32 bits per weight)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w


class _TTQFunction(torch.autograd.Function):
    """Trained Ternary Quantization (Zhu et al., ICLR 2017).

    Forward: ``wt = Wp`` where ``w > Δ``, ``-Wn`` where ``w < -Δ``, else ``0``, with
    ``Δ = t · max|w|`` held constant in the backward pass.

    Backward, for upstream gradient ``g = ∂L/∂wt``:
    ``∂L/∂Wp = Σ_{w>Δ} g``; ``∂L/∂Wn = -Σ_{w<-Δ} g`` (the minus sign the paper's equation
    omits: ``wt = -Wn`` there); ``∂L/∂w = Wp·g`` where ``w > Δ``, ``Wn·g`` where ``w < -Δ``
    and ``g`` in between.
    """

    @staticmethod
    def forward(ctx, w: torch.Tensor, wp: torch.Tensor, wn: torch.Tensor, t: float) -> torch.Tensor:
        delta = t * w.detach().abs().max()
        pos = w > delta
        neg = w < -delta
        ctx.save_for_backward(pos, neg, wp, wn)
        return wp * pos.to(w.dtype) - wn * neg.to(w.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        pos, neg, wp, wn = ctx.saved_tensors
        grad_w = torch.where(pos, wp * g, torch.where(neg, wn * g, g))
        grad_wp = (g * pos).sum().reshape(wp.shape)
        grad_wn = -(g * neg).sum().reshape(wn.shape)
        return grad_w, grad_wp, grad_wn, None


class TTQTernary(WeightQuantizer):
    """Ternary weights ``{-Wn, 0, +Wp}`` with per-layer trained scales (2 bits per weight).

    ``Wp`` and ``Wn`` start at ``init_scale`` (1.0); the threshold is ``t · max|w|``.
    ``shared_scale=True`` ties them into one trained scale (``Wn`` is the same parameter as
    ``Wp``, its gradient ``Σ_{w>Δ} g − Σ_{w<−Δ} g``): the deployed layer then needs one
    popcount per weight word instead of two, and with binary activations the scale folds
    into the threshold entirely.
    """

    kind = "ternary"
    bits = 2
    scale_bytes = 8  # Wp and Wn as float32 (both stored, also when shared)

    def __init__(self, t: float = 0.05, init_scale: float = 1.0,
                 shared_scale: bool = False) -> None:
        super().__init__()
        if not 0.0 <= t < 1.0:
            raise ValueError(f"TTQ threshold factor t must be in [0, 1), got {t}")
        self.t = t
        self.shared_scale = shared_scale
        self.wp = nn.Parameter(torch.tensor(float(init_scale)))
        self.wn = self.wp if shared_scale else nn.Parameter(torch.tensor(float(init_scale)))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return _TTQFunction.apply(w, self.wp, self.wn, self.t)

    @torch.no_grad()
    def ternary_codes(self, w: torch.Tensor) -> torch.Tensor:
        """The int8 codes ``{-1, 0, +1}`` of ``w`` (same shape)."""
        delta = self.t * w.abs().max()
        return (w > delta).to(torch.int8) - (w < -delta).to(torch.int8)

    def extra_repr(self) -> str:
        return f"t={self.t}" + (", shared_scale=True" if self.shared_scale else "")


class Int8Weight(WeightQuantizer):
    """Symmetric int8 weights with one float scale per output channel (dim 0).

    ``q = clamp(round(w / s), -127, 127)`` with ``s = max|w_c| / 127``; the layer uses
    ``q · s``. Gradients pass straight through to ``w``.
    """

    kind = "int8"
    bits = 8

    @staticmethod
    def scales(w: torch.Tensor) -> torch.Tensor:
        """Per-output-channel scale, shape ``[C_out]``."""
        return w.detach().abs().flatten(1).amax(1).clamp_min(1e-8) / 127.0

    @torch.no_grad()
    def int_codes(self, w: torch.Tensor) -> torch.Tensor:
        s = self.scales(w).view(-1, *([1] * (w.dim() - 1)))
        return torch.round(w / s).clamp(-127, 127).to(torch.int8)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        s = self.scales(w).view(-1, *([1] * (w.dim() - 1)))
        q = torch.round(w / s).clamp(-127, 127) * s
        return w + (q - w).detach()
