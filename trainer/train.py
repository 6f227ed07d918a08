"""The training loop: tensors in memory, tensor-op augmentation, one tight loop per epoch,
a checkpoint and a metrics row after every epoch, resumable and seeded."""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import augment_batch, load_cifar10, make_splits
from .data.tensors import DataSplits, Split
from .distill import Teacher
from .ema import WeightAverage
from .models import DWSResNet, build_model, model_from_config, stage_widths
from .quant import TTQTernary, lsq
from .recipe import Recipe

CHECKPOINT_VERSION = 1


@dataclass
class EpochMetrics:
    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    images_per_second: float


def describe_hardware(device: torch.device) -> str:
    """What an epoch ran on, for model cards: the GPU's name, or the CPU with its core count."""
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    name = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"CPU only, {threads} thread{'s' if threads != 1 else ''} ({name})"


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only; BN parameters and TTQ scales are exempt."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if name.endswith("weight") and p.dim() > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, r: Recipe) -> torch.optim.Optimizer:
    groups = param_groups(model, r.weight_decay)
    if r.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=r.lr, momentum=r.momentum, nesterov=True)
    return torch.optim.Adam(groups, lr=r.lr)


def lr_factor(r: Recipe, step: int, steps_per_epoch: int) -> float:
    """Multiplier of ``r.lr`` at a global step (per-step schedule)."""
    epoch = step / steps_per_epoch
    if r.warmup_epochs > 0 and epoch < r.warmup_epochs:
        return (epoch + 1.0 / steps_per_epoch) / r.warmup_epochs
    if r.schedule == "cosine":
        span = max(r.epochs - r.warmup_epochs, 1e-9)
        return 0.5 * (1.0 + math.cos(math.pi * min((epoch - r.warmup_epochs) / span, 1.0)))
    if r.schedule == "step":
        return r.gamma ** sum(1 for m in r.milestones if epoch >= m)
    return 1.0


