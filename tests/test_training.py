"""The training loop: loss falls on real CIFAR-10 images; runs resume bit-exactly; batch-norm
statistics re-estimated over whole batches ("precise BN")."""

from __future__ import annotations

import pytest
import torch

from trainer.data import make_splits
from trainer.data.tensors import DataSplits, Split
from trainer.recipe import Recipe, load_recipe, shipped_recipes
from trainer.train import Trainer, load_checkpoint_model, recalibrate_batch_norm


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
    # last.pt knows the epoch it was written after was the best so far: a worse next epoch
    # must not replace best.pt
    assert resumed.best_val == first.best_val >= 0
    resumed.fit()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_shipped_recipes_load():
    assert {"quick", "demo-bin"} <= set(shipped_recipes())
    for name in shipped_recipes():
        load_recipe(name)
    r = load_recipe("quick", {"epochs": 3, "lr": None})
    assert r.epochs == 3 and r.lr == load_recipe("quick").lr


def test_batch_norm_recalibration_averages_whole_batches():
    class Sign(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sign(x)

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                Sign(), torch.nn.Conv2d(4, 2, 1), torch.nn.BatchNorm2d(2)).eval()
    images = torch.randn(70, 3, 8, 8) * 2 + 1
    model[1].running_mean.fill_(5.0)  # stale statistics from "training"
    used = recalibrate_batch_norm(model, images, batches=4, batch_size=16, augment=False)
    assert used == 64  # four whole batches; the six images left over are not used
    assert model[1].momentum == 0.1 and not model.training  # put back as found
    with torch.no_grad():
        feats = model[0](images[:64]).view(4, 16, 4, 8, 8)  # [batch, image, channel, y, x]
        means = feats.mean(dim=(1, 3, 4))
        variances = feats.transpose(1, 2).reshape(4, 4, -1).var(dim=2)  # unbiased, as BN keeps
        # the second layer saw the first normalised by each batch's own statistics
        z = torch.cat([torch.nn.functional.batch_norm(
            feats[b].contiguous(), None, None, model[1].weight, model[1].bias, training=True)
            for b in range(4)])
        second = model[3](torch.sign(z)).view(4, 16, 2, 8, 8)
    torch.testing.assert_close(model[1].running_mean, means.mean(0))
    torch.testing.assert_close(model[1].running_var, variances.mean(0))
    torch.testing.assert_close(model[4].running_mean, second.mean(dim=(1, 3, 4)).mean(0))


def test_recipe_rejects_other_stem_strides():
    with pytest.raises(ValueError, match="stem_stride must be 1 or 2"):
        Recipe(stem_stride=4).validate()
    with pytest.raises(ValueError, match="stage1_stride must be 1 or 2"):
        Recipe(stage1_stride=3).validate()


def test_recipe_rejects_negative_recalibration():
    with pytest.raises(ValueError, match="bn_recalibration_batches"):
        Recipe(bn_recalibration_batches=-1).validate()


def test_init_from_same_configuration_continues_every_tensor(cifar, tmp_path):
    """A new schedule from a checkpoint of the same configuration keeps the trained scales
    and activation steps; from another configuration the TTQ scales start fresh."""
    data = small_splits(cifar, 128, 64)
    base = dict(variant="ttq-all-a8", width=4, blocks_per_stage=1, batch_size=64, lr=0.01)
    src = Trainer(Recipe(epochs=1, **base), tmp_path / "a", data=data, progress=False,
                  log=lambda _: None)
    src.fit()
    cont = Trainer(Recipe(epochs=1, init_from=str(tmp_path / "a" / "last.pt"), **base),
                   tmp_path / "b", data=data, progress=False, log=lambda _: None)
    a, b = src.model.state_dict(), cont.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = Trainer(Recipe(epochs=1, init_from=str(tmp_path / "a" / "last.pt"),
                           **{**base, "variant": "ttq-all-bin"}),
                    tmp_path / "c", data=data, progress=False, log=lambda _: None)
    c = other.model.state_dict()
    wp = [k for k in c if k.endswith(".wp")]
    assert wp and not any(torch.equal(a[k], c[k]) for k in wp if k in a)
    # the stem's stride changes no tensor: everything carries over, and the new model keeps
    # its own stride
    strided = Trainer(Recipe(epochs=1, init_from=str(tmp_path / "a" / "last.pt"),
                             stem_stride=2, **base),
                      tmp_path / "d", data=data, progress=False, log=lambda _: None)
    d = strided.model.state_dict()
    assert all(torch.equal(a[k], d[k]) for k in a)
    assert strided.model.stem.conv.stride == (2, 2)
    assert strided.model.config["stem_stride"] == 2 and "stem_stride" not in src.model.config
    # nor does the stride of stage 1's first block
    first = Trainer(Recipe(epochs=1, init_from=str(tmp_path / "a" / "last.pt"),
                           stage1_stride=2, **base),
                    tmp_path / "d1", data=data, progress=False, log=lambda _: None)
    d1 = first.model.state_dict()
    assert all(torch.equal(a[k], d1[k]) for k in a)
    assert first.model.blocks.s1b1.dw1.conv.stride == (2, 2)
    assert first.model.stem.conv.stride == (1, 1)
    assert first.model.config["stage1_stride"] == 2 and "stage1_stride" not in src.model.config
    # nor does the residual stream's format: a binary network's tensors carry over into its
    # int8-stream twin, whose stream quantizers start from the data
    bin_base = {**base, "variant": "ttq-all-bin-sym"}
    binary = Trainer(Recipe(epochs=1, **bin_base), tmp_path / "e", data=data, progress=False,
                     log=lambda _: None)
    binary.fit()
    logs: list[str] = []
    stream = Trainer(Recipe(epochs=1, init_from=str(tmp_path / "e" / "last.pt"),
                            **{**base, "variant": "ttq-all-bin-s8"}),
                     tmp_path / "f", data=data, progress=False, log=logs.append)
    e, f = binary.model.state_dict(), stream.model.state_dict()
    assert "continuing" in logs[0]
    assert all(torch.equal(e[k], f[k]) for k in e)
    assert {k for k in f if k not in e} == {k for k in f if k.endswith((".step", ".initialised"))}
    stream.fit()


