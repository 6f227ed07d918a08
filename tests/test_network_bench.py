"""`trit kernelbench --network`: every convolution of a model as binary and as int8 kernel
calls, optimised and portable, in one emulator run (hostbench/network_bench.py)."""

from __future__ import annotations

import json

from hostbench.cli import main
from hostbench.network_bench import LayerRow, collect, format_network, run_network_bench
from tests.conftest import needs_emulator
from tests.test_export import trained_like_model, trained_like_sym_model
from trainer.export import export_model


def test_every_convolution_gets_a_binary_and_an_int8_twin():
    ir = export_model(trained_like_model(seed=9), name="net")
    rows, binary, int8 = collect(ir)
    convs = [layer for layer in ir.layers if layer.op == "conv2d"]
    assert [r.name for r in rows] == [layer.name for layer in convs]
    residual = sum(1 for layer in convs if layer.output.residual is not None)
    # one binary call per layer; int8: one convolution per layer plus one add per residual
    assert len(binary.jobs) == len(convs)
    assert len(int8.jobs) == len(convs) + residual
    assert {r.kind for r in rows} == {"input", "dw", "pw"}
    assert sum(r.macs for r in rows) == sum(
        layer.kernel ** 2 * layer.out_shape[0] * layer.out_shape[1] * layer.out_shape[2] *
        (1 if layer.groups > 1 else layer.in_shape[0]) for layer in convs)


@needs_emulator
def test_network_bench_runs_four_ways_and_checks_flavours_agree(tmp_path, capsys):
    """On a model with one scale per layer (IR version 4: one-byte thresholds, as the zoo's
    binary models)."""
    from codegen.ir import save_ir
    ir = export_model(trained_like_sym_model(seed=9), name="net")
    assert ir.version == 4
    rows = run_network_bench("mps2-an386", ir)
    for r in rows:   # every variant timed (figures are for the command, not the test)
        assert set(r.ticks) == {"binary", "binary-ref", "int8", "int8-ref"}
        assert all(v > 0 for v in r.ticks.values())
    text = format_network(rows, "armv7em", "instructions")
    assert text.splitlines()[0].split()[:3] == ["layer", "kind", "MACs"]
    assert "fewer than the int8 network" in text
    save_ir(ir, tmp_path / "m.trit")
    assert main(["kernelbench", "--board", "mps2-an386", "--network", str(tmp_path / "m.trit"),
                 "--json", str(tmp_path / "out" / "net.json")]) == 0
    saved = json.loads((tmp_path / "out" / "net.json").read_text())
    assert [row["layer"] for row in saved] == [r.name for r in rows]
    assert "total" in capsys.readouterr().out


def test_a_flavour_without_int8_kernels_is_not_called_an_optimised_int8_comparison(monkeypatch):
    """A flavour whose directory has no int8 comparison kernels runs the portable ones: its
    int8 column says so, and the summary gives no ratio against "int8 with <flavour> kernels"."""
    from hostbench import network_bench
    assert network_bench.has_own_int8_kernels("armv7em")
    assert network_bench.has_own_int8_kernels("armv7em+asm")
    assert network_bench.has_own_int8_kernels("neon")
    rows = [LayerRow(name="l", kind="pw", macs=100,
                     ticks={"binary": 10, "binary-ref": 40, "int8": 90, "int8-ref": 90})]
    mine = format_network(rows, "neon", "instructions")
    assert "int8 neon" in mine.splitlines()[0]
    assert "9.0x fewer than the int8 network with neon" in mine
    monkeypatch.setattr(network_bench, "INT8_COMPARISON_SOURCE", "no_such_kernels.c")
    assert not network_bench.has_own_int8_kernels("neon")
    text = format_network(rows, "neon", "instructions")
    assert "int8 (ref)" in text.splitlines()[0]
    assert "with neon kernels" not in text and "no int8 kernels of its own" in text
    assert "9.0x fewer than the int8 network with portable kernels" in text


def test_networks_with_int8_values_are_refused_with_a_pointer_to_the_profile():
    import pytest

    from tests.test_export import trained_like_s8_stream_model
    ir = export_model(trained_like_s8_stream_model(width=4))
    with pytest.raises(ValueError, match=r"has int8 values \(from 'stem' on.*bench --profile"):
        collect(ir)
