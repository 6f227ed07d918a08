"""The `trit` command line: help texts, size reports, export from a checkpoint."""

from __future__ import annotations

import pytest
import torch

from hostbench.cli import build_parser, main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("data", "train", "export", "size"):
        assert cmd in out


@pytest.mark.parametrize("cmd", [["data", "check"], ["data", "fetch"], ["train"], ["export"],
                                 ["size"], ["build"], ["bench"], ["kernelbench"], ["boards"]])
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


def test_errors_are_clear(tmp_path, capsys):
    assert main(["train", "--recipe", "no-such-recipe", "--out", str(tmp_path)]) == 2
    assert "no recipe 'no-such-recipe'" in capsys.readouterr().err
    assert build_parser().parse_args(["train"]).recipe == "quick"


def test_boards_lists_the_catalogue(capsys):
    from hostbench.boards import load_boards
    assert main(["boards"]) == 0
    out = capsys.readouterr().out
    for name, b in load_boards().items():
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert b.core in line and b.kernels in line
