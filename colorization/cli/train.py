"""Train a colorization model on one device or many.

    colorization-train --dataset imagenet --loss l1
    colorization-train --dataset imagenet --manual-dir ~/imagenet-tars --preset zhu-gan
    colorization-train --preset tiny --dataset folder --data-dir DIR --workdir runs/tiny
    colorization-train --preset default --dataset folder --data-dir photos \\
        --set train.lr=3e-5 --set data.image_size=192 --set generator.base_filters=8
    colorization-train --list-presets     # each preset and the report it mirrors
    colorization-train --list-keys        # every --set key, its type and default
    colorization-train --preset klefbom-resnet18 --dataset folder --data-dir photos \\
        --file-list subsets/red.txt --workdir runs/red
    colorization-train --preset studienarbeit-l2 --dataset folder --data-dir photos/train \\
        --val-dir photos/val --batch-size 8 --mixed-precision bf16 --workdir runs/l2
    colorization-train --preset default-hints --dataset folder \\
        --data-dir ../shared/datasets/photos/train --val-dir ../shared/datasets/photos/val \\
        --init-from colorization/assets/default.keras --workdir runs/hints
    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                "task": {"type": "worker", "index": 0}}' \\
        colorization-train --preset tiny --dataset cifar10 --strategy multiworker

(`python train.py ...` is the same command.) `--set KEY=VALUE` (repeatable) sets any
field of the experiment config by its dotted key; a value is parsed by the field's type
("none" for an optional one, "128,160" for a tuple); --dataset, --batch-size, --lr, ...
are shortcuts for some of them, and --set wins over a shortcut. Re-running a command whose workdir holds a
checkpoint continues from it (after a crash or a SIGKILL); --resume makes a missing
checkpoint an error. The final generator is saved as WORKDIR/model.keras; --export DIR
also writes the SavedModel that `colorization-export` writes.
"""

import argparse
import os
import sys

from colorization import cli
from colorization.config import experiment as C
from colorization.config import overrides
from colorization.config.presets import PRESETS, preset_lines, resolve_config
from data_pipeline.config import TFDS_ALIASES

DATASETS = ("folder", "tfrecord", *TFDS_ALIASES)


def _dataset(value):
    if value in DATASETS or (value.startswith("tfds:") and len(value) > 5):
        return value
    raise argparse.ArgumentTypeError(
        f"invalid dataset {value!r} (choose from {', '.join(DATASETS)}, tfds:NAME)"
    )


def _positive(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def parser(prog="train.py"):
    """The command-line parser."""
    p = cli.ArgumentParser(
        prog=prog, description="Train a colorization model.", allow_abbrev=False
    )
    p.add_argument("--preset", default="studienarbeit-l1", choices=sorted(PRESETS))
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a config field by its dotted key, e.g. train.lr=3e-5 or "
        "data.image_size=192 (repeatable; --list-keys lists the keys)",
    )
    p.add_argument(
        "--list-presets", action="store_true", help="list the presets and exit"
    )
    p.add_argument(
        "--list-keys", action="store_true", help="list the --set keys and exit"
    )
    p.add_argument("--dataset", type=_dataset, help="data source (default: preset's)")
    p.add_argument("--data-dir", help="image folder, TFRecord folder or TFDS data_dir")
    p.add_argument(
        "--file-list",
        metavar="LIST",
        help="train only on the images this file names, one path relative to "
        "--data-dir a line (as `colorization-subsets` writes them)",
    )
    p.add_argument("--val-dir", help="validation image folder (or TFRecord folder)")
    p.add_argument("--manual-dir", help="TFDS manual dir (ImageNet's tar files)")
    p.add_argument("--model", help="generator name (default: the preset's)")
    p.add_argument(
        "--encoder-weights",
        help="pretrained encoder weights (.weights.h5) for effnet_unet or resnet18_unet",
    )
    p.add_argument(
        "--loss",
        choices=(*C.RECON_KINDS, *C.CLASSIFICATION_KINDS),
        help="l1, l2, huber, bins (Zhang et al.'s rebalanced classification) or "
        "bins_l1 (both, on a two-head generator)",
    )
    p.add_argument(
        "--hints",
        action=argparse.BooleanOptionalAction,
        help="train with simulated user colour hints (the generator then takes L and "
        "three hint channels; default: the preset's, on for default-hints)",
    )
    p.add_argument("--image-size", type=_positive)
    p.add_argument("--batch-size", type=_positive, help="global batch size")
    p.add_argument("--epochs", type=_positive)
    p.add_argument("--steps-per-epoch", type=_positive)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--workdir", default="runs/default")
    p.add_argument("--mixed-precision", choices=C.PRECISIONS)
    p.add_argument("--strategy", choices=C.STRATEGIES)
    p.add_argument("--save-every-steps", type=_positive)
    p.add_argument("--resume", action="store_true", help="require a checkpoint")
    p.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from this .keras model's weights (matched by layer name) when "
        "the workdir has no checkpoint, e.g. the shipped model; an automatic model "
        "widens into a hinted preset (hint weights at zero), a hinted one narrows "
        "into an automatic preset (its L channel)",
    )
    p.add_argument(
        "--export", metavar="DIR", help="also write a SavedModel (export.py's)"
    )
    cli.add_verbose_flag(p)
    return p


