"""The model zoo (models/): trained networks shipped with their IR, training checkpoint,
recipe, training log and a model card whose figures come from commands.

    models/<name>/model.trit       the deployment IR (`trit bench --model models/<name>`)
    models/<name>/checkpoint.pt    the training checkpoint it was exported from (best.pt)
    models/<name>/recipe.yaml      the training recipe (`trit train --recipe` takes it)
    models/<name>/metrics.csv      per-epoch training log
    models/<name>/bench.json       `trit bench` report of the on-device test accuracy
    models/<name>/card.json        the card's figures (read by `trit models`)
    models/<name>/README.md        the model card

`trit models publish RUN --name NAME` makes an entry from a training run: it exports best.pt,
runs the test images on the board (10,000 by default) and writes the card. `trit models
remeasure NAME` runs an entry's IR again after kernel or firmware changes and updates its
bench report and the card's device figures.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

ZOO = Path(__file__).resolve().parents[1] / "models"


@dataclass
class ModelCard:
    name: str
    summary: str
    variant: str
    width: int
    weights_bytes: int            # IR count: weights, scales, thresholds or requantisation
    epochs: int
    train_minutes: float          # sum of the per-epoch training times
    hardware: str
    val_accuracy: float           # best epoch, validation split (model selection)
    board: str
    test_images: int
    device_accuracy: float        # on the board, test split
    agreement: float              # device vs integer reference
    instructions_per_inference: int | None
    cycles_per_inference: int | None
    target_accuracy: float | None = None
    commands: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    downsampling: str = ""        # where the network leaves 32x32, when not in stage 2

    @property
    def meets_target(self) -> bool | None:
        if self.target_accuracy is None:
            return None
        return self.device_accuracy >= self.target_accuracy and self.agreement == 1.0


def resolve_model(path: str | Path) -> Path:
    """An IR path from what users pass as --model: a .trit file, a zoo folder
    (models/<name>) or a zoo name."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.trit"
    elif not p.exists() and (ZOO / str(path) / "model.trit").exists():
        p = ZOO / str(path) / "model.trit"
    if not p.exists():
        raise FileNotFoundError(f"no model {path}: not an IR file, a zoo folder or a zoo name "
                                f"({', '.join(c.name for c in list_models()) or 'zoo empty'})")
    return p


def model_label(path: Path) -> str:
    """Short name for build folders: the zoo name for models/<name>/model.trit."""
    return path.parent.name if path.name == "model.trit" else path.stem


def list_models(zoo: Path = ZOO) -> list[ModelCard]:
    cards = []
    for card in sorted(zoo.glob("*/card.json")):
        cards.append(ModelCard(**json.loads(card.read_text())))
    return cards


