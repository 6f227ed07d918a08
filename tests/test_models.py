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
