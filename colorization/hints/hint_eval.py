"""How much colour hints help: a hinted model scored with 0, 1, 2, 5, 10 and 20 hints
taken from each photo's true colour (as Zhang et al. 2017 measure it).

    results = measure({"hinted": load_model("runs/hints/model.keras")}, "photos/val",
                      size=224, limit=100)
    print(format_table(results))

Each photo of the folder is prepared as validation prepares it (longer side to the
network's input size, centred on a black square) and colorized with no hint (the
automatic score), then with k hints: the mean true ab of a `PATCH` x `PATCH` patch at
k locations drawn uniformly over the image under (`SEED`, the photo's index), the
first k of the same 20, so more hints add to fewer. The locations depend only on the
photos, the size and the seed: every model measured at one size gets the same ones.
A model without hint inputs gets only the automatic score.

Scores per photo, inside the image (not the padding), then averaged over photos:
PSNR of the RGB result (as `scoring.score_batches` measures validation) and the
mean ab error, the Euclidean distance of predicted and true ab in Lab units.
"""

import json

import numpy as np
import tensorflow as tf

from colorization.evaluation import metrics, scoring
from colorization.models import is_hinted, set_blend
from data_pipeline import constants as C
from data_pipeline import files, hints, lab
from data_pipeline.config import DataConfig, HintConfig
from data_pipeline.dataset import make_examples

HINT_COUNTS = (0, 1, 2, 5, 10, 20)
PATCH = 5  # side of each hint's patch (a click's worth), pixels at network size
SEED = 14  # the hint locations drawn; fixed, so the published hint table reproduces


def hint_sets(counts=HINT_COUNTS, patch=PATCH):
    """The HintConfig of the measurement: exact counts, uniform locations, one
    patch size."""
    return HintConfig(
        p_none=0.0,
        max_points=max(max(counts), 1),
        min_patch=patch,
        max_patch=patch,
        location="uniform",
    )


def photo_batches(
    folder,
    size,
    counts=HINT_COUNTS,
    limit=None,
    batch_size=8,
    seed=SEED,
    patch=PATCH,
):
    """Batches of (L_norm, ab_norm, mask, hints) of the photos under `folder`:
    hints [N, len(counts), size, size, 3] holds the hint channels for each count.

    Args:
        folder: the photos.
        size: the network's input side.
        counts: the numbers of hints.
        limit: use the first `limit` photos (None: all).
        batch_size: photos per batch.
        seed: seeds the hint locations (with each photo's index).
        patch: side of each hint's patch.
    """
    config = hint_sets(counts, patch)
    data = DataConfig(source="folder", data_dir=folder, image_size=size)
    dataset = make_examples(data).enumerate()
    if limit is not None:
        dataset = dataset.take(limit)

    def add_hints(index, example):
        l_norm, ab_norm, mask = example
        photo_seed = tf.stack([tf.constant(seed, tf.int64), index])
        sets = []
        for count in counts:
            hint_ab, hint_mask = hints.sample_hints(
                ab_norm, mask, photo_seed, config, count=count
            )
            sets.append(tf.concat([hint_ab, hint_mask], -1))
        return l_norm, ab_norm, mask, tf.stack(sets)

    return dataset.map(add_hints).batch(batch_size)


def _check_size(name, model, size):
    """Raises a one-line ValueError if `model` cannot take `size` x `size` inputs."""
    import keras

    shape = (1, size, size, model.inputs[0].shape[-1])
    try:
        out = tuple(model.compute_output_spec(keras.KerasTensor(shape)).shape)
    except Exception:  # shape mismatches inside the model
        out = None
    if out != (1, size, size, 2):
        raise ValueError(
            f"model {name} cannot take {size} px inputs: use a multiple of its stride"
        )


def _predictor(model):
    @tf.function
    def predict(inputs):
        return tf.cast(model(inputs, training=False), tf.float32)

    return predict


def image_scores(l_norm, ab_norm, mask, pred):
    """[(PSNR, mean ab error in Lab units)] of each image of a batch, inside its
    image box."""
    truth = lab.to_uint8(lab.model_to_rgb(l_norm, ab_norm)).numpy()
    result = lab.to_uint8(lab.model_to_rgb(l_norm, pred)).numpy()
    error = C.denormalize_ab(tf.norm(pred - ab_norm, axis=-1)).numpy()
    scores = []
    for i, valid in enumerate(mask.numpy()[..., 0] > 0.5):
        box = scoring.valid_box(valid)
        if box is None:
            continue
        psnr = metrics.psnr(truth[i][box], result[i][box])
        scores.append((psnr, float(error[i][valid].mean())))
    return scores


