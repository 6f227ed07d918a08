"""Activation quantizers: sign with a straight-through estimator, ordered dithering, and the
full-precision ReLU used by the papers' float-activation variants."""

from __future__ import annotations

import torch
from torch import nn

from .lsq import LSQFunction


class ActivationQuantizer(nn.Module):
    """Base class. ``binary`` is True when the output is ±1 (one bit per value when deployed)."""

    binary: bool = False


#: Smallest float32 above 1.0: the straight-through window ``(-_EDGE, _EDGE)`` equals ``[-1, 1]``.
_EDGE = 1.0 + 2.0 ** -23


class _SignSTE(torch.autograd.Function):
    """``sign(x)``: +1 for ``x ≥ +0.0``, -1 for negative ``x`` (and for the IEEE ``-0.0``,
    which copies its sign bit); backward passes ``g`` where ``|x| ≤ 1``, else 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.copysign(torch.ones((), dtype=x.dtype, device=x.device), x)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        # one fused kernel: g where -_EDGE < x < _EDGE, i.e. |x| <= 1 in float32
        return torch.ops.aten.hardtanh_backward(g, x, -_EDGE, _EDGE)


class SignSTE(ActivationQuantizer):
    """Binary activation: +1 where ``x ≥ 0``, -1 elsewhere; gradient cancelled for ``|x| > 1``."""

    binary = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SignSTE.apply(x)


class SignOfCodes(SignSTE):
    """:class:`SignSTE` of quantized values whose zero code is +1 whatever its float sign: the
    rounding of a small negative value leaves ``−0.0``, which ``copysign`` would make −1 where
    the deployed sign of the int8 code 0 is +1 (``x + 0.0`` turns ``−0.0`` into ``+0.0``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SignSTE.apply(x + 0.0)


def dither_mask(channels: int, height: int, width: int, three_d: bool,
                device: torch.device | str | None = None) -> torch.Tensor:
    """Ordered-dithering thresholds ``m(x, y, z) = 2·(((x + 67·z) + 236·y)·119 & 255)/255 − 1``.

    ``x`` is the column, ``y`` the row, ``z`` the channel (0 for every channel when
    ``three_d`` is False). Returns float32 ``[channels, height, width]`` in ``[-1, 1]``.
    """
    z = torch.arange(channels, device=device).view(-1, 1, 1) if three_d else torch.zeros(
        1, 1, 1, dtype=torch.long, device=device)
    y = torch.arange(height, device=device).view(1, -1, 1)
    x = torch.arange(width, device=device).view(1, 1, -1)
    m = (((x + z * 67) + y * 236) * 119) & 255
    return (2.0 * m.float() / 255.0 - 1.0).expand(channels, height, width).contiguous()


class OrderedDither(ActivationQuantizer):
    """Binary activation ``sign(x − m)`` with the ordered-dithering mask ``m`` of
    :func:`dither_mask` (2-D: one mask for all channels; 3-D: shifted per channel).
    The straight-through gradient is cancelled where ``|x − m| > 1``."""

    binary = True

    def __init__(self, three_d: bool = False) -> None:
        super().__init__()
        self.three_d = three_d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, h, w = x.shape
        m = dither_mask(c, h, w, self.three_d, device=x.device).to(x.dtype)
        return _SignSTE.apply(x - m)

    def extra_repr(self) -> str:
        return "3-D" if self.three_d else "2-D"


class ReLU(ActivationQuantizer):
    """Full-precision activation (no quantization): ``max(x, 0)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


class UniformQuant(ActivationQuantizer):
    """Uniform quantizer with a learned step ``s`` (LSQ, Esser et al. 2020):
    ``s · clamp(round(x / s), lo, hi)``. The integer ``clamp(round(x/s), lo, hi)`` is the
    deployed int8 code; the gradient passes straight through inside ``[lo·s, hi·s]`` and
    reaches ``s`` through the rounding error and the clipped values. ``step`` is the initial
    ``s`` until the first training batch sets it from the data as LSQ does,
    ``s = 2·mean|x|/√hi`` (a fixed step clips the residual stream of a deep net, whose size
    grows block by block, and training stalls)."""

    def __init__(self, lo: int, hi: int, step: float = 4.0 / 127) -> None:
        super().__init__()
        self.lo, self.hi = lo, hi
        self.step = nn.Parameter(torch.tensor(float(step)))
        self.register_buffer("initialised", torch.tensor(False))
        # `initialised` seen True: reading the buffer in every training step would synchronise
        # a GPU with the host once per quantizer and step
        self._step_set = False

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._step_set = False  # the loaded `initialised` decides again

    def scale(self) -> float:
        """The step ``s`` as deployed: the real value of one integer code."""
        return float(self.step.detach().abs()) + 1e-8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not self._step_set:
            if not bool(self.initialised):
                with torch.no_grad():
                    self.step.fill_(float(2.0 * x.detach().abs().mean() / self.hi ** 0.5) + 1e-6)
                    self.initialised.fill_(True)
            self._step_set = True
        s = self.step.abs() + 1e-8
        # LSQ's gradient scale keeps the step's updates in proportion with the weights'
        g = 1.0 / (x[0].numel() * self.hi) ** 0.5
        s = s * g + (s - s * g).detach()
        return LSQFunction.apply(x, s, self.lo, self.hi)

    def extra_repr(self) -> str:
        return f"codes [{self.lo}, {self.hi}]"


class ReLU8(UniformQuant):
    """8-bit ReLU activation: int8 codes ``0 … 127`` of step ``s`` (``max(x, 0)`` rounded and
    clipped at ``127·s``); deployed as int8 tensors through requantisation."""

    def __init__(self, step: float = 4.0 / 127) -> None:
        super().__init__(0, 127, step)


class Signed8(UniformQuant):
    """Signed int8 quantizer, codes ``−128 … 127``: the branch of a residual block before it is
    added to the shortcut (the deployed add sees two int8 tensors)."""

    def __init__(self, step: float = 8.0 / 127) -> None:
        super().__init__(-128, 127, step)
