"""`trit demo`: the whole pipeline on one model, every step checked against the one before.

1. the model: a zoo entry (``models/<name>``: its training checkpoint and shipped IR), a
   training run folder (its ``best.pt``) or a checkpoint file; with ``train_recipe``, a run
   trained (or resumed) first;
2. export: the checkpoint exported to the IR again; for a zoo entry the new file must have the
   shipped ``model.trit``'s bytes (exports are reproducible);
3. float vs integer: PyTorch and the integer reference interpreter on the first test images;
4. on each board: firmware generated and built, test images run in the emulator and every
   result compared with the reference interpreter (agreement must be 1.0);
5. for a binary-activation model, its int8 twin (codegen/int8_twin.py: the same convolutions
   with 8-bit weights and activations) built and run the same way on the first microcontroller
   board, so that the summary sets the binary kernels against an ordinary int8 network;
6. a summary table, also written as ``demo.json`` in the output folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from trainer.data import DataSplits

from .bench import BenchReport

#: What `trit demo` and `make demo` run by default.
DEFAULT_MODEL = "dws-tern-bin-32k"
DEFAULT_BOARDS = ("mps2-an386", "qemu-aarch64")


class DemoError(RuntimeError):
    """A demo step whose check failed (the message says which and why)."""


@dataclass
class DemoSource:
    """Where the demo's model comes from: a checkpoint, and the shipped IR of a zoo entry."""
    checkpoint: Path
    name: str
    shipped_ir: Path | None = None


@dataclass
class DemoSummary:
    model: str
    checkpoint: str
    ir: str
    weights_bytes: int
    ir_reproduced: bool | None        # None: not a zoo entry, nothing to compare with
    check_images: int
    float_accuracy: float | None
    reference_accuracy: float | None
    float_agreement: float | None     # PyTorch vs integer reference, predictions
    boards: list[BenchReport]
    int8_twin: BenchReport | None = None   # the int8 twin on the first microcontroller board

    @property
    def ok(self) -> bool:
        reports = self.boards + ([self.int8_twin] if self.int8_twin else [])
        return self.ir_reproduced is not False and all(r.agreement == 1.0 for r in reports)

    def to_json(self) -> dict:
        d = asdict(self)
        d["boards"] = [r.to_json() for r in self.boards]
        d["int8_twin"] = self.int8_twin.to_json() if self.int8_twin else None
        return d

    def twin_ratio(self) -> float | None:
        """The int8 twin's instructions per inference over the binary model's on its board."""
        t = self.int8_twin
        same = [r for r in self.boards if t and r.board == t.board]
        if not same or not t.instructions_per_inference or \
                not same[0].instructions_per_inference:
            return None
        return (t.instructions_per_inference["median"]
                / same[0].instructions_per_inference["median"])

    def table(self) -> str:
        lines = [f"{'board':18s} {'images':>6s} {'accuracy':>8s} {'agreement':>9s} "
                 f"{'per inference':>26s} {'flash B':>8s} {'RAM B':>7s}"]
        rows = [(r.board, r) for r in self.boards]
        if self.int8_twin:
            rows.append((f"{self.int8_twin.board} int8", self.int8_twin))
        for label, r in rows:
            if r.instructions_per_inference:
                per = f"{r.instructions_per_inference['median']:,} instructions"
            elif r.cycles_per_inference:
                per = f"{r.cycles_per_inference['median']:,} cycles"
            else:
                per = f"{r.milliseconds_per_inference['median']} ms"
            lines.append(f"{label:18s} {r.images:6d} {r.accuracy:8.4f} {r.agreement:9.4f} "
                         f"{per:>26s} {r.flash_bytes:8d} {r.ram_bytes:7d}")
        ratio = self.twin_ratio()
        if ratio is not None:
            lines.append(f"(int8: the model's int8 twin, 8-bit weights and activations, untrained: "
                         f"its accuracy means nothing; it takes {ratio:.1f}x the binary "
                         f"model's instructions)")
        return "\n".join(lines)


def resolve_source(model: str | Path) -> DemoSource:
    """A zoo name or folder, a run folder (``best.pt``) or a checkpoint file."""
    from .zoo import ZOO
    p = Path(model)
    if not p.exists() and (ZOO / str(model)).is_dir():
        p = ZOO / str(model)
    if p.is_dir():
        if (p / "checkpoint.pt").exists() and (p / "model.trit").exists():
            return DemoSource(p / "checkpoint.pt", p.name, p / "model.trit")
        if (p / "best.pt").exists():
            return DemoSource(p / "best.pt", p.name)
        raise DemoError(f"{p} holds neither a zoo entry (checkpoint.pt, model.trit) nor a "
                        f"training run (best.pt)")
    if p.suffix == ".pt" and p.exists():
        return DemoSource(p, p.parent.name or p.stem)
    if p.suffix == ".trit" and p.exists():
        raise DemoError(f"{p} is an IR file: the demo starts from a training checkpoint "
                        f"(`trit bench --model {p}` runs an IR on a board)")
    from .zoo import list_models
    names = ", ".join(c.name for c in list_models()) or "zoo empty"
    raise DemoError(f"no model {model}: not a zoo name ({names}), zoo or run folder, or "
                    f"checkpoint (.pt)")


