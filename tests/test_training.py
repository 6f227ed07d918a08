"""The training loop: loss falls on real CIFAR-10 images; runs resume bit-exactly."""

from __future__ import annotations

import torch

from trainer.data import make_splits
from trainer.data.tensors import DataSplits, Split
from trainer.recipe import Recipe, load_recipe, shipped_recipes
from trainer.train import Trainer, load_checkpoint_model


def small_splits(cifar, n_train: int = 512, n_val: int = 128) -> DataSplits:
    s = make_splits(cifar)
    return DataSplits(Split(s.train.images[:n_train], s.train.labels[:n_train]),
                      Split(s.val.images[:n_val], s.val.labels[:n_val]), s.val)


def test_loss_falls_over_a_few_hundred_steps(cifar, tmp_path):
    recipe = Recipe(variant="ttq-all-bin", width=8, blocks_per_stage=1, epochs=25,
                    batch_size=64, lr=0.01, schedule="constant", augment=False)
    trainer = Trainer(recipe, tmp_path, data=small_splits(cifar), progress=False,
                      log=lambda _: None)
    history = trainer.fit()
    assert trainer.steps_per_epoch * len(history) == 200
    first = sum(m.train_loss for m in history[:3]) / 3
    last = sum(m.train_loss for m in history[-3:]) / 3
    assert last < 0.9 * first, (first, last)
    assert (tmp_path / "best.pt").exists() and (tmp_path / "metrics.csv").exists()
    model, ck = load_checkpoint_model(tmp_path / "last.pt")
    assert ck["epoch"] == 25 and model.config["width"] == 8


def test_resume_is_bit_exact(cifar, tmp_path):
    data = small_splits(cifar, 256, 64)
    base = dict(variant="ttq-all-bin", width=4, blocks_per_stage=1, batch_size=64, lr=0.01)
    straight = Trainer(Recipe(epochs=3, **base), tmp_path / "a", data=data, progress=False,
                       log=lambda _: None)
    straight.fit()
    first = Trainer(Recipe(epochs=3, time_limit_min=1e-9, **base), tmp_path / "b", data=data,
                    progress=False, log=lambda _: None)
    first.fit()  # stops after one epoch
    assert first.epoch == 1
    resumed = Trainer(Recipe(epochs=3, **base), tmp_path / "b", data=data, progress=False,
                      log=lambda _: None)
    assert resumed.resume()
    resumed.fit()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_shipped_recipes_load():
    assert {"quick", "demo-bin"} <= set(shipped_recipes())
    for name in shipped_recipes():
        load_recipe(name)
    r = load_recipe("quick", {"epochs": 3, "lr": None})
    assert r.epochs == 3 and r.lr == load_recipe("quick").lr
