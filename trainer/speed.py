"""Training throughput: time optimizer steps of a recipe's network on real, augmented batches
(`trit trainbench`), so that a change to the trainer is measured in images per second rather
than read off whole epochs that other work on the machine slows down."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from .data.tensors import augment_batch
from .train import Trainer


@dataclass(frozen=True)
class TrainingSpeed:
    """Seconds of each timed step (warm-up steps excluded) at ``batch_size`` images a step (the
    recipe's, or the whole training split where that is smaller)."""

    batch_size: int
    step_seconds: list[float]
    threads: int
    device: str

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.step_seconds)

    @property
    def images_per_second(self) -> float:
        """Batch size over the median step time."""
        return self.batch_size / self.median_seconds

    def summary(self) -> str:
        s, n = sorted(self.step_seconds), len(self.step_seconds)
        steps = f"{n} step{'' if n == 1 else 's'}"
        threads = f"{self.threads} thread{'' if self.threads == 1 else 's'}"
        return (f"{steps} of {self.batch_size} images on {self.device} ({threads}): median "
                f"{1e3 * self.median_seconds:.1f} ms (min {1e3 * s[0]:.1f}, max "
                f"{1e3 * s[-1]:.1f}), {self.images_per_second:.0f} images/s")


def measure_training_speed(trainer: Trainer, steps: int = 20, warmup: int = 3,
                           progress=None) -> TrainingSpeed:
    """Run ``warmup + steps`` optimizer steps of ``trainer`` (its weights and optimizer move:
    use a throw-away trainer) on consecutive training batches, augmented as in training, and
    time the last ``steps``. On a GPU each step is synchronised before its time is read.
    ``progress(i, total)`` is called after each step when given."""
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    r, data = trainer.r, trainer.train_data
    batch = min(r.batch_size, len(data))  # a training split smaller than a batch: all of it
    gen = torch.Generator().manual_seed(r.seed)
    trainer.model.train()
    cuda = trainer.device.type == "cuda"
    times: list[float] = []
    total = warmup + steps
    for i in range(total):
        lo = (i * batch) % (len(data) - batch + 1)
        x, y = data.images[lo:lo + batch], data.labels[lo:lo + batch]
        t0 = time.perf_counter()
        if r.augment:
            x = augment_batch(x, generator=gen)
        trainer.step(x, y)
        if cuda:
            torch.cuda.synchronize(trainer.device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
        if progress:
            progress(i + 1, total)
    return TrainingSpeed(batch, times, torch.get_num_threads(), str(trainer.device))
