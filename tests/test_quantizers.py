"""Forward values and straight-through gradients of each quantizer on hand-computed tensors."""

from __future__ import annotations

import pytest
import torch

from trainer.quant import (Int8Weight, OrderedDither, Passthrough, ReLU, SignSTE, TTQTernary,
                           dither_mask)


def test_ttq_forward_and_gradients():
    q = TTQTernary(t=0.05)
    with torch.no_grad():
        q.wp.fill_(1.5)
        q.wn.fill_(0.5)
    # max|w| = 1.0, so Δ = 0.05: 0.02 and -0.04 fall inside the dead zone
    w = torch.tensor([0.9, 0.02, -0.5, -0.04, 0.3, -1.0], requires_grad=True)
    wt = q(w)
    assert wt.tolist() == [1.5, 0.0, -0.5, 0.0, 1.5, -0.5]
    g = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    wt.backward(g)
    assert q.wp.grad.item() == pytest.approx(1.0 + 5.0)
    assert q.wn.grad.item() == pytest.approx(-(3.0 + 6.0))  # the minus sign: wt = -Wn there
    assert w.grad.tolist() == pytest.approx([1.5 * 1, 2.0, 0.5 * 3, 4.0, 1.5 * 5, 0.5 * 6])
    assert q.ternary_codes(w).tolist() == [1, 0, -1, 0, 1, -1]


