"""The int8 twin of a binary model (codegen/int8_twin.py): its structure, its calibration, and
its generated C against the reference interpreter on the host and on the emulated M4."""

from __future__ import annotations

import numpy as np
import pytest

from codegen import reference
from codegen.int8_twin import TwinError, int8_twin, requant_for
from codegen.ir import load_ir, save_ir
from codegen.ir.model import Requant, SignThreshold
from tests.test_export import trained_like_a8_model, trained_like_sym_model
from tests.test_generated_model import build_model_lib, run_c
from trainer.export import export_model


@pytest.fixture(scope="module")
def binary_ir():
    return export_model(trained_like_sym_model(seed=2, width=8))


@pytest.fixture(scope="module")
def twin(binary_ir, cifar):
    return int8_twin(binary_ir, cifar.train_images[:32])


def test_twin_mirrors_every_convolution(binary_ir, twin):
    convs = [layer for layer in binary_ir.layers if layer.op == "conv2d"]
    twins = {layer.name: layer for layer in twin.layers}
    for layer in convs:
        t = twins[layer.name]
        assert (t.in_shape, t.out_shape, t.kernel, t.stride, t.padding, t.groups) == \
            (layer.in_shape, layer.out_shape, layer.kernel, layer.stride, layer.padding,
             layer.groups)
        assert t.weights.format == "int8" and isinstance(t.output, Requant)
        if layer.weights.format == "ternary":
            assert np.array_equal(np.sign(t.weights.values), layer.weights.values)
    residuals = [layer for layer in convs if layer.output.residual is not None]
    adds = [layer for layer in twin.layers if layer.op == "add"]
    assert len(adds) == len(residuals) > 0
    assert [a.add.stride for a in adds] == [r.output.residual_stride for r in residuals]
    assert not any(isinstance(layer.output, SignThreshold) for layer in twin.layers)
    assert twin.layers[-1].op == "dense" and twin.version == 2


def test_twin_activations_use_the_int8_range(twin, cifar):
    values = reference.run(twin, cifar.test_images[:20], keep=True)
    for layer in twin.layers:
        if isinstance(layer.output, Requant):
            v = values[layer.name]
            assert 0.1 < (v > 0).mean() < 0.9, layer.name       # the ReLU cuts about half
            assert v.max() >= 64, layer.name                     # calibrated, not tiny


def test_requant_for_maps_the_top_percentile_near_the_target():
    rng = np.random.default_rng(0)
    acc = rng.normal(5000, 3000, (4, 3, 8, 8)).round().astype(np.int64)
    rq = requant_for(acc)
    y = rq.apply(acc)
    assert 2 ** 30 <= int(rq.mult[0]) < 2 ** 31 and 33 <= int(rq.shift[0]) <= 62
    assert abs(np.percentile(y[y > 0], 99.9) - 100) <= 3
    assert abs((y > 0).mean() - 0.5) < 0.05


def test_twin_refuses_int8_activation_models(cifar):
    with pytest.raises(TwinError, match="already has int8 activations"):
        int8_twin(export_model(trained_like_a8_model(width=8)), cifar.train_images[:4])


def test_twin_generated_c_matches_reference(twin, cifar, tmp_path):
    lib = build_model_lib(twin, tmp_path)
    images = cifar.test_images[:40]
    logits, preds = run_c(lib, images)
    want = reference.run(twin, images)
    assert np.array_equal(logits, want["logits"]) and np.array_equal(preds, want["pred"])


def test_twin_round_trips_and_benches_on_the_m4(twin, cifar_path, tmp_path):
    from hostbench.cli import main
    path = tmp_path / "twin.trit"
    save_ir(twin, path)
    assert load_ir(path).meta["int8_twin_of"] == twin.meta["int8_twin_of"]
    assert main(["bench", "--board", "mps2-an386", "--model", str(path), "--images", "3",
                 "--direct", "--data", str(cifar_path)]) == 0   # 0: agreement 1.0


def test_int8_twin_command_writes_the_twin(binary_ir, cifar_path, tmp_path, capsys):
    from hostbench.cli import main
    src, out = tmp_path / "bin.trit", tmp_path / "out" / "twin.trit"
    save_ir(binary_ir, src)
    assert main(["int8-twin", str(src), "-o", str(out), "--data", str(cifar_path),
                 "--calibration-images", "8"]) == 0
    twin = load_ir(out)
    assert twin.meta["calibration_images"] == 8 and twin.version == 2
    assert "trit bench --board mps2-an386 --model" in capsys.readouterr().out
    assert main(["int8-twin", str(out), "-o", str(tmp_path / "again.trit"),
                 "--data", str(cifar_path)]) == 2   # an int8 model has no twin
