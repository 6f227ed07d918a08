"""CIFAR-10 on disk (readers, verification, fetching) and in memory (tensors, augmentation)."""

from .cifar10 import CLASSES, Cifar10, DatasetError, load_cifar10, resolve_path
from .tensors import DataSplits, augment_batch, make_splits

__all__ = ["CLASSES", "Cifar10", "DatasetError", "DataSplits", "augment_batch",
           "load_cifar10", "make_splits", "resolve_path"]