def test_two_stage_schedule_float_weights_then_ternary(cifar, tmp_path):
    """``fp-bin`` (binary activations, float weights but the int8 input convolution) trains,
    and a ternary network fine-tuned from it starts from its float weights, each ternary
    layer's scaled to max|w| = 1 as for any fine-tuning start, with fresh TTQ scales."""
    data = small_splits(cifar, 128, 64)
    base = dict(width=4, blocks_per_stage=1, batch_size=64, lr=0.01, epochs=1)
    first = Trainer(Recipe(variant="fp-bin", **base), tmp_path / "a", data=data,
                    progress=False, log=lambda _: None)
    first.fit()
    f = first.model.state_dict()
    assert not any(k.endswith((".wp", ".wn")) for k in f)
    logs: list[str] = []
    second = Trainer(Recipe(variant="ttq-all-bin-sym", init_from=str(tmp_path / "a" / "last.pt"),
                            **base), tmp_path / "b", data=data, progress=False,
                     log=logs.append)
    t = second.model.state_dict()
    assert logs[0].startswith(f"initialised {len(f)} tensors")
    ternary = {n + ".weight" for n, m in second.model.named_modules()
               if getattr(getattr(m, "weight_quant", None), "kind", "") == "ternary"}
    assert "blocks.s1b1.pw1.conv.weight" in ternary and "stem.conv.weight" not in ternary
    for k in f:
        want = f[k] / f[k].abs().max() if k in ternary else f[k]
        assert torch.allclose(t[k], want), k
    assert all(float(t[k]) == 1.0 for k in t if k.endswith(".wp"))
    second.fit()


def test_float_network_from_a_ternary_one_starts_where_it_was(cifar, tmp_path):
    """``--init-from`` a ternary checkpoint into ``fp-bin``: each float layer takes the weights
    its ternary layer computed with (the classifier's output scale included), so the float
    network computes the same logits before its first step."""
    data = small_splits(cifar, 128, 64)
    base = dict(width=4, blocks_per_stage=1, batch_size=64, lr=0.01, epochs=1)
    ternary = Trainer(Recipe(variant="ttq-all-bin-sym", **base), tmp_path / "a", data=data,
                      progress=False, log=lambda _: None)
    ternary.fit()
    float_ = Trainer(Recipe(variant="fp-bin", init_from=str(tmp_path / "a" / "last.pt"), **base),
                     tmp_path / "b", data=data, progress=False, log=lambda _: None)
    t, f = ternary.evaluated_model.eval().cpu(), float_.model.eval().cpu()
    x = data.val.images[:64]
    with torch.no_grad():
        assert torch.allclose(t(x), f(x), atol=1e-5)
    fc = f.fc.weight
    assert len(fc.unique()) <= 3 and not torch.equal(fc, t.fc.weight)


def _trained_then_initialised(cifar, tmp_path, variant: str, width: int, new_width: int,
                              new_stage1_width: int = 0):
    """A one-epoch run at ``width``, and a run at ``new_width`` (stage 1 at
    ``new_stage1_width`` where given) started ``--init-from`` its checkpoint (not yet fitted),
    with the second run's log lines."""
    data = small_splits(cifar, 128, 64)
    base = dict(variant=variant, blocks_per_stage=1, batch_size=64, lr=0.01)
    first = Trainer(Recipe(epochs=1, width=width, **base), tmp_path / "a", data=data,
                    progress=False, log=lambda _: None)
    first.fit()
    logs: list[str] = []
    second = Trainer(Recipe(epochs=1, width=new_width, stage1_width=new_stage1_width,
                            init_from=str(tmp_path / "a" / "last.pt"), **base),
                     tmp_path / "b", data=data, progress=False, log=logs.append)
    return first, second, logs