def test_ttq_shared_scale_is_one_parameter_with_summed_gradient():
    q = TTQTernary(t=0.05, shared_scale=True)
    assert len(list(q.parameters())) == 1 and q.wn is q.wp
    with torch.no_grad():
        q.wp.fill_(2.0)
    w = torch.tensor([0.9, 0.02, -0.5, -0.04, 0.3, -1.0], requires_grad=True)
    wt = q(w)
    assert wt.tolist() == [2.0, 0.0, -2.0, 0.0, 2.0, -2.0]
    wt.backward(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
    assert q.wp.grad.item() == pytest.approx((1.0 + 5.0) - (3.0 + 6.0))
    assert w.grad.tolist() == pytest.approx([2.0, 2.0, 6.0, 4.0, 10.0, 12.0])


def test_ttq_scale_gradients_match_finite_differences():
    torch.manual_seed(0)
    q = TTQTernary(t=0.05)
    w = torch.randn(50)
    g = torch.randn(50)

    def loss(wp: float, wn: float) -> float:
        with torch.no_grad():
            q.wp.fill_(wp)
            q.wn.fill_(wn)
            return float((q(w) * g).sum())

    eps = 1e-3
    d_wp = (loss(1.2 + eps, 0.8) - loss(1.2 - eps, 0.8)) / (2 * eps)
    d_wn = (loss(1.2, 0.8 + eps) - loss(1.2, 0.8 - eps)) / (2 * eps)
    with torch.no_grad():
        q.wp.fill_(1.2)
        q.wn.fill_(0.8)
    q.wp.grad = q.wn.grad = None
    (q(w) * g).sum().backward()
    assert q.wp.grad.item() == pytest.approx(d_wp, rel=1e-3)
    assert q.wn.grad.item() == pytest.approx(d_wn, rel=1e-3)
    assert q.wn.grad.item() < 0 or d_wn >= 0


def test_ttq_scales_start_at_one():
    q = TTQTernary()
    assert q.wp.item() == 1.0 and q.wn.item() == 1.0 and q.t == 0.05


def test_sign_forward_and_clipped_straight_through():
    x = torch.tensor([-1.5, -1.0, -0.25, 0.0, 0.25, 1.0, 1.0000001, 3.0], requires_grad=True)
    y = SignSTE()(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1, 1]
    y.backward(torch.full_like(x, 2.0))
    # gradient passes where |x| <= 1, cancelled where |x| > 1
    assert x.grad.tolist() == [0, 2, 2, 2, 2, 2, 0, 0]


def test_dither_mask_values():
    m2 = dither_mask(2, 2, 2, three_d=False)
    # m(x=0,y=0)=2*0/255-1; m(x=1,y=0): 119&255=119; m(x=0,y=1): 236*119=28084, &255=180
    assert m2[0, 0, 0].item() == pytest.approx(-1.0)
    assert m2[0, 0, 1].item() == pytest.approx(2 * 119 / 255 - 1)
    assert m2[0, 1, 0].item() == pytest.approx(2 * 180 / 255 - 1)
    assert torch.equal(m2[0], m2[1])  # 2-D: same for every channel
    m3 = dither_mask(2, 2, 2, three_d=True)
    assert torch.equal(m3[0], m2[0])
    # z=1: 67*119 = 7973, &255 = 37
    assert m3[1, 0, 0].item() == pytest.approx(2 * 37 / 255 - 1)
    # x=1, y=1, z=1: (1 + 67 + 236) * 119 = 36176, &255 = 80
    assert m3[1, 1, 1].item() == pytest.approx(2 * 80 / 255 - 1)


def test_ordered_dither_forward_and_gradient():
    x = torch.zeros(1, 2, 2, 2, requires_grad=True)
    y = OrderedDither(three_d=False)(x)
    m = dither_mask(2, 2, 2, three_d=False)
    assert torch.equal(y[0], torch.where(-m >= 0, 1.0, -1.0))
    assert y[0, 0, 0, 0] == 1 and y[0, 0, 1, 0] == -1
    y.sum().backward()
    assert torch.equal(x.grad[0], ((-m).abs() <= 1).float())
    x2 = torch.full((1, 1, 1, 2), 2.0, requires_grad=True)  # x - m = 3 and 2.0667: no gradient
    OrderedDither()(x2).sum().backward()
    assert x2.grad.tolist() == [[[[0.0, 0.0]]]]


def test_int8_weight_codes_scales_and_straight_through():
    w = torch.tensor([[0.3, -1.0, 0.1], [2.0, 0.9, -0.05]], requires_grad=True)
    q = Int8Weight()
    assert q.int_codes(w).tolist() == [[38, -127, 13], [127, 57, -3]]
    assert Int8Weight.scales(w).tolist() == pytest.approx([1.0 / 127, 2.0 / 127])
    out = q(w)
    assert out.detach()[0].tolist() == pytest.approx([38 / 127, -1.0, 13 / 127])
    out.backward(torch.ones_like(w) * 3)
    assert w.grad.tolist() == [[3.0] * 3] * 2


def test_full_precision_passthrough_and_relu():
    w = torch.tensor([-0.7, 0.2], requires_grad=True)
    Passthrough()(w).backward(torch.tensor([1.0, 2.0]))
    assert w.grad.tolist() == [1.0, 2.0]
    x = torch.tensor([-0.5, 0.5], requires_grad=True)
    y = ReLU()(x)
    assert y.tolist() == [0.0, 0.5]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_relu8_codes_steps_and_straight_through_gradient():
    from trainer.quant import ReLU8
    q = ReLU8(step=0.1)
    q.initialised.fill_(True)  # keep the given step
    x = torch.tensor([-1.0, 0.04, 0.06, 1.23, 12.6, 13.0], requires_grad=True)
    y = q(x)
    assert torch.allclose(y, torch.tensor([0.0, 0.0, 0.1, 1.2, 12.6, 12.7]), atol=1e-6)
    y.sum().backward()
    # identity inside [0, 127 s], zero where clipped (below 0 and above 12.7)
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert q.step.grad is not None and q.step.grad != 0


def test_uniform_quant_sets_its_step_from_the_first_training_batch():
    from trainer.quant import Signed8
    q = Signed8()
    x = torch.randn(64, 8, 4, 4) * 3
    q.train()
    q(x)
    assert bool(q.initialised)
    assert q.scale() == pytest.approx(float(2 * x.abs().mean() / 127 ** 0.5), rel=1e-4)
    before = q.scale()
    q(x * 10)  # later batches leave it to the optimiser
    assert q.scale() == before
    q2 = Signed8(step=0.5).eval()
    q2(x)
    assert not bool(q2.initialised) and q2.scale() == pytest.approx(0.5)


def test_uniform_quant_reads_its_initialised_flag_only_until_the_step_is_set():
    """Training steps after the first do not read the `initialised` buffer (on a GPU each read
    waits for the device); a loaded state dict's flag decides again."""
    from trainer.quant import Signed8
    x = torch.randn(64, 8, 4, 4) * 3
    q = Signed8().train()
    q(x)
    q.initialised = torch.tensor([True, False])  # its truth value would raise if read
    q(x)
    q2 = Signed8().train()
    q2(x)
    q2.load_state_dict(Signed8(step=0.5).state_dict())  # an uninitialised quantizer's state
    assert q2.scale() == pytest.approx(0.5)
    q2(x * 10)
    assert q2.scale() == pytest.approx(float(2 * (x * 10).abs().mean() / 127 ** 0.5), rel=1e-4)


class _RoundThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


@pytest.mark.parametrize("lo, hi", [(0, 127), (-128, 127)])
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "mixed"])
def test_lsq_backward_is_autograds_of_its_formula(lo, hi, layout):
    """The written-out LSQ function against autograd of s·round(clamp(x/s, lo, hi)) with a
    straight-through round: the same output bit for bit, the same gradients to rounding, with
    the upstream gradient in the activation's layout or in the other one."""
    from trainer.quant.lsq import LSQFunction
    torch.manual_seed(0)
    cl = torch.channels_last
    x = torch.randn(4, 6, 5, 5) * 40 * 0.05
    if layout != "nchw":
        x = x.contiguous(memory_format=cl)
    g = torch.randn(4, 6, 5, 5)
    if layout == "channels_last":
        g = g.contiguous(memory_format=cl)
    xs = [x.clone().requires_grad_(), x.clone().requires_grad_()]
    ss = [torch.tensor(0.05, requires_grad=True), torch.tensor(0.05, requires_grad=True)]
    y0 = LSQFunction.apply(xs[0], ss[0], lo, hi)
    y1 = _RoundThrough.apply(torch.clamp(xs[1] / ss[1], lo, hi)) * ss[1]
    assert torch.equal(y0, y1)
    clipped = (y1 / 0.05 <= lo) | (y1 / 0.05 >= hi)
    assert clipped.any() and (~clipped).any()  # both branches of the gradient are exercised
    y0.backward(g)
    y1.backward(g)
    assert torch.allclose(xs[0].grad, xs[1].grad, atol=1e-6)
    assert torch.equal(xs[0].grad == 0, xs[1].grad == 0)
    assert ss[0].grad == pytest.approx(float(ss[1].grad), rel=1e-4)


