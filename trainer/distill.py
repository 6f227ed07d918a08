"""Knowledge distillation: a trained teacher network's softened predictions as extra targets.

The loss is Hinton et al.'s: with student logits ``s``, teacher logits ``t``, labels ``y``,
weight ``alpha`` in [0, 1] and temperature ``T`` > 0,

    loss = (1 - alpha) * CE(s, y) + alpha * T² * KL(softmax(t / T) || softmax(s / T)),

the ``T²`` keeping the soft term's gradient on the scale of the hard one. The teacher sees the
same augmented batch as the student, in eval mode and without gradients: any checkpoint written
by ``trit train`` can teach (a float network, or a quantized one of another variant or width).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor,
                      alpha: float, temperature: float,
                      label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean over the batch of the blended hard-label and soft-label loss (see the module).
    ``student`` and ``teacher`` are logits ``[N, classes]``, ``labels`` class indices ``[N]``."""
    hard = F.cross_entropy(student, labels, label_smoothing=label_smoothing)
    if alpha == 0.0:
        return hard
    soft = F.kl_div(F.log_softmax(student / temperature, dim=1),
                    F.log_softmax(teacher / temperature, dim=1),
                    reduction="batchmean", log_target=True)
    return (1.0 - alpha) * hard + alpha * temperature ** 2 * soft


class Teacher:
    """A frozen network whose logits :func:`distillation_loss` blends into the student's."""

    def __init__(self, model: torch.nn.Module, alpha: float, temperature: float) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"distillation weight must be in [0, 1], got {alpha}")
        if temperature <= 0.0:
            raise ValueError(f"distillation temperature must be positive, got {temperature}")
        self.model = model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.alpha = alpha
        self.temperature = temperature

    @classmethod
    def from_checkpoint(cls, path: str | Path, alpha: float, temperature: float,
                        device: torch.device | None = None) -> "Teacher":
        from .train import load_checkpoint_model  # the checkpoint format lives with the loop
        if not Path(path).exists():
            raise FileNotFoundError(f"teacher checkpoint {path} does not exist")
        model, _ = load_checkpoint_model(path)
        if device is not None:
            model.to(device, memory_format=torch.channels_last)
        return cls(model, alpha, temperature)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's logits for a batch (the student's input, same layout)."""
        return self.model(images)

    def loss(self, student_logits: torch.Tensor, images: torch.Tensor, labels: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        """The blended loss of the student's logits for ``images`` (see the module)."""
        return distillation_loss(student_logits, self.logits(images), labels, self.alpha,
                                 self.temperature, label_smoothing)
