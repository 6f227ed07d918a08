"""Weight averaging: an exponential moving average of a network's parameters ("EMA weights").

Binary and ternary networks move in jumps: a latent weight crossing its threshold flips a code,
a pre-activation crossing zero flips a sign, and validation accuracy swings by points from one
epoch to the next even with precise batch-norm statistics. The average of the last few
thousand steps' weights is a smoother point to evaluate, select and deploy.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """``avg ← d·avg + (1 − d)·w`` over every parameter after each optimizer step, with
    ``d = min(decay, (1 + n)/(10 + n))`` at the n-th update (a short warm-up, so that the first
    steps' weights do not linger). Buffers (batch-norm statistics) are copied from the live
    network, not averaged: re-estimate them before evaluating the average (precise BN).
    ``decay`` in (0, 1): the average spans about ``1/(1 − decay)`` steps."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight averaging: decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model)
        self.model.requires_grad_(False)

    def current_decay(self) -> float:
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        d = self.current_decay()
        avg = list(self.model.parameters())
        torch._foreach_mul_(avg, d)
        torch._foreach_add_(avg, list(model.parameters()), alpha=1.0 - d)
        for mine, theirs in zip(self.model.buffers(), model.buffers()):
            mine.copy_(theirs)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = state["updates"]
