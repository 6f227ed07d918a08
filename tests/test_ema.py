"""Weight averaging (trainer/ema.py): the average's arithmetic, what checkpoints hold, that
validation and best.pt use the average, and bit-exact resumption with it."""

from __future__ import annotations

import pytest
import torch

from trainer.ema import WeightAverage
from trainer.recipe import Recipe
from trainer.train import Trainer, load_checkpoint_model
from tests.test_training import small_splits


def test_average_follows_the_formula_with_its_warm_up():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    avg = WeightAverage(net, decay=0.99)
    w0 = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
        net[1].running_mean.fill_(3.0)
    avg.update(net)  # first update: d = min(0.99, 1/10)
    assert torch.allclose(avg.model[0].weight, 0.1 * w0 + 0.9 * (w0 + 1.0))
    assert torch.equal(avg.model[1].running_mean, net[1].running_mean)  # copied, not averaged
    for _ in range(2000):
        avg.update(net)
    assert avg.updates == 2001 and avg.current_decay() == 0.99
    assert torch.allclose(avg.model[0].weight, w0 + 1.0, atol=1e-6)
    assert not any(p.requires_grad for p in avg.model.parameters())
    with pytest.raises(ValueError, match="decay must be in"):
        WeightAverage(net, 1.0)


def test_recipe_rejects_a_decay_of_one():
    with pytest.raises(ValueError, match="ema_decay must be in"):
        Recipe(ema_decay=1.0).validate()


def test_checkpoints_hold_the_average_and_validation_uses_it(cifar, tmp_path):
    r = Recipe(variant="ttq-all-bin", width=4, blocks_per_stage=1, epochs=2, batch_size=64,
               lr=0.01, ema_decay=0.9, bn_recalibration_batches=2)
    t = Trainer(r, tmp_path, data=small_splits(cifar, 256, 64), progress=False,
                log=lambda _: None)
    history = t.fit()
    assert t.ema.updates == 2 * t.steps_per_epoch
    ck = torch.load(tmp_path / "last.pt", weights_only=False)
    avg, live = t.ema.model.state_dict(), t.model.state_dict()
    assert all(torch.equal(ck["model"][k], avg[k]) for k in avg)
    assert all(torch.equal(ck["train_model"][k], live[k]) for k in live)
    assert not torch.equal(avg["stem.conv.weight"], live["stem.conv.weight"])
    # what `trit export` loads is the average, and the validation figure is its own
    model, _ = load_checkpoint_model(tmp_path / "last.pt")
    from trainer.train import evaluate
    assert evaluate(model, small_splits(cifar, 256, 64).val)[1] == history[-1].val_acc


def test_resume_with_weight_averaging_is_bit_exact(cifar, tmp_path):
    data = small_splits(cifar, 256, 64)
    base = dict(variant="ttq-all-bin", width=4, blocks_per_stage=1, batch_size=64, lr=0.01,
                ema_decay=0.95)
    straight = Trainer(Recipe(epochs=3, **base), tmp_path / "a", data=data, progress=False,
                       log=lambda _: None)
    straight.fit()
    first = Trainer(Recipe(epochs=3, time_limit_min=1e-9, **base), tmp_path / "b", data=data,
                    progress=False, log=lambda _: None)
    first.fit()
    resumed = Trainer(Recipe(epochs=3, **base), tmp_path / "b", data=data, progress=False,
                      log=lambda _: None)
    assert resumed.resume() and resumed.ema.updates == first.ema.updates
    resumed.fit()
    for x, y in ((straight.model, resumed.model), (straight.ema.model, resumed.ema.model)):
        a, b = x.state_dict(), y.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
