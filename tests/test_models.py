"""Model shapes and the weight-storage report of the papers' variants."""

from __future__ import annotations

import pytest
import torch

from trainer.models import VARIANTS, build_model
from trainer.size_report import model_storage


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_forward_shapes(variant):
    model = build_model(variant, width=8).eval()
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert model(x).shape == (2, 10)
    assert model.features(x).shape == (2, 32, 8, 8)


def test_binary_variant_outputs_are_signs():
    model = build_model("ttq-all-bin", width=8).eval()
    f = model.features(torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8))
    assert set(f.unique().tolist()) <= {-1.0, 1.0}


def test_ttq_on_1x1_only_is_about_32_kib():
    """The papers' 'TTQ on 1x1 only' DWS-ResNet-20: 2-bit pointwise weights, float depthwise,
    input conv and classifier; 34,320 B of weights and scales, 4.7 % above 32 KiB."""
    report = model_storage(build_model("ttq-pw"))
    assert report.weights_and_scales == 34_320
    assert abs(report.weights_and_scales / 32_768 - 1) < 0.05


def test_ttq_all_but_first_is_about_11_kb():
    report = model_storage(build_model("ttq-all"))
    assert report.weights_and_scales == 11_012
    assert abs(report.weights_and_scales / 11_264 - 1) < 0.05


def test_report_counts_each_field():
    report = model_storage(build_model("ttq-all-bin"))
    rows = {r.name: r for r in report.rows}
    assert len(report.rows) == 1 + 9 * 4 + 1
    stem = rows["stem"]
    assert (stem.weight_format, stem.params, stem.weight_bytes) == ("int8", 432, 432)
    assert stem.threshold_bytes == 16 * 4 + 2          # int32 threshold + 1-bit direction
    pw = rows["s3b2.pw2"]
    assert (pw.params, pw.weight_bytes, pw.scale_bytes) == (4096, 1024, 8)
    assert pw.threshold_bytes == 64 * 3 * 4 + 8        # three thresholds with a residual
    fc = rows["fc"]
    assert (fc.params, fc.weight_bytes, fc.threshold_bytes) == (640, 160, 40)


def test_int8_stream_variant_binarises_each_block_input():
    """ttq-all-bin-s8: the stem and every block output are signed int8 codes of a learned
    step, the convolutions inside a block see ±1 only."""
    model = build_model("ttq-all-bin-s8", width=8)
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    model.train()
    model(x)  # the first training batch sets the int8 steps
    model.eval()
    seen: dict[str, torch.Tensor] = {}
    block = model.blocks.s2b1
    block.act_in.register_forward_hook(lambda m, i, o: seen.__setitem__("in", o))
    block.act_out.register_forward_hook(lambda m, i, o: seen.__setitem__("out", o))
    f = model.features(x)
    assert set(seen["in"].unique().tolist()) <= {-1.0, 1.0}
    for t, q in ((seen["out"], block.act_out), (f, model.blocks.s3b3.act_out)):
        codes = t / q.scale()
        assert torch.allclose(codes, codes.round(), atol=1e-3)
        assert codes.min() >= -128 and codes.max() <= 127
        assert len(codes.unique()) > 2  # more than a sign
    # the other variants keep no block-input quantizer
    assert isinstance(build_model("ttq-all-bin-sym", width=4).blocks.s1b1.act_in, torch.nn.Identity)


def test_one_scale_per_layer_stores_thresholds_in_one_or_two_bytes():
    """With one scale per ternary layer the export counts thresholds in units of one product:
    one byte up to 126 inputs, two beyond; the int8 input layer keeps four. Width 29 is the
    widest popcount network within 32 kB (32,768 B); width 24 took 32,184 B with four-byte
    thresholds."""
    rows = {r.name: r for r in model_storage(build_model("ttq-all-bin-sym", width=24)).rows}
    assert rows["stem"].threshold_bytes == 24 * 4 + 3
    assert rows["s1b1.dw1"].threshold_bytes == 24 * 1 + 3
    assert rows["s3b3.pw2"].threshold_bytes == 96 * 3 + 12
    assert model_storage(build_model("ttq-all-bin-sym", width=24)).total == 23_328
    assert model_storage(build_model("ttq-all-bin-sym", width=29)).total == 32_356 <= 32_768
    assert model_storage(build_model("ttq-all-bin-sym", width=30)).total > 32_768
    wide = {r.name: r for r in model_storage(build_model("ttq-all-bin-sym", width=32)).rows}
    assert wide["s3b3.pw2"].threshold_bytes == 128 * 3 * 2 + 16   # 128 inputs: two bytes


def test_int8_stream_variant_counts_requantised_stem_and_adds():
    """Its size report: one-byte thresholds inside the blocks, a 7-byte requantisation per
    channel (9 with 32-bit multipliers) on the input convolution and each block's last layer,
    12 bytes per add; the zoo width fits 32 kB."""
    model = build_model("ttq-all-bin-s8", width=24)
    rows = {r.name: r for r in model_storage(model).rows}
    assert rows["stem"].threshold_bytes == 24 * 7
    assert rows["s1b1.dw1"].threshold_bytes == 24 * 1 + 3
    assert rows["s3b3.pw2"].threshold_bytes == 96 * 7
    assert rows["s3b3.add"].threshold_bytes == 12
    requantised = 24 + 3 * (24 + 48 + 96)
    assert model_storage(model).total == 26_514 - 2 * requantised
    assert model_storage(model, requant_mult_bits=32).total == 26_514


def test_scheme_rejects_an_int8_stream_without_binary_activations():
    from trainer.models.schemes import QuantScheme
    with pytest.raises(ValueError, match="binary activations"):
        QuantScheme(activation="relu8", stream="int8")
    with pytest.raises(ValueError, match="stream must be one of"):
        QuantScheme(stream="int4")


@pytest.mark.parametrize("variant", ["ttq-all-a8", "ttq-all-bin-sym"])
def test_gradients_reach_every_layer_in_channels_last_layout(variant):
    """The pooled head and the subsampling, zero-padded shortcuts make NCHW gradients; the
    model hands them on channels-last, so every batch norm and activation quantizer of a
    channels-last network sees one layout in its backward pass (mixed layouts make the CPU's
    elementwise work several times slower)."""
    from trainer.models.dws_resnet import channels_last_gradient
    torch.manual_seed(0)
    model = build_model(variant, width=4).to(memory_format=torch.channels_last)
    layouts = []

    def hook(module, grad_in, grad_out):
        g = grad_out[0]
        layouts.append((type(module).__name__,
                        g.is_contiguous(memory_format=torch.channels_last)))

    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d) or type(m).__name__ in ("ReLU8", "Signed8",
                                                                         "SignSTE"):
            m.register_full_backward_hook(hook)
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    model(x.contiguous(memory_format=torch.channels_last)).sum().backward()
    assert len(layouts) > 40
    assert all(cl for _, cl in layouts), [name for name, cl in layouts if not cl]
    # the identity forward, the gradient's values unchanged
    t = torch.randn(2, 3, 4, 4, requires_grad=True)
    z = t * 1
    seen = []
    z.register_hook(seen.append)
    y = channels_last_gradient(z)
    assert torch.equal(y, z)
    g = torch.randn(2, 3, 4, 4)
    y.backward(g)
    assert torch.equal(seen[0], g) and seen[0].is_contiguous(memory_format=torch.channels_last)
