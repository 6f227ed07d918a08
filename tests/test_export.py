"""Export to the IR, the IR file format, threshold folding and the reference interpreter."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch

from codegen import reference
from codegen.ir import (INT32_MAX, INT32_MIN, IRError, Requant, SignThreshold, Weights, load_ir,
                        save_ir)
from codegen.ir.count_units import count_unit_thresholds
from codegen.ir.model import validate
from trainer.export import ExportError, export_model, fold_sign_threshold
from trainer.models import build_model
from trainer.size_report import model_storage


def _randomise(model):
    """Random TTQ scales, activation steps and batch-norm statistics (negative gammas
    included), standing in for a trained model's."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.randn(c))
                m.bias.copy_(torch.randn(c) * 0.5)
                m.running_mean.copy_(torch.randn(c) * 3)
                m.running_var.copy_(torch.rand(c) * 20 + 0.5)
            if hasattr(m, "wp"):
                m.wp.copy_(torch.rand(()) + 0.3)
                if m.wn is not m.wp:
                    m.wn.copy_(torch.rand(()) + 0.3)
            if hasattr(m, "step"):
                m.step.copy_((torch.rand(()) + 0.5) * 0.03)
        model.fc.bias.copy_(torch.randn(10))
    return model.eval()


def trained_like_model(seed: int = 0, width: int = 16):
    """A ttq-all-bin model standing in for a trained one (see :func:`_randomise`)."""
    torch.manual_seed(seed)
    return _randomise(build_model("ttq-all-bin", width=width))


def trained_like_sym_model(seed: int = 0, width: int = 16, **layout):
    """A ttq-all-bin-sym model (one scale per ternary layer) standing in for a trained one;
    ``layout``: build_model's strides and stage-1 width."""
    torch.manual_seed(seed)
    return _randomise(build_model("ttq-all-bin-sym", width=width, **layout))


def trained_like_a8_model(seed: int = 0, width: int = 8, **layout):
    """A ttq-all-a8 model standing in for a trained one (see :func:`_randomise`); ``layout``:
    build_model's strides and stage-1 width."""
    torch.manual_seed(seed)
    return _randomise(build_model("ttq-all-a8", width=width, **layout))


def test_fold_hand_values():
    t = fold_sign_threshold(np.array([2.0, -2.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0, -1.0]),
                            residual=False)
    assert t.direction.tolist() == [1, -1, 1, 1]
    assert t.threshold.tolist() == [0, 0, INT32_MIN, INT32_MAX]


def test_fold_matches_float_sign_exhaustively():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.normal(size=40), [0.0, 0.0]])
    b = np.concatenate([rng.normal(size=40) * 20, [0.5, -0.5]])
    t = fold_sign_threshold(a, b, residual=True)
    acc = np.arange(-200, 201)
    for c in range(len(a)):
        for col, r in enumerate((-1, 0, 1)):
            want = np.where(a[c] * acc + b[c] + r >= 0, 1, -1)
            thr = int(t.threshold[c, col])
            got = np.where((acc >= thr) if t.direction[c] > 0 else (acc <= thr), 1, -1)
            assert np.array_equal(want, got), (c, r)


def test_export_roundtrip_identical_tensors(tmp_path):
    ir = export_model(trained_like_model())
    path = tmp_path / "m.trit"
    save_ir(ir, path)
    back = load_ir(path)
    assert [l.name for l in back.layers] == [l.name for l in ir.layers]
    for a, b in zip(ir.layers, back.layers):
        ta, tb = a.tensors(), b.tensors()
        assert ta.keys() == tb.keys()
        for k in ta:
            assert ta[k].dtype == tb[k].dtype and np.array_equal(ta[k], tb[k]), (a.name, k)
        assert (a.op, a.in_shape, a.out_shape, a.stride, a.groups) == \
            (b.op, b.in_shape, b.out_shape, b.stride, b.groups)
    assert back.layer("s2b1.pw2").output.residual == "s1b3.pw2"
    assert back.layer("s2b1.pw2").output.residual_stride == 2
    # the same IR saved again gives the same bytes (no timestamps): exports are reproducible
    save_ir(back, tmp_path / "again.trit")
    assert (tmp_path / "again.trit").read_bytes() == path.read_bytes()


def test_ir_storage_equals_model_report():
    model = trained_like_model()
    assert export_model(model).storage().rows == model_storage(model).rows


def test_reference_agrees_with_pytorch():
    model = trained_like_model(seed=1)
    ir = export_model(model)
    images = np.random.default_rng(0).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    out = reference.run(ir, images, keep=True)
    with torch.no_grad():
        x = torch.from_numpy(images)
        stem = model.act_stem(model.stem(model.normalise(x))).numpy()
        logits = model(x).numpy()
    assert np.array_equal(stem, out["stem"])  # int8 input layer: exact
    assert (logits.argmax(1) == out["pred"]).mean() >= 0.995


def _prediction_agreement(model, ir, seed: int) -> float:
    """How often PyTorch and the integer reference predict the same class, over 300 random
    images."""
    images = np.random.default_rng(seed).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    with torch.no_grad():
        logits = model(torch.from_numpy(images)).numpy()
    return float((logits.argmax(1) == reference.run(ir, images)["pred"]).mean())


def test_stride2_stem_exports_and_agrees_with_pytorch():
    """A stride-2 input convolution: the stages run on 16x16, 8x8 and 4x4 maps, the IR says
    so, and the integer reference follows PyTorch as at stride 1."""
    torch.manual_seed(2)
    model = _randomise(build_model("ttq-all-bin", width=16, stem_stride=2))
    ir = export_model(model)
    stem = ir.layer("stem")
    assert (stem.stride, stem.out_shape) == (2, (16, 16, 16))
    assert ir.layer("s3b3.pw2").out_shape == (64, 4, 4)
    assert ir.meta["model_config"]["stem_stride"] == 2
    assert ir.storage().rows == model_storage(build_model("ttq-all-bin", width=16)).rows
    images = np.random.default_rng(1).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    out = reference.run(ir, images, keep=True)
    with torch.no_grad():
        x = torch.from_numpy(images)
        assert np.array_equal(model.act_stem(model.stem(model.normalise(x))).numpy(),
                              out["stem"])
        logits = model(x).numpy()
    assert (logits.argmax(1) == out["pred"]).mean() >= 0.99


def test_stride2_first_block_exports_and_agrees_with_pytorch():
    """Stage 1's first block downsampling: the input convolution keeps 32x32, ``s1b1.dw1``
    halves the map and ``s1b1``'s shortcut subsamples the input convolution's map at the same
    width; the stages end on 4x4, and the integer reference follows PyTorch."""
    torch.manual_seed(3)
    model = _randomise(build_model("ttq-all-bin", width=16, stage1_stride=2))
    ir = export_model(model)
    assert ir.layer("stem").out_shape == (16, 32, 32)
    dw1 = ir.layer("s1b1.dw1")
    assert (dw1.stride, dw1.out_shape) == (2, (16, 16, 16))
    pw2 = ir.layer("s1b1.pw2")
    assert (pw2.output.residual, pw2.output.residual_stride) == ("stem", 2)
    assert ir.layer("s1b2.dw1").stride == 1
    assert ir.layer("s3b3.pw2").out_shape == (64, 4, 4)
    assert ir.meta["model_config"]["stage1_stride"] == 2
    assert ir.storage().rows == model_storage(build_model("ttq-all-bin", width=16)).rows
    assert _prediction_agreement(model, ir, seed=2) >= 0.99


def test_wider_stage1_exports_and_agrees_with_pytorch():
    """``stage1_width`` apart from ``width``: the input convolution and stage 1 at 12 channels,
    stages 2 and 3 at 16 and 32; stage 2's first shortcut pads 12 channels to 16."""
    torch.manual_seed(4)
    model = _randomise(build_model("ttq-all-bin", width=8, stage1_width=12))
    ir = export_model(model)
    assert ir.layer("stem").out_shape == (12, 32, 32)
    assert ir.layer("s1b3.pw2").out_shape == (12, 32, 32)
    assert ir.layer("s2b1.pw1").out_shape == (16, 16, 16)
    assert ir.layer("s3b3.pw2").out_shape == (32, 8, 8)
    assert ir.meta["model_config"]["stage1_width"] == 12
    assert ir.storage().rows == model_storage(model).rows
    assert _prediction_agreement(model, ir, seed=3) >= 0.99


def test_stage1_stride_must_be_1_or_2():
    with pytest.raises(ValueError, match="stage1_stride must be 1 or 2"):
        build_model("ttq-all-bin", width=8, stage1_stride=3)


def test_stem_stride_must_be_1_or_2():
    with pytest.raises(ValueError, match="stem_stride must be 1 or 2"):
        build_model("ttq-all-bin", width=8, stem_stride=3)


def test_non_binary_variants_are_refused():
    with pytest.raises(ExportError, match="activation is 'relu'"):
        export_model(build_model("ttq-pw", width=8))
    with pytest.raises(ExportError, match="pointwise weights are 'float'; they must be ternary"):
        export_model(build_model("fp-bin", width=8))
    from trainer.models import QuantScheme
    from trainer.models.dws_resnet import DWSResNet
    with pytest.raises(ExportError, match="one scale per ternary layer"):
        export_model(DWSResNet(QuantScheme(activation="relu8"), width=8))
    with pytest.raises(ExportError, match="int8 stream need one scale per ternary layer"):
        export_model(DWSResNet(QuantScheme(stream="int8"), width=8))


def _rewrite(src, dst, graph_edit=None, tensor_edit=None):
    with zipfile.ZipFile(src) as z:
        graph = json.loads(z.read("graph.json"))
        tensors_raw = z.read("tensors.npz")
    import io
    with np.load(io.BytesIO(tensors_raw)) as npz:
        tensors = {k: npz[k] for k in npz.files}
    if graph_edit:
        graph_edit(graph)
    if tensor_edit:
        tensor_edit(tensors)
    buf = io.BytesIO()
    np.savez(buf, **tensors)
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("graph.json", json.dumps(graph))
        z.writestr("tensors.npz", buf.getvalue())


@pytest.fixture
def ir_file(tmp_path):
    path = tmp_path / "ok.trit"
    save_ir(export_model(trained_like_model(width=8)), path)
    return path


def test_unknown_version_rejected(ir_file, tmp_path):
    bad = tmp_path / "bad.trit"
    _rewrite(ir_file, bad, graph_edit=lambda g: g.update(version=99))
    with pytest.raises(IRError, match="version 99 is not supported"):
        load_ir(bad)


def test_bad_ternary_code_names_layer_and_field(ir_file, tmp_path):
    bad = tmp_path / "bad.trit"

    def edit(t):
        t["s1b2.dw1.weights"][0, 0, 0, 0] = 2
    _rewrite(ir_file, bad, tensor_edit=edit)
    with pytest.raises(IRError, match="layer 's1b2.dw1' field 'weights.values'"):
        load_ir(bad)


def test_missing_tensor_and_shape_errors(ir_file, tmp_path):
    bad = tmp_path / "bad.trit"
    _rewrite(ir_file, bad, tensor_edit=lambda t: t.pop("s3b1.pw1.threshold"))
    with pytest.raises(IRError, match="s3b1.pw1.*output.threshold"):
        load_ir(bad)

    def shape(g):
        g["layers"][3]["out_shape"] = [5, 32, 32]
    _rewrite(ir_file, bad, graph_edit=shape)
    with pytest.raises(IRError, match="layer 's1b1.dw2'"):
        load_ir(bad)


def test_not_an_archive(tmp_path):
    p = tmp_path / "x.trit"
    p.write_text("hello")
    with pytest.raises(IRError, match="not a trit IR archive"):
        load_ir(p)


# ---- 8-bit activations (IR v2) ---------------------------------------------------------------

def test_binary_models_stay_ir_version_1_and_a8_models_are_version_5():
    """Version 5 for the 16-bit requantisation multipliers; version 2 with 32-bit ones."""
    assert export_model(trained_like_model(width=8)).version == 1
    assert export_model(trained_like_a8_model(), requant_mult_bits=32).version == 2
    ir = export_model(trained_like_a8_model())
    assert ir.version == 5
    assert [layer.name for layer in ir.layers if layer.op == "add"] == [
        f"s{s}b{b}.add" for s in (1, 2, 3) for b in (1, 2, 3)]
    assert ir.layer("s1b1.pw2").output.act_min == -128
    assert ir.layer("s1b1.pw1").output.act_min == 0
    assert ir.layer("s2b1.add").add.stride == 2 and ir.layer("s2b1.add").add.other == "s1b3.add"


def test_a8_export_roundtrip_and_storage(tmp_path):
    model = trained_like_a8_model(seed=2)
    ir = export_model(model)
    assert ir.storage().rows == model_storage(model).rows
    save_ir(ir, tmp_path / "a8.trit")
    back = load_ir(tmp_path / "a8.trit")
    assert back.version == 5
    for a, b in zip(ir.layers, back.layers):
        assert a.add == b.add
        for k, v in a.tensors().items():
            assert np.array_equal(v, b.tensors()[k]) and v.dtype == b.tensors()[k].dtype


def test_a8_reference_agrees_with_pytorch():
    """The integer model rounds where the float one does (steps, multipliers), so the two
    agree on nearly every image, and the stem's int8 codes match exactly but for rounding
    ties."""
    model = trained_like_a8_model(seed=1)
    ir = export_model(model)
    images = np.random.default_rng(0).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    out = reference.run(ir, images, keep=True)
    with torch.no_grad():
        x = torch.from_numpy(images)
        stem = model.act_stem(model.stem(model.normalise(x))) / model.act_stem.scale()
        logits = model(x).numpy()
    assert (np.rint(stem.numpy()) == out["stem"]).mean() >= 0.999
    assert (logits.argmax(1) == out["pred"]).mean() >= 0.98


def trained_like_s8_stream_model(seed: int = 0, width: int = 8):
    """A ttq-all-bin-s8 model standing in for a trained one (see :func:`_randomise`)."""
    torch.manual_seed(seed)
    model = _randomise(build_model("ttq-all-bin-s8", width=width))
    with torch.no_grad():  # the stream's steps as a trained model has them: near its spread
        for q in [model.act_stem] + [b.act_out for b in model.blocks]:
            q.step.fill_(0.05)
    return model


def test_s8_stream_export_has_a_sign_per_block(tmp_path):
    """Version 3 (the sign layer), 4 since its binary layers' thresholds take one byte, 5
    with 16-bit requantisation multipliers."""
    model = trained_like_s8_stream_model(seed=3)
    assert export_model(model, requant_mult_bits=32).version == 4
    ir = export_model(model)
    assert ir.version == 5
    assert ir.storage().rows == model_storage(model).rows
    names = [layer.name for layer in ir.layers]
    assert names[:8] == ["stem", "s1b1.sign", "s1b1.dw1", "s1b1.pw1", "s1b1.dw2", "s1b1.pw2",
                         "s1b1.add", "s1b2.sign"]
    assert ir.layer("s1b2.sign").input == "s1b1.add"
    assert ir.layer("s2b1.add").add.other == "s1b3.add" and ir.layer("s2b1.add").add.stride == 2
    save_ir(ir, tmp_path / "s8.trit")
    back = load_ir(tmp_path / "s8.trit")
    assert back.version == 5 and [layer.op for layer in back.layers] == \
        [layer.op for layer in ir.layers]


def test_s8_stream_reference_agrees_with_pytorch():
    """Stream codes, the signs taken of them (code 0 is +1, also where the float rounding left
    −0.0) and the predictions of the integer model against PyTorch's."""
    model = trained_like_s8_stream_model(seed=4)
    ir = export_model(model)
    images = np.random.default_rng(1).integers(0, 256, (300, 3, 32, 32), dtype=np.uint8)
    out = reference.run(ir, images, keep=True)
    seen = {}
    block = model.blocks.s1b2
    block.act_in.register_forward_hook(lambda m, i, o: seen.__setitem__("sign", o))
    with torch.no_grad():
        x = torch.from_numpy(images)
        stem = model.act_stem(model.stem(model.normalise(x))) / model.act_stem.scale()
        logits = model(x).numpy()
    assert (np.rint(stem.numpy()) == out["stem"]).mean() >= 0.999
    assert (seen["sign"].numpy() == out["s1b2.sign"]).mean() >= 0.99
    assert set(np.unique(out["s1b2.sign"])) <= {-1, 1}
    assert (logits.argmax(1) == out["pred"]).mean() >= 0.95


def test_sign_layer_needs_version_3_and_an_int8_input():
    ir = export_model(trained_like_s8_stream_model(seed=5), requant_mult_bits=32)
    ir.version = 2
    with pytest.raises(IRError, match="'sign' needs IR version 3"):
        validate(ir)
    ir.version = 4
    ir.layer("s1b2.sign").input = "s1b1.dw1"
    with pytest.raises(IRError, match="not an earlier int8 layer output"):
        validate(ir)


def test_requantisation_matches_real_multipliers():
    from trainer.export import requantisation
    rng = np.random.default_rng(0)
    m = np.exp(rng.uniform(np.log(1e-6), np.log(0.2), 64))
    c = rng.uniform(-50, 150, 64)
    rq = requantisation(m, c, act_min=0)
    acc = rng.integers(-100000, 100000, (1000, 64))
    got = rq.apply(acc, axis=1).astype(np.int64)
    want = np.clip(np.rint(m * acc + c), 0, 127)
    assert np.abs(got - want).max() <= 1 and (got == want).mean() > 0.99


def test_requantisation_with_16_bit_multipliers():
    """16-bit multipliers: every mult a multiple of 2**16 in [2**30, 2**31), within a relative
    2**-15 of the real one, and the outputs as near the real values as 32-bit ones."""
    from trainer.export import requantisation
    rng = np.random.default_rng(0)
    m = np.exp(rng.uniform(np.log(1e-6), np.log(0.2), 64))
    c = rng.uniform(-50, 150, 64)
    rq = requantisation(m, c, act_min=0, mult_bits=16)
    assert rq.mult_bits == 16 and not (rq.mult & 0xFFFF).any()
    assert ((rq.mult >= 2 ** 30) & (rq.mult.astype(np.int64) < 2 ** 31)).all()
    real = rq.mult.astype(np.float64) * 2.0 ** -rq.shift.astype(np.float64)
    assert np.abs(real / m - 1).max() <= 2.0 ** -15
    acc = rng.integers(-100000, 100000, (1000, 64))
    got = rq.apply(acc, axis=1).astype(np.int64)
    want = np.clip(np.rint(m * acc + c), 0, 127)
    assert np.abs(got - want).max() <= 1 and (got == want).mean() > 0.99
    wide = requantisation(m, c, act_min=0)
    assert np.array_equal(wide.bias, rq.bias) and np.array_equal(wide.shift, rq.shift)
    with pytest.raises(ValueError, match="16 or 32"):
        requantisation(m, c, act_min=0, mult_bits=8)


def test_16_bit_multipliers_are_stored_in_16_bits(tmp_path):
    """The file holds each multiplier as int16 (``mult >> 16``), the storage count 2 bytes a
    channel less, and the loaded model computes what the 32-bit export computes but for the
    multipliers' rounding."""
    model = trained_like_a8_model(seed=6)
    narrow, wide = export_model(model), export_model(model, requant_mult_bits=32)
    save_ir(narrow, tmp_path / "n.trit")
    with zipfile.ZipFile(tmp_path / "n.trit") as z:
        graph = json.loads(z.read("graph.json"))
        import io
        with np.load(io.BytesIO(z.read("tensors.npz"))) as npz:
            stored = npz["s1b1.pw1.rq_mult"]
    assert stored.dtype == np.int16 and ((stored >= 2 ** 14) & (stored < 2 ** 15)).all()
    assert next(d for d in graph["layers"] if d["name"] == "s1b1.pw1")["output"]["mult_bits"] == 16
    back = load_ir(tmp_path / "n.trit")
    rq = back.layer("s1b1.pw1").output
    assert rq.mult.dtype == np.int32 and np.array_equal(rq.mult, stored.astype(np.int32) << 16)
    channels = sum(layer.output.mult.size for layer in narrow.layers
                   if isinstance(layer.output, Requant))
    assert wide.storage().total - back.storage().total == 2 * channels
    assert back.storage().rows == model_storage(model).rows
    assert wide.storage().rows == model_storage(model, requant_mult_bits=32).rows
    images = np.random.default_rng(3).integers(0, 256, (200, 3, 32, 32), dtype=np.uint8)
    a, b = reference.run(back, images, keep=True), reference.run(wide, images, keep=True)
    assert (a["stem"] == b["stem"]).mean() >= 0.999
    assert (a["pred"] == b["pred"]).mean() >= 0.98


def test_16_bit_multipliers_need_version_5_and_whole_multiples(tmp_path):
    ir = export_model(trained_like_a8_model(seed=7))
    ir.version = 4
    with pytest.raises(IRError, match="16 needs IR version 5"):
        validate(ir)
    ir.version = 5
    ir.layer("s1b1.pw1").output.mult[0] += 1
    with pytest.raises(IRError, match="layer 's1b1.pw1' field 'output.mult'.*multiples of 2\\*\\*16"):
        validate(ir)
    ir.layer("s1b1.pw1").output.mult[0] -= 1
    path, bad = tmp_path / "ok.trit", tmp_path / "bad.trit"
    save_ir(ir, path)
    _rewrite(path, bad, graph_edit=lambda g: g.update(version=4))
    with pytest.raises(IRError, match="'output.mult_bits' is 16, expected 32 or 16 \\(version 5 on\\)"):
        load_ir(bad)

    def widen(t):
        t["s1b1.pw1.rq_mult"] = t["s1b1.pw1.rq_mult"].astype(np.int32)
    _rewrite(path, bad, tensor_edit=widen)
    with pytest.raises(IRError, match="mult_bits 16 expects int16"):
        load_ir(bad)


def test_a8_ir_errors_name_layer_and_field(tmp_path):
    path = tmp_path / "ok.trit"
    save_ir(export_model(trained_like_a8_model()), path)
    bad = tmp_path / "bad.trit"

    def mult(t):
        t["s1b1.pw1.rq_mult"][0] = 5
    _rewrite(path, bad, tensor_edit=mult)
    with pytest.raises(IRError, match="layer 's1b1.pw1' field 'output.mult'"):
        load_ir(bad)

    def stride(g):
        next(d for d in g["layers"] if d["name"] == "s2b1.add")["add"]["stride"] = 1
    _rewrite(path, bad, graph_edit=stride)
    with pytest.raises(IRError, match="layer 's2b1.add' field 'add.stride'"):
        load_ir(bad)
    _rewrite(path, bad, graph_edit=lambda g: g.update(version=1))
    with pytest.raises(IRError, match="expected 'sign_threshold'"):
        load_ir(bad)


def test_a8_layer_divergence_isolates_each_layers_rounding():
    """Fed the reference's own inputs, every PyTorch layer rounds to the reference's int8 codes
    but for values within a hair of a rounding boundary (a channel whose inputs are all zero
    can put many values at the same such point); end to end the differences can only add up.
    A wrong bias in one layer shows there and nowhere else. 16-bit multipliers widen the
    margin by their rounding: at most 127·2**-15 codes."""
    from trainer.agreement import layer_divergence
    model = trained_like_a8_model(seed=2)
    images = np.random.default_rng(1).integers(0, 256, (40, 3, 32, 32), dtype=np.uint8)
    narrow = layer_divergence(model, export_model(model), images)
    assert all(r.own <= 0.01 and r.own_margin <= 1e-3 + 127 * 2.0 ** -15 for r in narrow), narrow
    ir = export_model(model, requant_mult_bits=32)
    rows = layer_divergence(model, ir, images)
    assert [r.layer for r in rows] == [l.name for l in ir.layers if l.op in ("conv2d", "add")]
    assert all(r.own <= 0.01 and r.own_margin <= 1e-3 for r in rows), rows
    assert all(r.free >= r.own for r in rows)
    broken = next(l for l in ir.layers if l.name == "s1b1.pw1")
    broken.output.bias[:] += 2 ** 20
    rows = {r.layer: r for r in layer_divergence(model, ir, images)}
    assert rows["s1b1.pw1"].own > 0.1 and rows["s1b1.pw1"].own_margin > 0.1
    assert all(r.own_margin <= 1e-3 for name, r in rows.items() if name != "s1b1.pw1")


def test_layer_divergence_needs_8bit_activations():
    from trainer.agreement import layer_divergence
    model = trained_like_model(width=8)
    with pytest.raises(ValueError, match="8-bit activations"):
        layer_divergence(model, export_model(model), np.zeros((1, 3, 32, 32), np.uint8))


# ---- thresholds in units of one product (IR v4) ----------------------------------------------

def test_equal_scale_binary_export_is_version_4_with_one_byte_thresholds(tmp_path, monkeypatch):
    """One scale per ternary layer: every threshold but the input layer's is stored in units of
    one product, in one byte, and the model computes exactly what the int32 thresholds of
    IR version 1 computed, every intermediate value included."""
    model = trained_like_sym_model(seed=7, width=8)
    ir = export_model(model)
    assert ir.version == 4
    assert ir.storage().rows == model_storage(model).rows
    dtypes = {layer.name: layer.output.threshold.dtype for layer in ir.layers
              if isinstance(layer.output, SignThreshold)}
    assert dtypes.pop("stem") == np.int32
    assert set(dtypes.values()) == {np.dtype(np.int8)}
    assert all(tuple(layer.weights.scales) == (1, 1) for layer in ir.layers
               if layer.op == "conv2d" and layer.weights.format == "ternary")
    save_ir(ir, tmp_path / "v4.trit")
    back = load_ir(tmp_path / "v4.trit")
    assert back.version == 4 and back.layer("s3b3.pw2").output.threshold.dtype == np.int8
    import trainer.export as export
    monkeypatch.setattr(export, "count_unit_thresholds", lambda w, o, n: (w, o))
    wide = export.export_model(model)
    assert wide.version == 1
    assert wide.storage().total - ir.storage().total == sum(
        3 * layer.output.threshold.nbytes for layer in ir.layers
        if layer.name != "stem" and isinstance(layer.output, SignThreshold))
    images = np.random.default_rng(2).integers(0, 256, (200, 3, 32, 32), dtype=np.uint8)
    a, b = reference.run(ir, images, keep=True), reference.run(wide, images, keep=True)
    assert a.keys() == b.keys()
    for k in a:  # accumulators: in units of one product against the scale's units
        if k.endswith(".acc") and k != "stem.acc":
            scale = int(wide.layer(k[:-4]).weights.scales[0])
            assert np.array_equal(a[k] * scale, b[k]), k
        else:
            assert np.array_equal(a[k], b[k]), k


def test_narrow_thresholds_need_version_4(tmp_path):
    ir = export_model(trained_like_sym_model(seed=8, width=8))
    ir.version = 3
    with pytest.raises(IRError, match="int8/int16 need IR version 4"):
        validate(ir)


def test_binary_export_with_unequal_scales_keeps_int32_thresholds():
    ir = export_model(trained_like_model(seed=9, width=8))
    assert ir.version == 1
    assert {layer.output.threshold.dtype for layer in ir.layers
            if isinstance(layer.output, SignThreshold)} == {np.dtype(np.int32)}


@pytest.mark.parametrize("fan_in,dtype", [(9, np.int8), (126, np.int8), (127, np.int16),
                                          (300, np.int16)])
def test_count_unit_thresholds_decide_every_reachable_sum_as_before(fan_in, dtype):
    """For each channel, direction, residual column and every sum of ±1 products the layer can
    reach, ``acc = k·c`` against the int32 threshold and ``c`` against the converted one decide
    the same; constant channels (thresholds at the int32 limits) stay constant."""
    rng = np.random.default_rng(fan_in)
    k = 1234
    t = rng.integers(-k * (fan_in + 3), k * (fan_in + 3), (40, 3)).astype(np.int32)
    t[:4] = [[INT32_MIN] * 3, [INT32_MAX] * 3, [0] * 3, [k * fan_in] * 3]
    direction = np.where(np.arange(40) % 2 == 0, 1, -1).astype(np.int8)
    weights = Weights("ternary", np.zeros((40, fan_in, 1, 1), np.int8),
                      np.array([k, k], np.int32))
    w2, out = count_unit_thresholds(weights, SignThreshold(t, direction, "r", 2), fan_in)
    assert out.threshold.dtype == dtype and tuple(w2.scales) == (1, 1)
    assert out.residual == "r" and out.residual_stride == 2
    c = np.arange(-fan_in, fan_in + 1, dtype=np.int64)[None, None, :]
    d = direction[:, None, None]
    before = np.where(d > 0, k * c >= t[..., None], k * c <= t[..., None])
    t2 = out.threshold.astype(np.int64)[..., None]
    after = np.where(d > 0, c >= t2, c <= t2)
    assert np.array_equal(before, after)
    unequal = Weights("ternary", weights.values, np.array([k, k + 1], np.int32))
    same = SignThreshold(t, direction)
    assert count_unit_thresholds(unequal, same, fan_in) == (unequal, same)