def test_init_from_a_wider_network_keeps_its_leading_channels(cifar, tmp_path):
    """`--init-from` a checkpoint of the same network at a larger width cuts every tensor to
    its first channels on each axis (stage s keeps channels 0 … width·2^(s−1) − 1), trained
    scales and activation steps included; the narrowed model trains on."""
    wide, narrow, logs = _trained_then_initialised(cifar, tmp_path, "ttq-all-a8", 6, 4)
    a, b = wide.model.state_dict(), narrow.model.state_dict()
    assert set(a) == set(b)
    assert "leading channels" in logs[0]
    assert b["blocks.s3b1.pw1.conv.weight"].shape == (16, 8, 1, 1)
    for k, v in b.items():
        assert torch.equal(v, a[k][tuple(slice(0, n) for n in v.shape)]), k
    assert any(k.endswith(".wp") for k in b)  # scales carried over, not re-initialised
    narrow.fit()


def test_init_from_a_narrower_network_widens_it(cifar, tmp_path):
    """`--init-from` a checkpoint of the same network at a smaller width puts every tensor in
    the leading block; weights from new inputs into old outputs start at zero, new rows stay
    inside the old weights' largest magnitude (so TTQ's threshold t·max|w| is unchanged) and
    the scales are carried over; the widened model trains on."""
    narrow, wide, logs = _trained_then_initialised(cifar, tmp_path, "ttq-all-bin-sym", 4, 6)
    assert "new inputs into them start at zero" in logs[0]
    a, b = narrow.model.state_dict(), wide.model.state_dict()
    assert set(a) == set(b)
    for k, v in a.items():
        assert torch.equal(b[k][tuple(slice(0, n) for n in v.shape)], v), k
        if k.endswith(".conv.weight") and v.shape[1] > 1:
            assert not b[k][:v.shape[0], v.shape[1]:].any(), k
        if k.endswith(".conv.weight"):
            assert b[k].abs().max() == v.abs().max(), k
    pw = b["blocks.s1b1.pw1.conv.weight"]
    assert pw.shape == (6, 6, 1, 1) and pw[4:].abs().sum() > 0   # new outputs: random rows
    assert not b["fc.weight"][:, 16:].any()                      # new features: no say yet
    wide.fit()


def test_init_from_a_network_with_a_narrower_stage1_widens_stage1_only(cifar, tmp_path):
    """`--stage1-width` above `--width`: the input convolution and stage 1 widen (old channels
    leading, new inputs into old outputs at zero), stages 2 and 3 keep their shapes except
    where they read stage 1."""
    narrow, wide, logs = _trained_then_initialised(cifar, tmp_path, "ttq-all-bin-sym", 4, 4, 6)
    assert "new inputs into them start at zero" in logs[0]
    assert wide.model.config["stage1_width"] == 6
    a, b = narrow.model.state_dict(), wide.model.state_dict()
    assert b["stem.conv.weight"].shape == (6, 3, 3, 3)
    assert b["blocks.s1b1.pw2.conv.weight"].shape == (6, 6, 1, 1)
    assert b["blocks.s2b1.pw1.conv.weight"].shape == (8, 6, 1, 1)
    assert b["blocks.s2b1.pw2.conv.weight"].shape == a["blocks.s2b1.pw2.conv.weight"].shape
    for k, v in a.items():
        assert torch.equal(b[k][tuple(slice(0, n) for n in v.shape)], v), k
    assert not b["blocks.s2b1.pw1.conv.weight"][:, 4:].any()
    wide.fit()


def test_trainbench_times_optimizer_steps_on_real_batches(cifar):
    from trainer.speed import measure_training_speed
    recipe = Recipe(variant="ttq-all-a8", width=4, blocks_per_stage=1, batch_size=32,
                    ema_decay=0.9)
    trainer = Trainer(recipe, "unused", data=small_splits(cifar, 128, 32), progress=False,
                      log=lambda _: None)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    calls = []
    speed = measure_training_speed(trainer, steps=5, warmup=2,
                                   progress=lambda i, n: calls.append((i, n)))
    assert calls == [(i, 7) for i in range(1, 8)]
    assert len(speed.step_seconds) == 5 and min(speed.step_seconds) > 0
    assert speed.images_per_second == pytest.approx(32 / speed.median_seconds)
    assert "5 steps of 32 images" in speed.summary() and "images/s" in speed.summary()
    # the steps trained: weights moved, the schedule and the weight average advanced
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert trainer.sched.last_epoch == 7 and trainer.ema.updates == 7
    with pytest.raises(ValueError, match="steps"):
        measure_training_speed(trainer, steps=0)
    # a training split smaller than a batch: every step takes all of it
    tiny = Trainer(recipe, "unused", data=small_splits(cifar, 20, 32), progress=False,
                   log=lambda _: None)
    assert measure_training_speed(tiny, steps=2, warmup=0).batch_size == 20