@torch.no_grad()
def evaluate(model: torch.nn.Module, split: Split, batch_size: int = 1000,
             device: torch.device | None = None) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy (fraction) of ``model`` on ``split``."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(split), batch_size):
        x = split.images[i:i + batch_size].to(device).contiguous(memory_format=torch.channels_last)
        y = split.labels[i:i + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return loss_sum / len(split), correct / len(split)


@torch.no_grad()
def recalibrate_batch_norm(model: torch.nn.Module, images: torch.Tensor, batches: int,
                           batch_size: int, augment: bool = True,
                           generator: torch.Generator | None = None) -> int:
    """Set every batch-norm layer's running mean and variance to their plain average over the
    first ``batches`` batches of ``images`` ("precise BN"), the network in training mode so that
    each layer sees its inputs as normalised in training; ``augment``: crop and flip each batch
    as training does (the statistics then describe what the layers were trained on).

    The exponential running averages kept during training weigh the last few dozen batches;
    with binary activations every batch-norm layer becomes a threshold, and thresholds from that
    noisy estimate move validation accuracy by points from one epoch to the next. Returns the
    number of images used (whole batches only)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    n = min(batches, len(images) // batch_size) * batch_size
    if not bns or n == 0:
        return 0
    device = next(model.parameters()).device
    momenta = [m.momentum for m in bns]
    was_training = model.training
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch weighs the same
    model.train()
    try:
        for i in range(0, n, batch_size):
            x = images[i:i + batch_size].to(device)
            if augment:
                x = augment_batch(x, generator=generator)
            model(x.contiguous(memory_format=torch.channels_last))
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        model.train(was_training)
    return n


def load_init(model: DWSResNet, path: str | Path) -> tuple[list[str], str]:
    """Copy tensors from a checkpoint; returns (names copied, how).

    ``how`` is one of:

    * ``"continued"``: the checkpoint has the model's configuration; every tensor is copied,
      scales and activation steps included, so a new schedule continues the trained network
      (the strides of the stem and of stage 1's first block may differ: they change no
      tensor).
    * ``"narrowed"``: the checkpoint is the same network at a larger ``width`` (or
      ``stage1_width``: no stage narrower than the model's); every tensor is
      cut to its first channels along each axis (a channel-pruned start for a smaller model:
      stage ``s`` keeps channels ``0 … width·2^(s−1) − 1`` of every layer, so the identity
      shortcuts still join the same channels; the option-A shortcut into a wider stage then
      pads where the wide network carried channels that are gone). Scales and steps are kept.
    * ``"widened"``: the checkpoint is the same network at a smaller ``width`` (or
      ``stage1_width``: no stage wider than the model's); every tensor
      goes into the leading block of the model's (the reverse of narrowing). Weights from new
      input channels into old outputs start at zero, so the old channels compute what they did
      (up to the option-A shortcut into a wider stage, which now carries the new channels of
      the stage before); the rows of new outputs keep the model's random initialisation,
      rescaled to the old layer's standard deviation and clipped inside its largest magnitude
      so that the TTQ threshold ``t·max|w|`` quantizes the old weights as before. New batch-norm
      channels start as initialised. Scales and steps are kept.
    * ``"fine-tuned"``: a float checkpoint or another quantization scheme; TTQ layers start
      from its latent weights with fresh scales, as in the papers' fine-tuning recipe. A
      float layer of the model whose checkpoint layer was quantized starts from the weights
      that layer computed with (``Wp·P − Wn·N`` for ternary, times the classifier's output
      scale where the two differ), so a float network starts where the quantized one was.
    """
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    state = ckpt["model"]
    own = model.state_dict()
    src = ckpt.get("config") or {}
    same_but_widths = (src.get("width", 0) > 0 and _weights_config(src, *WIDTH_KEYS)
                       == _weights_config(model.config, *WIDTH_KEYS))
    pairs = list(zip(stage_widths(src), stage_widths(model.config))) if same_but_widths else []
    if _weights_config(src) == _weights_config(model.config):
        how = "continued"
    elif pairs and all(theirs >= mine for theirs, mine in pairs):
        how = "narrowed"
        state = {k: _leading_block(v, own[k].shape) for k, v in state.items() if k in own}
    elif pairs and all(theirs <= mine for theirs, mine in pairs):
        how = "widened"
        state = {k: _widened(v, own[k], k) for k, v in state.items() if k in own}
    else:
        how = "fine-tuned"
        state = {**state, **_effective_float_weights(model, ckpt)}
    copied = [k for k, v in state.items() if k in own and own[k].shape == v.shape
              and (how != "fine-tuned" or not k.endswith((".wp", ".wn")))]
    model.load_state_dict({k: state[k] for k in copied}, strict=False)
    return copied, how


def _effective_float_weights(model: DWSResNet, ckpt: dict) -> dict[str, torch.Tensor]:
    """For each float layer of ``model`` that is quantized in the checkpoint: the weight the
    checkpoint's layer computes with, in the float layer's units (see :func:`load_init`)."""
    if (ckpt.get("config") or {}).get("arch") != "dws-resnet":
        return {}
    src = model_from_config(ckpt["config"])
    src.load_state_dict(ckpt["model"])
    theirs = dict(src.named_modules())
    out = {}
    with torch.no_grad():
        for name, mine in model.named_modules():
            other = theirs.get(name)
            if (not hasattr(mine, "weight_quant") or mine.weight_quant.kind != "float"
                    or other is None or getattr(other, "weight_quant", None) is None
                    or other.weight_quant.kind == "float"
                    or other.weight.shape != mine.weight.shape):
                continue
            w = other.quantized_weight()
            w = w * getattr(other, "out_scale", 1.0) / getattr(mine, "out_scale", 1.0)
            out[f"{name}.weight"] = w.detach().clone()
    return out


def _leading_block(t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """``t[:shape[0], :shape[1], …]`` when ``t`` is at least ``shape`` on every axis, else ``t``."""
    if t.dim() != len(shape) or any(a < b for a, b in zip(t.shape, shape)):
        return t
    return t[tuple(slice(0, n) for n in shape)].clone()


def _widened(old: torch.Tensor, new: torch.Tensor, name: str) -> torch.Tensor:
    """``new`` with ``old`` in its leading block (see :func:`load_init`, ``"widened"``)."""
    if old.dim() == 0 or old.shape == new.shape:
        return old
    out = new.detach().clone()
    lead = tuple(slice(0, n) for n in old.shape)
    if name.endswith(".weight") and old.dim() >= 2:  # convolution or classifier weights
        ref = old.float()
        fresh = out.float()
        fresh = fresh * (ref.std() / fresh.std().clamp_min(1e-12))
        bound = 0.99 * ref.abs().max()
        out = fresh.clamp(-bound, bound).to(out.dtype)
        out[:old.shape[0], old.shape[1]:] = 0   # new inputs into old outputs
    out[lead] = old
    return out


#: config keys that set channel counts (see :func:`stage_widths`)
WIDTH_KEYS = ("width", "stage1_width")


def _weights_config(config: dict, *ignore: str) -> dict:
    """A model config without the keys that change no trained tensor of the other (the strides
    of the stem and of stage 1's first block; the scheme's stream, whose int8 quantizers are
    new tensors set from the data) and without ``ignore``."""
    out = {k: v for k, v in config.items()
           if k not in ("stem_stride", "stage1_stride", *ignore)}
    if isinstance(out.get("scheme"), dict):
        out["scheme"] = {k: v for k, v in out["scheme"].items() if k != "stream"}
    return out


def init_ttq_from_weights(model: torch.nn.Module) -> None:
    """Rescale TTQ latent weights to max|w| = 1 (the TTQ paper normalises before quantizing)."""
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "weight_quant") and isinstance(m.weight_quant, TTQTernary):
                m.weight.div_(m.weight.abs().max().clamp_min(1e-12))


class Trainer:
    """Runs a :class:`Recipe` into ``out_dir`` (``last.pt``, ``best.pt``, ``metrics.csv``,
    ``metrics.jsonl``, ``recipe.yaml``)."""

    def __init__(self, recipe: Recipe, out_dir: Path, data: DataSplits | None = None,
                 data_path: str | None = None, device: str = "auto",
                 log: Callable[[str], None] = print, progress: bool = True,
                 compile_quantizers: bool = False) -> None:
        """``compile_quantizers``: run the 8-bit activation quantizers through
        ``torch.compile`` (:func:`trainer.quant.lsq.use_compiled`; for this process)."""
        lsq.use_compiled(compile_quantizers)
        if compile_quantizers:
            log("8-bit activation quantizers run through torch.compile")
        self.r = recipe
        self.out = Path(out_dir)
        self.device = pick_device(device)
        self.log = log
        self.progress = progress
        self.data = data if data is not None else make_splits(load_cifar10(data_path),
                                                              recipe.val_size)
        # CPU kernels used here are deterministic at a fixed thread count (the resume test
        # checks bit-exact continuation); torch.use_deterministic_algorithms costs ~20 % speed.
        torch.manual_seed(recipe.seed)
        self.model = build_model(recipe.variant, recipe.width, recipe.blocks_per_stage,
                                 recipe.stem_stride, recipe.stage1_stride,
                                 recipe.stage1_width or None)
        how = "fresh"
        if recipe.init_from:
            copied, how = load_init(self.model, recipe.init_from)
            log(f"initialised {len(copied)} tensors from {recipe.init_from}" + {
                "continued": " (same weights and quantizers: continuing them)",
                "narrowed": " (a wider network of the same kind: its leading channels)",
                "widened": " (a narrower network of the same kind: its channels lead, new "
                           "inputs into them start at zero)",
                "fine-tuned": ""}[how])
        if how in ("fresh", "fine-tuned"):
            init_ttq_from_weights(self.model)
        self.model.to(self.device, memory_format=torch.channels_last)
        self.opt = make_optimizer(self.model, recipe)
        self.steps_per_epoch = math.ceil(len(self.data.train) / recipe.batch_size)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(recipe, s, self.steps_per_epoch))
        self.epoch = 0
        self.best_val = -1.0
        self.ema = WeightAverage(self.model, recipe.ema_decay) if recipe.ema_decay else None
        self.train_data = self.data.train.to(self.device)
        self.teacher = (Teacher.from_checkpoint(recipe.teacher, recipe.distill_weight,
                                                recipe.distill_temperature, self.device)
                        if recipe.teacher else None)
        if self.teacher:
            _, teacher_val = evaluate(self.teacher.model, self.data.val, recipe.eval_batch_size)
            log(f"distilling from {recipe.teacher} (validation accuracy {teacher_val:.4f}; "
                f"weight {recipe.distill_weight}, temperature {recipe.distill_temperature})")

    @property
    def evaluated_model(self) -> torch.nn.Module:
        """The network validation sees, checkpoints store as ``model`` and export deploys: the
        weight average when the recipe keeps one, else the trained network itself."""
        return self.ema.model if self.ema else self.model

    # -- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        """``model``: the evaluated network; with weight averaging also ``train_model`` (the
        network the optimizer moves) and ``ema_updates``."""
        state = {"version": CHECKPOINT_VERSION, "config": self.model.config,
                 "recipe": self.r.to_dict(), "epoch": self.epoch, "best_val": self.best_val,
                 "model": self.evaluated_model.state_dict(), "optimizer": self.opt.state_dict(),
                 "scheduler": self.sched.state_dict()}
        if self.ema:
            state["train_model"] = self.model.state_dict()
            state["ema_updates"] = self.ema.updates
        return state

    def save(self, name: str) -> Path:
        path = self.out / name
        tmp = path.with_suffix(".tmp")
        torch.save(self.state(), tmp)
        tmp.replace(path)
        return path

    def resume(self) -> bool:
        """Continue from ``out_dir/last.pt`` if it exists; returns whether it did."""
        path = self.out / "last.pt"
        if not path.exists():
            return False
        ck = torch.load(path, map_location=self.device, weights_only=False)
        if ck["recipe"] != self.r.to_dict():
            now, default = self.r.to_dict(), Recipe().to_dict()  # keys added later: defaults
            changed = sorted(k for k in now if ck["recipe"].get(k, default[k]) != now[k])
            if changed:
                self.log(f"note: resuming with changed recipe fields: {', '.join(changed)}")
        self.model.load_state_dict(ck.get("train_model", ck["model"]))
        if self.ema:  # a run that kept no average starts one from its weights
            self.ema.load_state_dict({"model": ck["model"], "updates": ck.get("ema_updates", 0)})
        self.opt.load_state_dict(ck["optimizer"])
        self.sched.load_state_dict(ck["scheduler"])
        self.epoch, self.best_val = ck["epoch"], ck["best_val"]
        self.log(f"resumed from {path} after epoch {self.epoch} (best val {self.best_val:.4f})")
        return True

    # -- loop --------------------------------------------------------------------------------
    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on a batch (``x``: uint8 images ``[N, 3, 32, 32]`` as the
        augmentation returns them, ``y``: labels): forward, loss, backward, update,
        learning-rate schedule and weight average. Returns the detached loss and the logits."""
        r, model = self.r, self.model
        x = x.contiguous(memory_format=torch.channels_last)
        logits = model(x)
        if self.teacher:
            loss = self.teacher.loss(logits, x, y, r.label_smoothing)
        else:
            loss = F.cross_entropy(logits, y, label_smoothing=r.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.sched.step()
        if self.ema:
            self.ema.update(model)
        return loss.detach(), logits

    def train_epoch(self) -> tuple[float, float, float]:
        r, model, data = self.r, self.model, self.train_data
        gen = torch.Generator().manual_seed(r.seed * 100_003 + self.epoch)
        order = torch.randperm(len(data), generator=gen).to(self.device)
        model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        t0 = time.time()
        bar = tqdm(range(self.steps_per_epoch), desc=f"epoch {self.epoch + 1}/{r.epochs}",
                   leave=False, disable=not self.progress, unit="batch")
        for i in bar:
            idx = order[i * r.batch_size:(i + 1) * r.batch_size]
            x = data.images[idx]
            if r.augment:
                x = augment_batch(x, generator=gen)
            y = data.labels[idx]
            loss, logits = self.step(x, y)
            loss_sum += loss * len(y)
            correct += (logits.argmax(1) == y).sum()
            if self.progress and i % 20 == 0:  # .item() waits for a GPU: only for the bar
                bar.set_postfix(loss=f"{loss.item():.3f}")
        n = len(data)
        return loss_sum.item() / n, correct.item() / n, time.time() - t0

    def fit(self) -> list[EpochMetrics]:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "recipe.yaml").write_text(_yaml_dump(self.r.to_dict()))
        history: list[EpochMetrics] = []
        start = time.time()
        while self.epoch < self.r.epochs:
            lr = self.opt.param_groups[0]["lr"]
            tr_loss, tr_acc, secs = self.train_epoch()
            net = self.evaluated_model
            if self.r.bn_recalibration_batches:
                recalibrate_batch_norm(
                    net, self.train_data.images, self.r.bn_recalibration_batches,
                    self.r.batch_size, augment=self.r.augment,
                    generator=torch.Generator().manual_seed(self.r.seed * 100_019 + self.epoch))
            val_loss, val_acc = evaluate(net, self.data.val, self.r.eval_batch_size)
            self.epoch += 1
            m = EpochMetrics(self.epoch, lr, tr_loss, tr_acc, val_loss, val_acc, secs,
                             len(self.train_data) / secs)
            history.append(m)
            self._write_metrics(m)
            is_best = val_acc > self.best_val
            if is_best:  # before last.pt, so that a resumed run knows this epoch's figure
                self.best_val = val_acc
            self.save("last.pt")
            if is_best:
                self.save("best.pt")
            self.log(f"epoch {m.epoch:3d}/{self.r.epochs}  lr {lr:.2e}  train loss {tr_loss:.4f}"
                     f" acc {tr_acc:.4f}  val loss {val_loss:.4f} acc {val_acc:.4f}  "
                     f"{secs:.0f}s ({m.images_per_second:.0f} img/s)")
            if self.r.time_limit_min and time.time() - start > self.r.time_limit_min * 60:
                self.log(f"time limit of {self.r.time_limit_min} min reached after epoch "
                         f"{self.epoch}; `--resume` continues")
                break
        return history

    def _write_metrics(self, m: EpochMetrics) -> None:
        row = m.__dict__
        csv_path = self.out / "metrics.csv"
        new = not csv_path.exists() or m.epoch == 1
        with csv_path.open("w" if m.epoch == 1 else "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        with (self.out / "metrics.jsonl").open("w" if m.epoch == 1 else "a") as f:
            f.write(json.dumps({**row, "hardware": describe_hardware(self.device)}) + "\n")


def _yaml_dump(d: dict) -> str:
    import yaml
    return yaml.safe_dump(d, sort_keys=False)


def load_checkpoint_model(path: str | Path) -> tuple[DWSResNet, dict]:
    """Rebuild the model stored in a checkpoint, in eval mode on the CPU."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {ck.get('version')} is not "
                         f"{CHECKPOINT_VERSION}")
    model = model_from_config(ck["config"])
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck
