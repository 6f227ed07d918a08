"""The generated C model, built for the host, against the reference interpreter."""

from __future__ import annotations

import ctypes as C
import subprocess

import numpy as np
import pytest

from codegen import reference
from codegen.render import render_model
from codegen.project import FIRMWARE, kernel_sources
from hostbench.firmware_build import CFLAGS
from tests.test_export import (trained_like_a8_model, trained_like_model,
                               trained_like_s8_stream_model, trained_like_sym_model)
from trainer.export import export_model


def build_model_lib(ir, tmp_path, flavour: str = "ref") -> C.CDLL:
    for name, text in render_model(ir).items():
        (tmp_path / name).write_text(text)
    kernels = kernel_sources(flavour)
    lib = tmp_path / "libmodel.so"
    subprocess.run(["gcc", *CFLAGS, "-shared", "-fPIC", f"-I{FIRMWARE / 'include'}",
                    f"-I{tmp_path}",
                    str(tmp_path / "model.c"), *map(str, kernels), "-o", str(lib)], check=True)
    return C.CDLL(str(lib))


def run_c(lib: C.CDLL, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = np.zeros((len(images), 10), np.int32)
    preds = np.zeros(len(images), np.int64)
    for i, img in enumerate(images):
        img = np.ascontiguousarray(img)
        preds[i] = lib.trit_model_run(C.c_void_p(img.ctypes.data),
                                      C.c_void_p(logits[i].ctypes.data))
    return logits, preds


@pytest.mark.parametrize("make,n", [(lambda: trained_like_model(seed=3), 1000),
                                     (lambda: trained_like_sym_model(seed=5), 500),
                                     (lambda: trained_like_a8_model(seed=4, width=8), 300),
                                     (lambda: trained_like_s8_stream_model(seed=6), 300)],
                         ids=["binary", "binary-one-scale", "a8", "s8-stream"])
def test_generated_model_matches_reference_on_test_images(make, n, cifar, tmp_path):
    """Binary activations (IR v1), the same with one scale per layer (IR v4: thresholds in
    units of one product, int8 arrays in the C code), 8-bit activations (IR v2: requantised
    convolutions, residual adds, int8 pooling), and binary convolutions on an int8 stream
    (sign layers, pointwise layers from binary inputs to int8)."""
    ir = export_model(make())
    lib = build_model_lib(ir, tmp_path)
    images = cifar.test_images[:n]
    logits, preds = run_c(lib, images)
    want = reference.run(ir, images)
    assert np.array_equal(logits, want["logits"])
    assert np.array_equal(preds, want["pred"])
    assert len(np.unique(logits[:, 0])) > 50  # the logits follow the images


def test_generated_source_is_readable(tmp_path):
    src = render_model(export_model(trained_like_model(width=8)))["model.c"]
    assert "/* ---- s2b1.pw2: pw1x1 16x16x16 -> 16x16x16, + residual s1b3.pw2" in src
    assert "(IR layer 'fc')" in src and "malloc" not in src
    assert src.count("trit_dw_ternary_bin(") == 18


@pytest.mark.parametrize("make", [lambda: trained_like_model(width=8),
                                  lambda: trained_like_s8_stream_model(width=8)],
                         ids=["binary", "s8-stream"])
@pytest.mark.parametrize("compiler", ["gcc", "arm-none-eabi-gcc"])
def test_generated_code_compiles_warning_free(compiler, make, tmp_path):
    import shutil
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    for name, text in render_model(export_model(make())).items():
        (tmp_path / name).write_text(text)
    extra = ["-mcpu=cortex-m4", "-mthumb"] if compiler.startswith("arm") else []
    subprocess.run([compiler, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", *extra,
                    f"-I{FIRMWARE / 'include'}", "-c", str(tmp_path / "model.c"),
                    "-o", str(tmp_path / "model.o")], check=True)
