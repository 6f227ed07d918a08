"""Training recipes: a YAML file (or a shipped recipe name) plus command-line overrides."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

RECIPE_DIR = Path(__file__).parent / "recipes"


@dataclass
class Recipe:
    """Everything that determines a training run. Units: epochs over the training split,
    learning rates per step, batch size in images, time limit in minutes (0 = none)."""

    variant: str = "ttq-all-bin"
    width: int = 16
    blocks_per_stage: int = 3
    stem_stride: int = 1             # 2: the input convolution halves the map (1/4 of the MACs)
    stage1_stride: int = 1           # 2: stage 1's first block halves it instead
    stage1_width: int = 0            # channels of stage 1 and the input conv (0: width)
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "adam"          # adam | sgd
    lr: float = 2e-3
    momentum: float = 0.9            # sgd only
    weight_decay: float = 0.0        # on conv/linear weights only (not BN, not TTQ scales)
    schedule: str = "cosine"         # cosine | step | constant
    milestones: list[int] = field(default_factory=lambda: [80, 120])  # step: epochs
    gamma: float = 0.1               # step: factor at each milestone
    warmup_epochs: float = 0.0       # linear warm-up, then the schedule
    label_smoothing: float = 0.0
    augment: bool = True             # random crop (pad 4) + horizontal flip
    val_size: int = 5000             # last N training images held out
    seed: int = 0
    # float (TTQ fine-tuning), same config (continue), wider (narrow) or narrower (widen)
    init_from: str | None = None
    time_limit_min: float = 0.0      # stop after the epoch that crosses this limit
    eval_batch_size: int = 1000
    # before each validation, batch-norm statistics re-estimated over this many training
    # batches, augmented as in training ("precise BN"); 0 keeps the running averages
    bn_recalibration_batches: int = 0
    # knowledge distillation (trainer/distill.py): a checkpoint whose logits, softened by the
    # temperature, are blended into the loss with this weight (0: labels only)
    teacher: str | None = None
    distill_weight: float = 0.9
    distill_temperature: float = 4.0
    # weight averaging (trainer/ema.py): validate, select and deploy an exponential moving
    # average of the weights with this decay per step (0: off; 0.999 spans about 1,000 steps)
    ema_decay: float = 0.0

    def validate(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"recipe: optimizer must be adam or sgd, got {self.optimizer!r}")
        if self.schedule not in ("cosine", "step", "constant"):
            raise ValueError(f"recipe: schedule must be cosine, step or constant, "
                             f"got {self.schedule!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("recipe: epochs and batch_size must be positive")
        if self.stem_stride not in (1, 2):
            raise ValueError(f"recipe: stem_stride must be 1 or 2, got {self.stem_stride}")
        if self.stage1_stride not in (1, 2):
            raise ValueError(f"recipe: stage1_stride must be 1 or 2, got {self.stage1_stride}")
        if self.stage1_width < 0:
            raise ValueError(f"recipe: stage1_width must be 0 (width) or positive, "
                             f"got {self.stage1_width}")
        if self.bn_recalibration_batches < 0:
            raise ValueError("recipe: bn_recalibration_batches must be 0 or positive")
        if not 0.0 <= self.distill_weight <= 1.0:
            raise ValueError(f"recipe: distill_weight must be in [0, 1], got {self.distill_weight}")
        if self.distill_temperature <= 0.0:
            raise ValueError(f"recipe: distill_temperature must be positive, "
                             f"got {self.distill_temperature}")

        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"recipe: ema_decay must be in [0, 1), got {self.ema_decay}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def shipped_recipes() -> dict[str, Path]:
    """Recipe files shipped with trit, by name."""
    return {p.stem: p for p in sorted(RECIPE_DIR.glob("*.yaml"))}


def load_recipe(name_or_path: str | None, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a recipe (a shipped name or a YAML path), apply non-None overrides, validate."""
    values: dict[str, Any] = {}
    if name_or_path:
        path = Path(name_or_path)
        if not path.exists():
            path = shipped_recipes().get(name_or_path, path)
        if not path.exists():
            raise FileNotFoundError(
                f"no recipe {name_or_path!r}: not a file, and the shipped recipes are "
                f"{', '.join(shipped_recipes())}")
        values = yaml.safe_load(path.read_text()) or {}
    known = {f.name for f in fields(Recipe)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"recipe {name_or_path}: unknown keys {', '.join(unknown)}")
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    recipe = Recipe(**values)
    recipe.validate()
    return recipe