def measure(models, folder, size, counts=HINT_COUNTS, limit=None, **options):
    """Scores each model with each number of hints on the photos under `folder`.

    Args:
        models: {name: Keras generator}; hinted ones (4 input channels) get every
            count, the others only 0.
        folder: the photos.
        size: the network input side (the same for every model).
        counts: the numbers of hints.
        limit: use the first `limit` photos.
        **options: `batch_size`, `seed`, `patch` of `photo_batches`.

    Returns:
        {"images", "size", "patch", "seed", "counts", "models": {name: {str(count):
        {"psnr", "ab_error"}}}}.

    Raises:
        ValueError: a model cannot take `size`, or no photo could be read.
    """
    for name, model in models.items():
        _check_size(name, model, size)
    rows = {name: {k: [] for k in counts} for name in models}
    predictors = {name: _predictor(model) for name, model in models.items()}
    images = 0
    batches = photo_batches(folder, size, counts, limit, **options)
    for l_norm, ab_norm, mask, sets in batches:
        images += int(l_norm.shape[0])
        for name, model in models.items():
            for j, count in enumerate(counts):
                if count and not is_hinted(model):
                    continue
                inputs = l_norm
                if is_hinted(model):
                    inputs = tf.concat([l_norm, sets[:, j]], -1)
                pred = predictors[name](inputs)
                rows[name][count] += image_scores(l_norm, ab_norm, mask, pred)
    if not images:
        raise ValueError(f"no colour photo could be read under {folder}")
    table = {
        name: {
            str(k): {
                "psnr": float(np.mean([s[0] for s in scores])),
                "ab_error": float(np.mean([s[1] for s in scores])),
            }
            for k, scores in per_count.items()
            if scores
        }
        for name, per_count in rows.items()
    }
    return {
        "images": images,
        "size": size,
        "patch": options.get("patch", PATCH),
        "seed": options.get("seed", SEED),
        "counts": list(counts),
        "models": table,
    }


def format_table(results):
    """The results as a Markdown table: one row per model and number of hints."""
    lines = [
        f"{results['images']} photos at {results['size']} px; each hint the mean "
        f"true ab of a {results['patch']} x {results['patch']} patch (seed "
        f"{results['seed']})",
        "",
        "| model | hints | PSNR (dB) | ab error (Lab) |",
        "|---|---:|---:|---:|",
    ]
    for name, per_count in results["models"].items():
        for count, score in per_count.items():
            label = "0 (automatic)" if count == "0" else count
            lines.append(
                f"| {name} | {label} | {score['psnr']:.2f} | {score['ab_error']:.2f} |"
            )
    return "\n".join(lines)


def plot(results, path):
    """Draws PSNR and ab error against the number of hints into `path` (written
    atomically); a model without hint inputs is a dashed line at its automatic
    score."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, (key, title) in zip(
        axes, (("psnr", "PSNR (dB)"), ("ab_error", "mean ab error (Lab)"))
    ):
        for index, (name, per_count) in enumerate(results["models"].items()):
            counts = [int(k) for k in per_count]
            values = [score[key] for score in per_count.values()]
            colour = f"C{index}"
            if len(counts) == 1:
                axis.axhline(values[0], color=colour, linestyle="--", label=name)
            else:
                axis.plot(counts, values, marker="o", color=colour, label=name)
        axis.set_xscale("symlog", linthresh=1)
        axis.set_xticks(results["counts"], [str(k) for k in results["counts"]])
        axis.set_xlabel("hints per photo")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return files.save_figure(figure, path)


def run(model_paths, folder, size=None, limit=None, plot_path=None, blend=None):
    """`measure` of the `.keras` files `model_paths` (at `size`, default the first
    one's training size) with the table printed, a JSON last line, and the plot.

    Returns:
        The results of `measure`.
    """
    from colorization.models.model_file import load_model, model_size

    models = {}
    for path in model_paths:
        model = load_model(path)
        if blend is not None:
            set_blend(model, blend)
        models[path] = model
    size = size or model_size(models[model_paths[0]], repr(model_paths[0]))
    results = measure(models, folder, size, limit=limit)
    print(format_table(results))
    if plot_path:
        plot(results, plot_path)
    print(json.dumps(results))
    return results
