"""The arithmetic of the learned-step uniform quantizer (LSQ, Esser et al. 2020) as one
autograd function, ``s · round(clamp(x / s, lo, hi))`` with its straight-through backward,
written out so that a training step makes a few passes over each activation instead of the
dozen that autograd makes of the division, clamp, rounding and product:

* ``∂out/∂x = 1`` where ``lo ≤ x/s ≤ hi``, else ``0``;
* ``∂out/∂s = q − x/s`` inside, ``q`` (``lo`` or ``hi``) where clipped, ``q`` the code.

:func:`use_compiled` runs the same arithmetic through ``torch.compile`` instead, which fuses
each direction into one loop over the tensor (the forward bit for bit the same, the step's
gradient summed in another order)."""

from __future__ import annotations

import warnings
from typing import Callable

import torch


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b).sum()`` in one pass where both share a dense layout (NCHW or channels-last)."""
    if a.dim() == 4 and not a.is_contiguous() and \
            a.is_contiguous(memory_format=torch.channels_last) and \
            b.is_contiguous(memory_format=torch.channels_last):
        a, b = a.permute(0, 2, 3, 1), b.permute(0, 2, 3, 1)
    if a.is_contiguous() and b.is_contiguous():
        return torch.dot(a.reshape(-1), b.reshape(-1))
    return (a * b).sum()


def forward_eager(x: torch.Tensor, s: torch.Tensor, lo: int, hi: int):
    """``(out, v, q, inside)``: the output ``q · s``, ``v = x / s``, the codes ``q`` (float) and
    the inside mask as 0.0/1.0 in ``x``'s dtype (a product with a bool tensor would convert it
    first, a pass more)."""
    v = x / s
    q = v.clamp(lo, hi)
    inside = torch.eq(q, v, out=torch.empty_like(v))
    q.round_()
    return q * s, v, q, inside


def backward_eager(g: torch.Tensor, v: torch.Tensor, q: torch.Tensor, inside: torch.Tensor):
    """``(∂L/∂x, ∂L/∂s)`` for the upstream gradient ``g``."""
    grad_x = g * inside
    return grad_x, _dot(g, q) - _dot(grad_x, v)


def forward_fusable(x: torch.Tensor, s: torch.Tensor, lo: int, hi: int):
    """:func:`forward_eager` without in-place and ``out=`` operations, for ``torch.compile``."""
    v = x / s
    c = v.clamp(lo, hi)
    q = c.round()
    return q * s, v, q, (c == v).to(x.dtype)


def backward_fusable(g: torch.Tensor, v: torch.Tensor, q: torch.Tensor, inside: torch.Tensor):
    """:func:`backward_eager` as plain products and sums, for ``torch.compile``."""
    grad_x = g * inside
    return grad_x, (g * q).sum() - (grad_x * v).sum()


_Kernels = tuple[Callable, Callable]
_compiled: _Kernels | None = None


def use_compiled(enabled: bool = True) -> None:
    """Run every LSQ quantizer of this process through ``torch.compile`` (``enabled``) or plain
    PyTorch. Compiling needs a C++ compiler on the CPU (Triton on a GPU) and takes some
    seconds per tensor rank and device on first use; where it fails, the quantizers warn once
    and go back to plain PyTorch."""
    global _compiled
    _compiled = (torch.compile(forward_fusable, dynamic=True),
                 torch.compile(backward_fusable, dynamic=True)) if enabled else None


def compiled() -> bool:
    """Whether the quantizers run through ``torch.compile`` now."""
    return _compiled is not None


def _run(which: int, *args):
    global _compiled
    if _compiled is not None:
        try:
            return _compiled[which](*args)
        except Exception as e:  # noqa: BLE001 - any compiler failure: plain PyTorch instead
            warnings.warn(f"torch.compile of the LSQ quantizers failed ({type(e).__name__}: "
                          f"{e}); using plain PyTorch", RuntimeWarning, stacklevel=3)
            _compiled = None
    return (forward_eager, backward_eager)[which](*args)


class LSQFunction(torch.autograd.Function):
    """``s · round(clamp(x / s, lo, hi))`` (round half to even) and LSQ's straight-through
    backward (module docstring). ``s`` is a 0-d tensor; its gradient is the sum over all
    elements."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, s: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        out, v, q, inside = _run(0, x, s, lo, hi)
        ctx.save_for_backward(v, q, inside)
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        grad_x, grad_s = _run(1, g, *ctx.saved_tensors)
        return grad_x, grad_s.reshape(()), None, None
