"""CIFAR-10 as in-memory uint8 tensors, a fixed validation split, and tensor-op augmentation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .cifar10 import Cifar10

DEFAULT_VAL_SIZE = 5_000


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 3, 32, 32]
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> "Split":
        return Split(self.images.to(device), self.labels.to(device))


@dataclass
class DataSplits:
    """Training images for fitting, a held-out validation split for model selection, and the
    test split, which only reporting code should touch."""

    train: Split
    val: Split
    test: Split


def make_splits(data: Cifar10, val_size: int = DEFAULT_VAL_SIZE) -> DataSplits:
    """Hold out the *last* ``val_size`` training images as the validation split (fixed, not random)."""
    if not 0 <= val_size < len(data.train_labels):
        raise ValueError(f"val_size must be in [0, {len(data.train_labels)}), got {val_size}")
    n = len(data.train_labels) - val_size

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        return Split(torch.from_numpy(np.ascontiguousarray(images)),
                     torch.from_numpy(np.ascontiguousarray(labels)))

    return DataSplits(
        train=split(data.train_images[:n], data.train_labels[:n]),
        val=split(data.train_images[n:], data.train_labels[n:]),
        test=split(data.test_images, data.test_labels),
    )


def to_device_async(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``t`` (a CPU tensor) on ``device``. To a GPU through pinned memory with a non-blocking
    copy: a copy from ordinary memory waits for all the work queued before it, and a few such
    copies per training step keep the host from running ahead of the GPU."""
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def augment_batch(images: torch.Tensor, pad: int = 4, flip: bool = True,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop (zero padding of ``pad`` pixels on each side) and random horizontal flip.

    ``images`` is ``uint8 [N, C, H, W]`` on any device; the result has the same shape, dtype and
    device. One gather per batch, no per-image Python. The offsets and flips are drawn from
    ``generator`` on the CPU (the same draws on every device) and reach a GPU without
    synchronising it (:func:`to_device_async`).
    """
    n, c, h, w = images.shape
    dev = images.device
    if pad > 0:
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
        dy = to_device_async(torch.randint(0, 2 * pad + 1, (n,), generator=generator), dev)
        dx = to_device_async(torch.randint(0, 2 * pad + 1, (n,), generator=generator), dev)
        rows = (dy[:, None] + torch.arange(h, device=dev)[None, :])  # [N, H]
        cols = (dx[:, None] + torch.arange(w, device=dev)[None, :])  # [N, W]
        if flip:
            mirror = to_device_async(torch.rand(n, generator=generator), dev) < 0.5
            cols = torch.where(mirror[:, None], cols.flip(1), cols)
        idx_n = torch.arange(n, device=dev)[:, None, None, None]
        idx_c = torch.arange(c, device=dev)[None, :, None, None]
        return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        mirror = to_device_async(torch.rand(n, generator=generator) < 0.5, dev)
        return torch.where(mirror[:, None, None, None], images.flip(3), images)
    return images
