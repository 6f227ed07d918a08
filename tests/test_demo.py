"""`trit demo`: the pipeline on a zoo entry with each step's check, the train-first path, and
clear refusals (a stale zoo entry, real boards, unknown models)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from codegen import reference
from codegen.ir import load_ir, save_ir
from hostbench.cli import main
from hostbench.demo import DemoError, run_demo
from hostbench.zoo import ZOO
from tests.conftest import needs_emulator
from trainer.data import make_splits
from trainer.data.tensors import DataSplits, Split

BOARD = "mps2-an386"


@needs_emulator
def test_demo_runs_the_zoo_model_and_checks_each_step(tmp_path, cifar_path, cifar):
    log: list[str] = []
    s = run_demo("dws-tern-bin-32k", (BOARD,), images=12, check=24, data=str(cifar_path),
                 out=tmp_path, log=log.append)
    ir = load_ir(ZOO / "dws-tern-bin-32k" / "model.trit")
    assert s.ok and s.ir_reproduced is True and s.weights_bytes == ir.storage().total
    assert (tmp_path / "model.trit").read_bytes() == (ZOO / "dws-tern-bin-32k" /
                                                      "model.trit").read_bytes()
    ref24 = reference.predict(ir, cifar.test_images[:24])
    assert s.check_images == 24
    assert s.reference_accuracy == float(np.mean(ref24 == cifar.test_labels[:24]))
    [r] = s.boards
    assert r.board == BOARD and r.images == 12 and r.agreement == 1.0
    assert r.accuracy == float(np.mean(ref24[:12] == cifar.test_labels[:12]))
    assert r.instructions_per_inference["median"] > 0
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["boards"][0]["accuracy"] == r.accuracy and saved["ir_reproduced"] is True
    assert json.loads((tmp_path / f"bench-{BOARD}.json").read_text())["images"] == 12
    assert BOARD in s.table() and "instructions" in s.table()
    assert any(line.startswith("== float vs integer") for line in log)
    # the int8 twin on the same board: bit-exact, and many times the binary model's instructions
    t = s.int8_twin
    assert t.board == BOARD and t.images == 12 and t.agreement == 1.0
    assert s.twin_ratio() > 5 and f"{BOARD} int8" in s.table()
    assert saved["int8_twin"]["agreement"] == 1.0


@needs_emulator
def test_demo_trains_first_when_asked(tmp_path, cifar_path, cifar):
    full = make_splits(cifar)
    splits = DataSplits(Split(full.train.images[:512], full.train.labels[:512]),
                        Split(full.val.images[:128], full.val.labels[:128]), full.test)
    s = run_demo(boards=(BOARD,), images=8, check=16, data=str(cifar_path), out=tmp_path,
                 train_recipe="demo-bin", train_splits=splits, log=lambda _: None)
    assert (tmp_path / "run" / "best.pt").exists() and (tmp_path / "run" / "metrics.csv").exists()
    assert s.ir_reproduced is None and s.ok and s.model == "demo-demo-bin"
    assert s.boards[0].agreement == 1.0


def test_a_stale_zoo_entry_is_refused(tmp_path, cifar_path):
    entry = tmp_path / "entry"
    entry.mkdir()
    shutil.copy2(ZOO / "dws-tern-bin-32k" / "checkpoint.pt", entry / "checkpoint.pt")
    ir = load_ir(ZOO / "dws-tern-bin-32k" / "model.trit")
    ir.layers[1].output.threshold[0] += 1   # as if the IR came from another checkpoint
    save_ir(ir, entry / "model.trit")
    with pytest.raises(DemoError, match="differs from the shipped .*republish"):
        run_demo(entry, (BOARD,), images=4, check=0, data=str(cifar_path), out=tmp_path / "o",
                 log=lambda _: None)


def test_real_boards_and_unknown_models_are_clear_errors(tmp_path):
    with pytest.raises(DemoError, match="nucleo_f746zg is a real board"):
        run_demo(boards=("nucleo_f746zg",), out=tmp_path, log=lambda _: None)
    with pytest.raises(DemoError, match="no model nope: not a zoo name"):
        run_demo("nope", (BOARD,), out=tmp_path, log=lambda _: None)
    with pytest.raises(DemoError, match="is an IR file: the demo starts from a training"):
        run_demo(ZOO / "dws-tern-bin-32k" / "model.trit", (BOARD,), out=tmp_path,
                 log=lambda _: None)
    assert main(["demo", "--train", "--model", "dws-tern-bin-32k"]) == 2
    assert main(["demo", "--model", "nope", "--out", str(tmp_path)]) == 2
