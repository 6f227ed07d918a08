"""Shared fixtures: the CIFAR-10 archive (TRIT_CIFAR10 or ../shared/datasets) loaded once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

# Tests that build firmware and run it in QEMU (make setup installs both).
needs_emulator = pytest.mark.skipif(
    not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
    reason="needs gcc-arm-none-eabi and qemu-system-arm (make setup)")


def dataset_path() -> Path | None:
    env = os.environ.get("TRIT_CIFAR10")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "datasets" / "cifar-10-binary.tar.gz")
    return next((p for p in candidates if p.exists()), None)


@pytest.fixture(scope="session")
def cifar_path() -> Path:
    path = dataset_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs CIFAR-10: set TRIT_CIFAR10 or put ../shared/datasets beside")
        pytest.skip("CIFAR-10 archive not found (set TRIT_CIFAR10)")
    return path


@pytest.fixture(scope="session")
def cifar(cifar_path):
    from trainer.data import load_cifar10
    return load_cifar10(cifar_path)


def assert_runs_like_the_reference(elf: Path, ir, images: np.ndarray, board: str = "mps2-an386",
                                   instances: int = 1):
    """Run ``images`` through the firmware ``elf`` on ``board`` in bulk mode: every prediction
    and every logit (their FNV-1a hash) equal to the reference interpreter's. Returns the
    bulk result (counters included)."""
    from codegen import reference
    from hostbench.bulk import fnv1a_logits, run_bulk
    res = run_bulk(elf, images, board=board, instances=instances)
    want = reference.run(ir, images)
    assert np.array_equal(res.pred, want["pred"])
    assert np.array_equal(res.logits_hash, fnv1a_logits(want["logits"]))
    return res
