"""CIFAR-10 readers for the official binary and python-pickle releases.

Images are returned as ``uint8`` arrays of shape ``[N, 3, 32, 32]`` (channel planes R, G, B,
each row-major) and labels as ``int64`` arrays of shape ``[N]``. Every batch is verified
against the published SHA-256 sums of the official binary files; a pickle batch is verified by
re-encoding it into the binary record layout (1 label byte + 3,072 pixel bytes per record),
which reproduces the binary file byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD_BYTES = 1 + 3 * 32 * 32
RECORDS_PER_BATCH = 10_000
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")

#: SHA-256 of each official binary batch file (``<name>.bin``).
SHA256 = {
    "data_batch_1": "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5",
    "data_batch_2": "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed",
    "data_batch_3": "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67",
    "data_batch_4": "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48",
    "data_batch_5": "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add",
    "test_batch": "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b",
}

ENV_VAR = "TRIT_CIFAR10"
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"


class DatasetError(RuntimeError):
    """The CIFAR-10 files are missing, incomplete or corrupted."""


@dataclass(frozen=True)
class Cifar10:
    """The 50,000 training and 10,000 test images, as loaded from disk."""

    train_images: np.ndarray  # uint8 [50000, 3, 32, 32]
    train_labels: np.ndarray  # int64 [50000]
    test_images: np.ndarray   # uint8 [10000, 3, 32, 32]
    test_labels: np.ndarray   # int64 [10000]


def default_locations(repo_root: Path | None = None) -> list[Path]:
    """Places searched, in order, when no path is given: ``$TRIT_CIFAR10``, ``data/``, ``../shared``."""
    root = repo_root or Path.cwd()
    found: list[Path] = []
    if os.environ.get(ENV_VAR):
        found.append(Path(os.environ[ENV_VAR]))
    found += [
        root / "data" / "cifar-10-batches-bin",
        root / "data" / "cifar-10-binary.tar.gz",
        root.parent / "shared" / "datasets" / "cifar-10-binary.tar.gz",
    ]
    return found


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """Return the dataset path to use, or raise :class:`DatasetError` saying what to get."""
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DatasetError(f"CIFAR-10 not found at {p}")
        return p
    for p in default_locations():
        if p.exists():
            return p
    raise DatasetError(
        "CIFAR-10 not found. Run `trit data fetch`, or download "
        f"{OFFICIAL_URL} and put it at data/cifar-10-binary.tar.gz "
        f"(or point ${ENV_VAR} at it).")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_batch(name: str, raw: bytes, source: str) -> None:
    """Check one batch in the binary record layout against the published SHA-256."""
    if len(raw) != RECORD_BYTES * RECORDS_PER_BATCH:
        raise DatasetError(
            f"{source}: {name} has {len(raw)} bytes, expected "
            f"{RECORD_BYTES * RECORDS_PER_BATCH} (10,000 records of 3,073 bytes)")
    digest = sha256(raw)
    if digest != SHA256[name]:
        raise DatasetError(
            f"{source}: {name} is corrupted (SHA-256 {digest}, expected {SHA256[name]})")


def decode_records(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Split binary records into ``uint8 [N,3,32,32]`` images and ``int64 [N]`` labels."""
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = rec[:, 0].astype(np.int64)
    images = rec[:, 1:].reshape(-1, 3, 32, 32).copy()
    return images, labels


def encode_records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Inverse of :func:`decode_records`: the official binary record layout."""
    n = len(labels)
    rec = np.empty((n, RECORD_BYTES), dtype=np.uint8)
    rec[:, 0] = labels
    rec[:, 1:] = images.reshape(n, -1)
    return rec.tobytes()


def _binary_member_name(name: str) -> str:
    return f"{name}.bin"


def _read_raw_batches(path: Path) -> dict[str, bytes]:
    """Raw binary-layout bytes of all six batches from any supported on-disk form."""
    names = TRAIN_BATCHES + (TEST_BATCH,)
    if path.is_dir():
        return _read_dir(path, names)
    if tarfile.is_tarfile(path):
        return _read_tar(path, names)
    raise DatasetError(f"{path}: neither a directory nor a tar archive of CIFAR-10")


def _read_dir(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    for sub in (path, path / "cifar-10-batches-bin", path / "cifar-10-batches-py"):
        if (sub / _binary_member_name(names[0])).exists() or (sub / names[0]).exists():
            path = sub
            break
    out: dict[str, bytes] = {}
    for name in names:
        binary, pickled = path / _binary_member_name(name), path / name
        if binary.exists():
            out[name] = binary.read_bytes()
        elif pickled.exists():
            out[name] = _pickle_to_records(pickled.read_bytes(), f"{pickled}")
        else:
            raise DatasetError(f"{path}: {binary.name} is missing")
    return out


def _read_tar(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            base = Path(member.name).name
            if not member.isfile():
                continue
            if base.endswith(".bin") and base[:-4] in names:
                out[base[:-4]] = tar.extractfile(member).read()
            elif base in names and "batches-py" in member.name:
                out[base] = _pickle_to_records(tar.extractfile(member).read(),
                                               f"{path}:{member.name}")
    missing = [n for n in names if n not in out]
    if missing:
        raise DatasetError(f"{path}: missing {', '.join(_binary_member_name(m) for m in missing)}")
    return out


def _pickle_to_records(data: bytes, source: str) -> bytes:
    """Convert one python-release batch to the binary record layout."""
    try:
        batch = pickle.load(io.BytesIO(data), encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    except Exception as exc:  # a corrupted pickle can raise nearly anything
        raise DatasetError(f"{source}: not a readable CIFAR-10 pickle batch ({exc})") from exc
    return encode_records(images, labels)


def load_cifar10(path: str | os.PathLike | None = None) -> Cifar10:
    """Load and verify CIFAR-10 from a ``.tar.gz``, an extracted folder or the pickle release."""
    p = resolve_path(path)
    raw = _read_raw_batches(p)
    for name, data in raw.items():
        verify_batch(name, data, str(p))
    train = [decode_records(raw[n]) for n in TRAIN_BATCHES]
    test_images, test_labels = decode_records(raw[TEST_BATCH])
    return Cifar10(
        train_images=np.concatenate([t[0] for t in train]),
        train_labels=np.concatenate([t[1] for t in train]),
        test_images=test_images,
        test_labels=test_labels,
    )
