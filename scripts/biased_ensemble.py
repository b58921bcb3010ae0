"""Klefbom-Mjoberg's colour-biased ensemble, measured: the README's ensemble table.

    python scripts/biased_ensemble.py --train ../shared/datasets/photos/train \
        --val ../shared/datasets/photos/val --workdir runs/klefbom

1. Splits --train into colour groups by measured hue (`data_pipeline.subsets`).
2. Fine-tunes one member per group (--groups) from --start (default: the shipped
   model) for --steps steps on that group's photos alone, with the start model's own
   recipe (its preset and network input), and writes WORKDIR/GROUP.keras. The member
   "all" is the control: the same fine-tune on every training photo, so the table
   separates what the bias does from what more training does.
3. Packs the biased members into one ensemble per --combos entry, with the report's
   plain mean of ab and with the chroma-preserving mean (`colorization.export.ensemble`).
4. Scores the start model, each member and each ensemble on every photo of --val
   and prints a Markdown table, then a JSON line with every figure.

Every step is skipped when its output exists (WORKDIR/GROUP.keras, WORKDIR/*.json
scores), so an interrupted run is continued by running the same command again.
"""

import argparse
import json
import os
import subprocess
import sys

SUBSETS = "red,yellow,green,blue,neutral"  # the groups photos are sorted into
COLUMNS = ("psnr", "ssim", "ab_auc", "hist_a", "hist_b", "colourfulness_ratio")
HERE = os.path.dirname(os.path.abspath(__file__))


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", required=True, help="folder of training photos")
    p.add_argument("--val", required=True, help="folder of validation photos")
    p.add_argument("--workdir", required=True, help="where lists, members, scores go")
    p.add_argument("--start", help="model to fine-tune (default: the shipped model)")
    p.add_argument("--groups", default="blue,yellow,green", help="biased members")
    p.add_argument(
        "--combos",
        default="blue+yellow,blue+yellow+green",
        help="ensembles to score, members joined by + (comma-separated)",
    )
    p.add_argument("--control", action="store_true", help="also fine-tune on all")
    p.add_argument("--steps", type=int, default=250, help="fine-tuning steps")
    p.add_argument(
        "--blend", type=float, help="bins-head weight of the members (default: start's)"
    )
    p.add_argument("--limit", type=int, help="score only the first N val photos")
    return p


def _run(command):
    print("+", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=2)  # to stderr: stdout is the table


def fine_tune(args, group, start, config):
    """Trains WORKDIR/GROUP from `start` on the group's list; writes GROUP.keras."""
    from colorization.training import checkpoints

    model = os.path.join(args.workdir, f"{group}.keras")
    if os.path.isfile(model):
        return model
    workdir = os.path.join(args.workdir, group)
    command = [sys.executable, os.path.join(HERE, "..", "train.py")]
    command += ["--preset", config["name"], "--dataset", "folder"]
    command += ["--data-dir", args.train, "--init-from", start, "--workdir", workdir]
    command += ["--epochs", "1", "--steps-per-epoch", str(args.steps)]
    if group != "all":
        command += [
            "--file-list",
            os.path.join(args.workdir, "subsets", f"{group}.txt"),
        ]
    _run(command)
    checkpoints.write_model(
        workdir, model, "last", blend=args.blend, size=config["image_size"]
    )
    return model


def _blend_of(path):
    """The bins-head weight of a two-head model file, or None for one head."""
    from colorization.inference.colorizer import load_model
    from colorization.models.layers import HeadBlend, nested_layers

    blends = [
        layer.weight
        for layer in nested_layers(load_model(path))
        if isinstance(layer, HeadBlend)
    ]
    return blends[0] if blends else None


def main(argv=None):
    args = parser().parse_args(argv)
    from colorization.cli import subsets
    from colorization.evaluation.scoring import score_model
    from colorization.export import ensemble
    from colorization.inference.colorizer import default_model_path
    from colorization.models.model_file import load_model, model_facts

    start = args.start or default_model_path()
    facts = model_facts(load_model(start))
    config = {**facts.training, "image_size": facts.image_size}
    groups = args.groups.split(",")
    lists = os.path.join(args.workdir, "subsets")
    if not os.path.isfile(os.path.join(lists, "summary.json")):
        subsets.main([args.train, lists, "--groups", SUBSETS])
    if args.blend is None:
        args.blend = _blend_of(start)

    models = {"start": start}
    for group in groups + (["all"] if args.control else []):
        models[group] = fine_tune(args, group, start, config)
    for combo in args.combos.split(","):
        members = [models[g] for g in combo.split("+")]
        for mean in ensemble.MEANS:
            name = f"{combo} ({mean} mean)"
            path = os.path.join(args.workdir, f"{combo}_{mean}.keras")
            if not os.path.isfile(path):
                ensemble.write_ensemble(path, members, mean)
            models[name] = path

    scores = {}
    lines = ["| model | " + " | ".join(COLUMNS) + " |", "|---" * 7 + "|"]
    for name, path in models.items():
        cache = os.path.splitext(path)[0] + "_val.json"
        if name == "start":
            cache = os.path.join(args.workdir, "start_val.json")
        summary = score_model(path, args.val, cache, limit=args.limit)
        scores[name] = summary["model"] | {"baseline": summary["baseline"]}
        cells = " | ".join(f"{summary['model'][k]:.3f}" for k in COLUMNS)
        lines.append(f"| {name} | {cells} |")
    baseline = next(iter(scores.values()))["baseline"]
    cells = " | ".join(f"{baseline[k]:.3f}" for k in COLUMNS)
    lines.append(f"| colourless (ab = 0) | {cells} |")
    print("\n".join(lines))
    print(json.dumps({name: {k: s[k] for k in COLUMNS} for name, s in scores.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
