"""The board catalogue (boards.yaml): load, validate, look up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).resolve().parents[1] / "boards.yaml"
REQUIRED = {"core": str, "isa": str, "kernels": str, "clock_hz": int, "flash": int, "ram": int,
            "counter": str}


class BoardError(ValueError):
    """An unknown board or an invalid catalogue entry (names the board and the field)."""


@dataclass(frozen=True)
class Board:
    name: str
    core: str
    isa: str
    kernels: str
    clock_hz: int
    flash: int
    ram: int
    counter: str
    qemu: str | None = None
    qemu_machine: str | None = None
    description: str = ""


def load_boards(path: Path = CATALOGUE) -> dict[str, Board]:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    boards = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise BoardError(f"{path}: board {name!r} must be a mapping")
        for field, typ in REQUIRED.items():
            if field not in entry:
                raise BoardError(f"{path}: board {name!r}: missing field {field!r}")
            if not isinstance(entry[field], typ):
                raise BoardError(f"{path}: board {name!r}: field {field!r} must be "
                                 f"{typ.__name__}, got {entry[field]!r}")
        emu = entry.get("emulator") or {}
        boards[name] = Board(name=name, core=entry["core"], isa=entry["isa"],
                             kernels=entry["kernels"], clock_hz=entry["clock_hz"],
                             flash=entry["flash"], ram=entry["ram"], counter=entry["counter"],
                             qemu=emu.get("qemu"), qemu_machine=emu.get("machine"),
                             description=entry.get("description", ""))
    return boards


def get_board(name: str, path: Path = CATALOGUE) -> Board:
    boards = load_boards(path)
    if name not in boards:
        raise BoardError(f"unknown board {name!r}; boards.yaml has {', '.join(boards)}")
    return boards[name]
