"""Knowledge distillation: the blended loss's algebra, and a student trained on a teacher's
soft targets moving towards the teacher's predictions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from trainer.distill import Teacher, distillation_loss
from trainer.recipe import Recipe
from trainer.train import Trainer, load_checkpoint_model

from .test_training import small_splits


def test_weight_zero_is_cross_entropy():
    torch.manual_seed(0)
    s, t, y = torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,))
    torch.testing.assert_close(distillation_loss(s, t, y, 0.0, 4.0), F.cross_entropy(s, y))


def test_soft_term_is_scaled_kl_and_zero_at_the_teacher():
    torch.manual_seed(1)
    s, t, y = torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,))
    temp, alpha = 3.0, 0.75
    p_t = F.softmax(t / temp, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / temp, 1))).sum(1).mean()
    expected = (1 - alpha) * F.cross_entropy(s, y) + alpha * temp ** 2 * kl
    torch.testing.assert_close(distillation_loss(s, t, y, alpha, temp), expected)
    # a student that matches the teacher has no soft loss left
    assert distillation_loss(t, t, y, 1.0, temp).abs().item() < 1e-6
    assert distillation_loss(s, t, y, 1.0, temp).item() > 0.01


def test_teacher_rejects_bad_settings(tmp_path):
    model = torch.nn.Linear(4, 10)
    with pytest.raises(ValueError, match="weight"):
        Teacher(model, 1.5, 4.0)
    with pytest.raises(ValueError, match="temperature"):
        Teacher(model, 0.5, 0.0)
    with pytest.raises(FileNotFoundError, match="teacher checkpoint"):
        Teacher.from_checkpoint(tmp_path / "missing.pt", 0.5, 4.0)
    with pytest.raises(ValueError, match="distill_weight"):
        Recipe(distill_weight=-0.1).validate()
    with pytest.raises(ValueError, match="distill_temperature"):
        Recipe(distill_temperature=0.0).validate()


def test_student_moves_towards_the_teacher(cifar, tmp_path):
    """With only the soft targets (weight 1), training brings the student's softened
    predictions on the training images closer to a float teacher's; the teacher is left as it
    was, and the run resumes with its teacher."""
    data = small_splits(cifar, 256, 64)
    teacher_run = Trainer(Recipe(variant="fp", width=8, blocks_per_stage=1, epochs=4,
                                 batch_size=64, lr=0.01, augment=False),
                          tmp_path / "teacher", data=data, progress=False, log=lambda _: None)
    teacher_run.fit()
    teacher_path = tmp_path / "teacher" / "last.pt"
    teacher, _ = load_checkpoint_model(teacher_path)
    before_teacher = {k: v.clone() for k, v in teacher.state_dict().items()}

    recipe = Recipe(variant="ttq-all-bin", width=4, blocks_per_stage=1, epochs=8, batch_size=64,
                    lr=0.01, schedule="constant", augment=False, teacher=str(teacher_path),
                    distill_weight=1.0, distill_temperature=2.0)

    def gap(trainer: Trainer) -> float:
        """Mean KL divergence of the student's softened predictions from the teacher's."""
        trainer.model.eval()
        with torch.no_grad():
            s = trainer.model(data.train.images)
            t = trainer.teacher.logits(data.train.images)
        return F.kl_div(F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1), reduction="batchmean",
                        log_target=True).item()

    student = Trainer(recipe, tmp_path / "student", data=data, progress=False,
                      log=lambda _: None)
    start = gap(student)
    student.fit()
    # the same run on the labels alone (the teacher loaded but weighted 0) learns the same
    # images, but does not follow the teacher as closely
    labels_only = Trainer(Recipe(**{**recipe.to_dict(), "distill_weight": 0.0}),
                          tmp_path / "labels", data=data, progress=False, log=lambda _: None)
    labels_only.fit()
    end, control = gap(student), gap(labels_only)
    assert end < 0.5 * start and end < 0.5 * control, (start, end, control)
    after = student.teacher.model.state_dict()
    assert all(torch.equal(before_teacher[k], after[k]) for k in before_teacher)
    resumed = Trainer(recipe, tmp_path / "student", data=data, progress=False,
                      log=lambda _: None)
    assert resumed.resume() and resumed.teacher is not None and resumed.epoch == 8