def _lsq_step(x, s, g, lo=-128, hi=127):
    from trainer.quant.lsq import LSQFunction
    x = x.clone().requires_grad_()
    s = s.clone().requires_grad_()
    y = LSQFunction.apply(x, s, lo, hi)
    y.backward(g)
    return y.detach(), x.grad, s.grad


def test_compiled_lsq_matches_plain_pytorch():
    """torch.compile'd quantizer arithmetic (`trit train --compile`): the same output bit for
    bit, the same input gradient, the step's gradient to rounding (summed in another order)."""
    from trainer.quant import lsq
    torch.manual_seed(1)
    x = (torch.randn(8, 6, 5, 5) * 4).contiguous(memory_format=torch.channels_last)
    g = torch.randn(8, 6, 5, 5).contiguous(memory_format=torch.channels_last)
    s = torch.tensor(0.03)
    want = _lsq_step(x, s, g)
    lsq.use_compiled(True)
    try:
        got = _lsq_step(x, s, g)
        assert lsq.compiled()  # no fallback happened
    finally:
        lsq.use_compiled(False)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert float(got[2]) == pytest.approx(float(want[2]), rel=1e-5)


def test_lsq_falls_back_to_plain_pytorch_when_compiling_fails(monkeypatch):
    from trainer.quant import lsq

    def broken(*args):
        raise RuntimeError("no compiler")

    x, g, s = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), torch.tensor(0.05)
    want = _lsq_step(x, s, g)
    monkeypatch.setattr(lsq, "_compiled", (broken, broken))
    with pytest.warns(RuntimeWarning, match="no compiler"):
        got = _lsq_step(x, s, g)
    assert not lsq.compiled()
    assert all(torch.equal(a, b) for a, b in zip(got, want))
