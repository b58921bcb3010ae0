"""Compare trained recipes on the validation photos: the README's recipe table.

    python scripts/compare_recipes.py runs/cpu-unet-l1 runs/cpu-unet-gan \
        runs/cpu-unet-bins runs/default --val ../shared/datasets/photos/val

For each train.py workdir, writes its last checkpoint as WORKDIR/last.keras (float32,
with the .json sidecar), scores it with evaluate.py's metrics on every photo of --val
(WORKDIR/val_metrics.json; kept and reused unless --again) and prints one Markdown row
per recipe beside the colourless baseline. Extra `.keras` files (for example the
shipped model) are scored with --model, every time.
"""

import argparse
import csv
import os
import sys

COLUMNS = ("psnr", "ssim", "ab_auc", "hist_a", "hist_b", "colourfulness_ratio")


def _last_row(workdir):
    path = os.path.join(workdir, "metrics.csv")
    if not os.path.isfile(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else {}


def row(name, summary, steps="", parameters=""):
    figures = summary["model"]
    cells = [f"{figures[k]:.3f}" for k in COLUMNS]
    return f"| {name} | {parameters} | {steps} | " + " | ".join(cells) + " |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdirs", nargs="*", help="train.py workdirs")
    parser.add_argument("--val", required=True, help="folder of validation photos")
    parser.add_argument("--model", action="append", default=[], help="a .keras model")
    parser.add_argument("--again", action="store_true", help="re-score cached runs")
    args = parser.parse_args(argv)

    from colorization.evaluation.scoring import score_model
    from colorization.inference.colorizer import load_model
    from colorization.training import checkpoints

    lines = [
        "| recipe | parameters | steps | PSNR | SSIM | ab AuC | hist. a | hist. b "
        "| colourfulness ratio |",
        "|---" * 9 + "|",
    ]
    summary = None
    for workdir in args.workdirs:
        model = os.path.join(workdir, "last.keras")
        if not os.path.isfile(model) or args.again:
            try:
                checkpoints.write_model(workdir, model, "last")
            except FileNotFoundError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
        cache = os.path.join(workdir, "val_metrics.json")
        summary = score_model(model, args.val, cache, args.again)
        parameters = load_model(model).count_params()
        steps = _last_row(workdir).get("global_step", "")
        name = os.path.basename(os.path.normpath(workdir))
        lines.append(row(name, summary, steps, f"{parameters / 1e6:.1f}M"))
    for model in args.model:
        summary = score_model(model, args.val)
        parameters = load_model(model).count_params()
        lines.append(
            row(os.path.basename(model), summary, "", f"{parameters / 1e6:.1f}M")
        )
    if summary is not None:
        lines.append(row("colourless (ab = 0)", {"model": summary["baseline"]}))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
