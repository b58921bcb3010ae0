"""Plot the validation scores of training runs against the CPU-hours they took.

    python scripts/learning_curve.py /work/runs/default --output docs/learning_curve.png

Reads WORKDIR/metrics.csv (one row per epoch, written by train.py) and draws val PSNR,
hist. intersection a and b, colourfulness (as a share of the truth's), global cast
(Lab units) and hue error (degrees) against the run's cumulative CPU-hours, so one can
see whether more training still helps, and what it does to colour. The cast panel
shows the colourless (ab = 0) model's cast on the same validation batches, which
metrics.csv holds (`val_baseline_cast`); `--baseline` adds its PSNR and hist. values,
if given as PSNR,HIST_A,HIST_B. Runs logged before a score existed leave its panel
empty.
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PANELS = (
    ("val_psnr", "PSNR (dB)"),
    ("val_hist_a", "hist. intersection a"),
    ("val_hist_b", "hist. intersection b"),
    ("val_colourfulness_ratio", "colourfulness / truth's"),
    ("val_cast", "global cast (Lab units)"),
    ("val_hue_error", "hue error (degrees)"),
)
COLUMNS = 3  # panels per row


def plot(runs, output, baseline=None):
    """Draws the panels for `runs` ({label: metric rows}) into `output` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = math.ceil(len(PANELS) / COLUMNS)
    figure, axes = plt.subplots(lines, COLUMNS, figsize=(4 * COLUMNS, 3.4 * lines))
    for axis, (key, title) in zip(axes.flat, PANELS):
        # One colour per run in every panel, also where an older run has no points.
        for colour, (label, rows) in enumerate(runs.items()):
            points = [(r["cpu_hours"], r[key]) for r in rows if key in r]
            if points:
                x, y = zip(*points)
                axis.plot(x, y, marker="o", color=f"C{colour}", label=label)
        if baseline and key in baseline:
            axis.axhline(baseline[key], color="grey", linestyle="--", label="ab = 0")
        if key == "val_colourfulness_ratio":
            axis.axhline(1.0, color="black", linewidth=0.8, label="truth")
        axis.set_title(title)
        axis.set_xlabel("CPU-hours of training")
        axis.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    figure.tight_layout()
    from data_pipeline import files

    return files.save_figure(figure, output)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdirs", nargs="+", help="training workdirs (metrics.csv)")
    parser.add_argument("--output", default="docs/learning_curve.png")
    parser.add_argument("--baseline", help="PSNR,HIST_A,HIST_B of the ab = 0 model")
    args = parser.parse_args(argv)

    from colorization.training.train_io import read_metrics

    runs = {}
    for workdir in args.workdirs:
        rows = read_metrics(os.path.join(workdir, "metrics.csv"))
        rows = [row for row in rows if "cpu_hours" in row and "val_psnr" in row]
        if not rows:
            print(
                f"error: {workdir}: no metrics.csv with validation scores",
                file=sys.stderr,
            )
            return 2
        runs[os.path.basename(os.path.normpath(workdir))] = rows
    baseline = {}
    if args.baseline:
        values = [float(v) for v in args.baseline.split(",")]
        baseline = dict(zip(("val_psnr", "val_hist_a", "val_hist_b"), values))
    # The baseline's cast depends only on the validation photos: the first run's.
    last_rows = [rows[-1] for rows in runs.values()]
    casts = [r["val_baseline_cast"] for r in last_rows if "val_baseline_cast" in r]
    if casts:
        baseline["val_cast"] = casts[0]
    print(f"wrote {plot(runs, args.output, baseline)}")
    for label, rows in runs.items():
        last = rows[-1]
        print(
            f"{label}: {len(rows)} epochs, {last['cpu_hours']:.2f} CPU-hours, "
            + ", ".join(f"{key}={last[key]:.3f}" for key, _ in PANELS if key in last)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