def train_run(recipe: str, out: Path, data: str | None, log: Callable[[str], None],
              progress: bool, splits: DataSplits | None = None) -> Path:
    """Train ``recipe`` into ``out`` (resuming a run already there) on ``splits`` (default:
    the recipe's split of the CIFAR-10 training images at ``data``); returns best.pt."""
    from trainer.data import load_cifar10, make_splits
    from trainer.recipe import load_recipe
    from trainer.train import Trainer
    r = load_recipe(recipe, {})
    if splits is None:
        splits = make_splits(load_cifar10(data), r.val_size)
    trainer = Trainer(r, out, data=splits, log=log, progress=progress)
    if trainer.resume():
        log(f"continuing the run in {out}")
    trainer.fit()
    return out / "best.pt"


def run_demo(model: str | Path = DEFAULT_MODEL, boards: tuple[str, ...] = DEFAULT_BOARDS,
             images: int = 1000, check: int = 1000, data: str | None = None,
             out: Path = Path("build/demo"), train_recipe: str | None = None,
             train_splits: DataSplits | None = None, log: Callable[[str], None] = print,
             progress: bool = False, twin_images: int = 20) -> DemoSummary:
    """Run the steps of the module docstring; raises :class:`DemoError` where a check fails
    before the boards (a board's agreement below 1.0 is reported in the summary).
    ``train_splits``: training and validation images for ``train_recipe`` instead of the
    CIFAR-10 training split. ``twin_images``: test images for the int8 twin (0: no twin)."""
    from codegen.int8_twin import CALIBRATION_IMAGES, int8_twin, is_binary_model
    from codegen.ir import load_ir, save_ir
    from trainer.agreement import float_vs_reference
    from trainer.data import load_cifar10
    from trainer.export import export_model
    from trainer.train import load_checkpoint_model

    from .bench import bench_bulk
    from .boards import get_board
    from .firmware_build import build_firmware

    for b in boards:
        if not get_board(b).emulated:
            raise DemoError(f"{b} is a real board: the demo runs emulated boards only "
                            f"(on a board: `trit flash`, then `trit bench --board {b}`)")
    out.mkdir(parents=True, exist_ok=True)
    if train_recipe:
        log(f"== train: recipe {train_recipe} in {out / 'run'}")
        source = DemoSource(train_run(train_recipe, out / "run", data, log, progress,
                                      train_splits),
                            f"demo-{Path(train_recipe).stem}")
    else:
        source = resolve_source(model)

    log(f"== export: {source.checkpoint} -> {out / 'model.trit'}")
    net, _ = load_checkpoint_model(source.checkpoint)
    ir_path = out / "model.trit"
    save_ir(export_model(net, name=source.name), ir_path)
    ir = load_ir(ir_path)
    reproduced = None
    if source.shipped_ir is not None:
        reproduced = ir_path.read_bytes() == source.shipped_ir.read_bytes()
        if not reproduced:
            raise DemoError(f"the export of {source.checkpoint} differs from the shipped "
                            f"{source.shipped_ir}: the zoo entry is stale (republish it with "
                            f"`trit models publish`)")
        log(f"   same bytes as the shipped {source.shipped_ir}")
    log(f"   {ir.storage().total} B of weights, scales and thresholds (IR count), "
        f"{len(ir.layers)} layers")

    test = load_cifar10(data)
    fa = ra = agree = None
    if check:
        log(f"== float vs integer: PyTorch and the integer reference on {check} test images")
        r = float_vs_reference(net, ir, test.test_images[:check], test.test_labels[:check])
        fa, ra, agree = r.float_accuracy, r.reference_accuracy, r.agreement
        log(f"   PyTorch accuracy {fa:.4f}, integer reference {ra:.4f}, predictions agree "
            f"on {agree:.4f}")

    reports = []
    for b in boards:
        log(f"== {b}: generate C, build, run {images} test images in the emulator")
        fw = build_firmware(ir, out / b, board=b)
        report = bench_bulk(fw.elf, ir, test.test_images[:images], test.test_labels[:images],
                            b, str(ir_path), fw.flash_bytes, fw.ram_bytes, progress=progress)
        log("   " + report.text().replace("\n", "\n   "))
        (out / f"bench-{b}.json").write_text(json.dumps(report.to_json(), indent=1))
        reports.append(report)

    twin = None
    mcu = [b for b in boards if not get_board(b).linux]
    if twin_images and mcu and is_binary_model(ir):
        b = mcu[0]
        log(f"== {b}, int8 twin: the same convolutions with 8-bit weights and activations "
            f"(`trit int8-twin`), {min(twin_images, images)} test images")
        twin_ir = int8_twin(ir, test.train_images[:CALIBRATION_IMAGES])
        twin_path = out / "model-int8.trit"
        save_ir(twin_ir, twin_path)
        fw = build_firmware(twin_ir, out / f"{b}-int8", board=b)
        n = min(twin_images, images)
        twin = bench_bulk(fw.elf, twin_ir, test.test_images[:n], test.test_labels[:n], b,
                          str(twin_path), fw.flash_bytes, fw.ram_bytes, progress=progress)
        log("   " + twin.text().replace("\n", "\n   "))

    summary = DemoSummary(model=source.name, checkpoint=str(source.checkpoint),
                          ir=str(ir_path), weights_bytes=ir.storage().total,
                          ir_reproduced=reproduced, check_images=check, float_accuracy=fa,
                          reference_accuracy=ra, float_agreement=agree, boards=reports,
                          int8_twin=twin)
    (out / "demo.json").write_text(json.dumps(summary.to_json(), indent=1) + "\n")
    return summary
