"""The board catalogue (boards.yaml): load, validate, look up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).resolve().parents[1] / "boards.yaml"
REQUIRED = {"core": str, "isa": str, "kernels": str, "clock_hz": int, "flash": int, "ram": int,
            "counter": str, "firmware": str}


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
    firmware: str = ""                # board support folder under firmware/boards/
    qemu: str | None = None
    qemu_machine: str | None = None
    bulk: tuple[int, int] | None = None  # (address, bytes) the emulator's loader may fill
    description: str = ""


def c_defines(board: Board) -> list[str]:
    """Compiler -D flags the board support needs from the catalogue (bulk region)."""
    if board.bulk is None:
        return []
    addr, size = board.bulk
    return [f"-DTRIT_BULK_ADDRESS={addr:#x}u", f"-DTRIT_BULK_BYTES={size}u"]


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
        bulk = emu.get("bulk")
        if bulk is not None and not (isinstance(bulk, list) and len(bulk) == 2
                                     and all(isinstance(v, int) for v in bulk)):
            raise BoardError(f"{path}: board {name!r}: field 'emulator.bulk' must be "
                             f"[address, bytes], got {bulk!r}")
        boards[name] = Board(name=name, core=entry["core"], isa=entry["isa"],
                             kernels=entry["kernels"], clock_hz=entry["clock_hz"],
                             flash=entry["flash"], ram=entry["ram"], counter=entry["counter"],
                             firmware=entry["firmware"], qemu=emu.get("qemu"),
                             qemu_machine=emu.get("machine"),
                             bulk=tuple(bulk) if bulk else None,
                             description=entry.get("description", ""))
    return boards


def get_board(name: str, path: Path = CATALOGUE) -> Board:
    boards = load_boards(path)
    if name not in boards:
        raise BoardError(f"unknown board {name!r}; boards.yaml has {', '.join(boards)}")
    return boards[name]