def _run_history(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{run} has no metrics.jsonl (not a training run folder)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def downsampling(config: dict) -> str:
    """Where a checkpoint's network leaves the 32x32 map, when it does so before stage 2
    (empty for the ResNet-20 layout)."""
    stem, stage1 = config.get("stem_stride", 1) == 2, config.get("stage1_stride", 1) == 2
    if not (stem or stage1):
        return ""
    where = ["stride-2 input convolution" if stem else "input convolution on 32×32"]
    if stage1:
        where.append("stage 1's first depthwise layer at stride 2")
    size = 32 >> (stem + stage1)
    maps = f"{size}×{size}, {size // 2}×{size // 2} and {size // 4}×{size // 4}"
    return f"{', '.join(where)}: stages on {maps} maps"


def render_card(card: ModelCard) -> str:
    """The card as Markdown."""
    counter = (f"{card.instructions_per_inference:,} instructions (QEMU, median)"
               if card.instructions_per_inference else
               f"{card.cycles_per_inference:,} cycles (median)" if card.cycles_per_inference
               else "-")
    target = ("" if card.target_accuracy is None else
              f"| target | ≥ {card.target_accuracy:.2f} on device — "
              f"{'met' if card.meets_target else 'NOT met'} |\n")
    folded = {"ttq-all-a8": "requantisation",
              "ttq-all-bin-s8": "thresholds, requantisation"}.get(card.variant, "thresholds")
    where = f"; {card.downsampling}" if card.downsampling else ""
    cmds = "\n".join(f"{what}:\n\n```sh\n{cmd}\n```\n" for what, cmd in card.commands.items())
    return f"""# {card.name}

{card.summary}

| | |
|---|---|
| architecture | DWS-ResNet-20, width {card.width} (variant `{card.variant}`){where} |
| weights | {card.weights_bytes:,} B as the IR counts them (weights, scales, {folded}) |
| training | {card.epochs} epochs, {card.train_minutes:.0f} min on {card.hardware} |
| validation accuracy | {card.val_accuracy:.4f} (best epoch; model selection) |
| test accuracy on device | {card.device_accuracy:.4f} on {card.test_images:,} CIFAR-10 test images, `{card.board}` |
| agreement with the integer reference | {card.agreement:.4f} |
| per inference | {counter} |
{target}
## Reproduce

{cmds}
Files: `model.trit` (IR), `checkpoint.pt` (best.pt of the run), `recipe.yaml`, `metrics.csv`
(per-epoch log), `bench.json` (the bench report behind the test accuracy).

{card.notes}
"""


def _label(entry: Path, zoo: Path) -> Path:
    """How commands name a zoo entry: models/<name> for the repository's zoo."""
    return entry.relative_to(zoo.parent) if zoo == ZOO else entry


def _measure(ir, entry: Path, zoo: Path, board: str, images: int, data: str | None,
             progress: bool):
    """Build ``ir`` for ``board``, run the first ``images`` test images on it and write the
    report to ``entry``/bench.json; returns the report."""
    from trainer.data import load_cifar10

    from .bench import bench_bulk
    from .firmware_build import build_firmware

    fw = build_firmware(ir, Path("build") / f"{board}-{entry.name}", board=board)
    test = load_cifar10(data)
    report = bench_bulk(fw.elf, ir, test.test_images[:images], test.test_labels[:images], board,
                        str(_label(entry, zoo)), fw.flash_bytes, fw.ram_bytes,
                        progress=progress)
    (entry / "bench.json").write_text(json.dumps(report.to_json(), indent=1))
    return report


def remeasure(name: str, board: str | None = None, images: int | None = None,
              data: str | None = None, zoo: Path = ZOO, progress: bool = False,
              reexport: bool = False) -> tuple[ModelCard, ModelCard]:
    """Run ``zoo``/``name``/model.trit on the board again, as the current kernels and firmware
    build it, and rewrite its bench.json and the card's device figures (board and image count
    default to the card's); the checkpoint, its training figures and the card's texts stay.
    ``reexport`` first exports the entry's checkpoint.pt to model.trit again with the current
    exporter (after a change of the IR format) and refreshes the card's IR count. Returns the
    card before and after."""
    from codegen.ir import load_ir, save_ir

    entry = zoo / name
    card_file = entry / "card.json"
    if not card_file.exists():
        raise FileNotFoundError(f"no zoo entry {name} in {zoo} "
                                f"({', '.join(c.name for c in list_models(zoo)) or 'zoo empty'})")
    text = card_file.read_text()
    before = ModelCard(**json.loads(text))
    board = board or before.board
    images = images or before.test_images
    if reexport:
        from trainer.export import export_model
        from trainer.train import load_checkpoint_model
        save_ir(export_model(load_checkpoint_model(entry / "checkpoint.pt")[0], name=name),
                entry / "model.trit")
    ir = load_ir(entry / "model.trit")
    report = _measure(ir, entry, zoo, board, images, data, progress)
    commands = dict(before.commands)
    commands["on-device test accuracy"] = (f"trit bench --board {board} --model "
                                           f"{_label(entry, zoo)} --images {images} "
                                           f"--json r.json")
    after = replace(
        before, board=board, test_images=report.images, device_accuracy=report.accuracy,
        weights_bytes=ir.storage().total,
        agreement=report.agreement, commands=commands,
        instructions_per_inference=(report.instructions_per_inference or {}).get("median"),
        cycles_per_inference=(report.cycles_per_inference or {}).get("median"))
    second = text.splitlines()[1] if text.count("\n") > 1 else ""
    indent = len(second) - len(second.lstrip()) or 1
    card_file.write_text(json.dumps(asdict(after), indent=indent, ensure_ascii=False) + "\n")
    (entry / "README.md").write_text(render_card(after))
    return before, after


def kept_texts_warning(old: dict, card: ModelCard, summary_given: bool,
                       notes_given: bool) -> str | None:
    """A warning where ``publish`` kept an earlier card's summary or notes although the
    network it describes changed (another width or variant), else None."""
    kept = [what for what, given in (("summary", summary_given), ("notes", notes_given))
            if not given and old.get(what)]
    changed = [f"{what} {old.get(what)} -> {getattr(card, what)}" for what in ("variant", "width")
               if old.get(what) is not None and old.get(what) != getattr(card, what)]
    if not kept or not changed:
        return None
    return (f"{card.name}: the {' and '.join(kept)} kept from the earlier card describe another "
            f"network ({', '.join(changed)}); pass --summary / --notes-file to replace them")


def publish(run: Path, name: str, summary: str | None = None, board: str = "mps2-an386",
            images: int = 10_000, data: str | None = None, target: float | None = None,
            notes: str | None = None, zoo: Path = ZOO, hardware: str | None = None,
            progress: bool = False, warn: Callable[[str], None] | None = None) -> ModelCard:
    """Export ``run``/best.pt into ``zoo``/``name`` and measure it on ``board``. Summary,
    target, notes and hardware not given are kept from an existing card; hardware otherwise
    comes from the run's log. ``warn`` receives :func:`kept_texts_warning`'s message, if
    any."""
    from codegen.ir import save_ir
    from trainer.export import export_model
    from trainer.train import load_checkpoint_model

    history = _run_history(run)
    model, ck = load_checkpoint_model(run / "best.pt")
    out = zoo / name
    old = json.loads((out / "card.json").read_text()) if (out / "card.json").exists() else {}
    summary_given, notes_given = summary is not None, notes is not None
    summary = summary if summary_given else old.get("summary", "")
    notes = notes if notes_given else old.get("notes", "")
    target = target if target is not None else old.get("target_accuracy")
    hardware = (hardware or history[-1].get("hardware") or old.get("hardware")
                or "not recorded")
    out.mkdir(parents=True, exist_ok=True)
    ir = export_model(model, name=name)
    save_ir(ir, out / "model.trit")
    shutil.copy2(run / "best.pt", out / "checkpoint.pt")
    shutil.copy2(run / "recipe.yaml", out / "recipe.yaml")
    shutil.copy2(run / "metrics.csv", out / "metrics.csv")
    rel = _label(out, zoo)
    report = _measure(ir, out, zoo, board, images, data, progress)
    best = max(history, key=lambda r: r["val_acc"])
    run_label = run.as_posix() if not run.is_absolute() else f"runs/{run.name}"
    card = ModelCard(
        name=name, summary=summary, variant=ck["recipe"]["variant"],
        width=ck["config"]["width"], weights_bytes=ir.storage().total, epochs=len(history),
        train_minutes=round(sum(r["seconds"] for r in history) / 60, 1),
        hardware=hardware, val_accuracy=best["val_acc"], board=board,
        test_images=report.images, device_accuracy=report.accuracy, agreement=report.agreement,
        instructions_per_inference=(report.instructions_per_inference or {}).get("median"),
        cycles_per_inference=(report.cycles_per_inference or {}).get("median"),
        target_accuracy=target, notes=notes, downsampling=downsampling(ck["config"]),
        commands={
            "train (resumable: add --resume)":
                f"trit train --recipe {rel}/recipe.yaml --out {run_label}",
            "publish (export best.pt, bench, write this card)":
                f"trit models publish {run_label} --name {name} --board {board} "
                f"--images {images}",
            "on-device test accuracy":
                f"trit bench --board {board} --model {rel} --images {images} --json r.json",
        })
    (out / "card.json").write_text(json.dumps(asdict(card), indent=1, ensure_ascii=False) + "\n")
    (out / "README.md").write_text(render_card(card))
    message = kept_texts_warning(old, card, summary_given, notes_given)
    if message and warn:
        warn(message)
    return card
