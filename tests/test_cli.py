"""The `trit` command line: help texts, size reports, export from a checkpoint."""

from __future__ import annotations

import pytest
import torch

from hostbench.cli import build_parser, main
from tests.conftest import needs_emulator


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("data", "train", "export", "size"):
        assert cmd in out


@pytest.mark.parametrize("cmd", [["data", "check"], ["data", "fetch"], ["train"], ["export"],
                                 ["size"], ["recalibrate"], ["build"], ["bench"], ["kernelbench"],
                                 ["trainbench"],
                                 ["boards"],
                                 ["flash"], ["ports"]])
def test_each_subcommand_has_help(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main(cmd + ["--help"])
    assert e.value.code == 0
    assert "usage: trit" in capsys.readouterr().out


def test_size_of_paper_variant(capsys):
    assert main(["size", "ttq-pw"]) == 0
    assert "weights + scales: 34320 B" in capsys.readouterr().out


def test_export_cli_reports_matching_storage(tmp_path, capsys):
    from tests.test_export import trained_like_model
    model = trained_like_model(width=8)
    ck = tmp_path / "run" / "best.pt"
    ck.parent.mkdir()
    torch.save({"version": 1, "config": model.config, "model": model.state_dict()}, ck)
    assert main(["export", str(ck), "-o", str(tmp_path / "m.trit")]) == 0
    out = capsys.readouterr().out
    assert "matches the model report" in out
    assert main(["size", str(tmp_path / "m.trit")]) == 0


def test_recalibrate_rewrites_batch_norm_statistics_of_a_run(tmp_path, capsys, cifar,
                                                             cifar_path):
    """A run's checkpoint (one epoch on a few hundred images) recalibrated over 3 batches of
    the training split: only the batch-norm statistics change."""
    from tests.test_training import small_splits
    from trainer.recipe import Recipe
    from trainer.train import Trainer, load_checkpoint_model

    recipe = Recipe(variant="ttq-all-bin", width=4, blocks_per_stage=1, epochs=1, batch_size=64,
                    val_size=200)
    trainer = Trainer(recipe, tmp_path / "run", data=small_splits(cifar, 256, 64),
                      progress=False, log=lambda _: None)
    trainer.fit()
    out = tmp_path / "precise.pt"
    assert main(["recalibrate", str(tmp_path / "run" / "last.pt"), "-o", str(out), "--batches",
                 "3", "--data", str(cifar_path)]) == 0
    printed = capsys.readouterr().out
    assert "with batch-norm statistics over 192 training images (augmented)" in printed
    before, _ = load_checkpoint_model(tmp_path / "run" / "last.pt")
    after, ck = load_checkpoint_model(out)
    assert ck["bn_recalibration"]["images"] == 192
    changed = [k for k, v in before.state_dict().items()
               if not torch.equal(v, after.state_dict()[k])]
    assert changed and all(k.endswith(("running_mean", "running_var", "num_batches_tracked"))
                           for k in changed)


def test_errors_are_clear(tmp_path, capsys):
    assert main(["train", "--recipe", "no-such-recipe", "--out", str(tmp_path)]) == 2
    assert "no recipe 'no-such-recipe'" in capsys.readouterr().err
    assert build_parser().parse_args(["train"]).recipe == "quick"


def test_trainbench_prints_images_per_second(capsys, cifar_path):
    assert main(["trainbench", "--variant", "ttq-all-bin-sym", "--width", "4",
                 "--batch-size", "16", "--steps", "2", "--warmup", "0", "--threads", "1",
                 "--data", str(cifar_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ttq-all-bin-sym, width 4, batch 16: 2 steps of 16 images on cpu "
                          "(1 thread)"), out
    assert out.rstrip().endswith("images/s")
    assert main(["trainbench", "--steps", "0"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err
    # --compile: the 8-bit quantizers through torch.compile for the run, plain PyTorch after it
    from trainer.quant import lsq
    assert main(["trainbench", "--variant", "ttq-all-a8", "--width", "4", "--batch-size", "16",
                 "--steps", "1", "--warmup", "1", "--compile", "--data", str(cifar_path),
                 "--no-progress"]) == 0
    assert "ttq-all-a8, width 4, batch 16, compiled quantizers: 1 step of" in \
        capsys.readouterr().out
    assert not lsq.compiled()


def test_boards_lists_the_catalogue(capsys):
    from hostbench.boards import load_boards
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name, b in load_boards().items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert b.core in line and b.kernels in line


def test_ports_lists_without_failing(capsys):
    assert main(["ports"]) == 0
    assert capsys.readouterr().out.strip()


@needs_emulator
def test_flash_an_emulated_board_then_bench_it_on_its_port(tmp_path, capsys, cifar_path,
                                                          monkeypatch):
    """`trit flash` on an emulated board leaves it running on a pseudo-terminal; `trit bench
    --port` measures it the way it measures a board on USB, and checks it runs the model."""
    import os
    import signal
    import subprocess
    import sys

    from codegen.ir import save_ir
    from tests.test_export import trained_like_model
    from trainer.export import export_model
    save_ir(export_model(trained_like_model(seed=2), name="flashed"), tmp_path / "m.trit")
    save_ir(export_model(trained_like_model(seed=4), name="other"), tmp_path / "o.trit")
    flash = subprocess.Popen(
        [sys.executable, "-m", "hostbench.cli", "flash", "--board", "mps2-an386", "--model",
         str(tmp_path / "m.trit"), "--direct"], cwd=tmp_path, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        lines = [flash.stdout.readline() for _ in range(3)]
        line = next(x for x in lines if "with its UART on" in x)
        device = line.split("with its UART on ")[1].strip()
        monkeypatch.chdir(tmp_path)
        json_out = tmp_path / "r.json"
        assert main(["bench", "--board", "mps2-an386", "--model", "m.trit", "--port", device,
                     "--images", "3", "--direct", "--data", str(cifar_path), "--json",
                     str(json_out)]) == 0
        out = capsys.readouterr().out
        assert "agreement        1.0000" in out and "instructions" in out
        assert (tmp_path / "build" / "mps2-an386-m" / "bench-progress.jsonl").exists()
        assert main(["bench", "--board", "mps2-an386", "--model", "o.trit", "--port", device,
                     "--images", "1", "--direct", "--data", str(cifar_path)]) == 2
        assert "runs model 'flashed', not 'other'" in capsys.readouterr().err
    finally:
        flash.send_signal(signal.SIGINT)
        assert flash.wait(timeout=30) == 0


def test_train_help_names_every_variant():
    import re

    from trainer.cli import VARIANT_HELP
    from trainer.models import VARIANTS
    assert set(re.findall(r"[\w-]+", VARIANT_HELP.split("(")[0])) == set(VARIANTS)