def config_from_args(args, resuming=False):
    """The ExperimentConfig the parsed flags describe (ValueError if contradictory).

    Args:
        args: The parsed flags.
        resuming: Whether the workdir holds a checkpoint (then --init-from is unused).
    """
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    shortcuts = overrides.shortcuts()
    given = {k: v for k, v in vars(args).items() if k in shortcuts and v is not None}
    sets = overrides.expand(given)
    sets |= dict(overrides.parse_assignment(text) for text in args.set)
    init_from = sets.get("train.init_from")
    if init_from is not None and not resuming and not os.path.isfile(init_from):
        raise ValueError(f"--init-from: no such model file {init_from!r}")
    file_list = sets.get("data.file_list")
    if file_list is not None and not os.path.isfile(file_list):
        raise ValueError(f"--file-list: no such file {file_list!r}")
    weights = sets.get("generator.encoder_weights")
    if weights is not None:
        if not os.path.isfile(weights):
            raise ValueError(f"--encoder-weights: no such file {weights!r}")
        sets["generator.encoder_weights"] = os.path.abspath(weights)
    return resolve_config(args.preset, sets)


def main(argv=None):
    """Parses flags, trains, and returns the exit status (2: bad flags, 1: failed)."""
    prog = cli.program("train.py", argv)
    try:
        args = parser(prog).parse_args(argv)
    except cli.FlagError as error:
        return cli.fail(prog, error)
    if args.list_presets or args.list_keys:
        lines = preset_lines() if args.list_presets else overrides.key_lines()
        print("\n".join(lines))
        return 0
    try:  # a bad --set answers before TensorFlow loads
        for text in args.set:
            overrides.parse_assignment(text)
    except ValueError as error:
        return cli.fail(prog, error)
    cli.prefer_tcmalloc(argv)
    cli.quiet_tensorflow(args.verbose)
    from colorization.training.train_io import latest_checkpoint, paths

    out = paths(args.workdir)
    resuming = latest_checkpoint(out["last"]) is not None
    try:
        config = config_from_args(args, resuming)
        if args.resume and not resuming:
            raise ValueError(f"--resume: no checkpoint in {args.workdir}")
        if args.export and os.path.exists(args.export):
            raise ValueError(f"--export: {args.export!r} exists; choose another folder")
    except ValueError as error:
        return cli.fail(prog, error)
    from colorization.training.loop import TrainingDiverged, train

    try:
        metrics = train(config, args.workdir, resume=args.resume)
    except (TrainingDiverged, ValueError) as error:
        return cli.fail(prog, error, status=1)
    print(" ".join(f"{k}={v:.4g}" for k, v in metrics.items()))
    if args.export and os.path.isfile(out["model"]):  # only the chief writes it
        from colorization.export.saved_model import export_saved_model
        from colorization.inference.colorizer import Colorizer

        written = export_saved_model(Colorizer.load(out["model"]), args.export)
        print(f"wrote SavedModel to {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
