"""Metrics against known values, and evaluate.py on real photos with the baseline."""

import json

import numpy as np
import pytest

import evaluate
from colorization.evaluation import metrics
from colorization.inference.image_io import colourless
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model


def test_psnr_and_ssim():
    image = photo("astronaut", (64, 64))
    assert metrics.psnr(image, image) == float("inf")
    noisy = np.clip(image.astype(int) + 10, 0, 255).astype(np.uint8)
    assert 25 < metrics.psnr(image, noisy) < 30
    assert metrics.ssim(image, image) == pytest.approx(1.0, abs=1e-6)
    assert metrics.ssim(image, noisy) < 1.0


def test_colourfulness_of_grey_is_zero_and_of_colour_is_not():
    assert metrics.colourfulness(np.full((8, 8, 3), 100, np.uint8)) == 0.0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    assert metrics.colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_histogram_intersection_and_auc():
    ab = metrics.ab_channels(photo("coffee", (40, 40)))
    hist = metrics.ab_histograms(ab)
    assert metrics.histogram_intersection(hist[0], hist[0]) == pytest.approx(1.0)
    grey = metrics.ab_histograms(np.zeros_like(ab))
    assert metrics.histogram_intersection(grey[0], hist[0]) < 0.5
    assert metrics.ab_error_auc(ab, ab) == pytest.approx(1.0)
    far = metrics.ab_error_auc(np.zeros((4, 4, 2)), np.full((4, 4, 2), 200.0))
    assert far == 0.0
    # A constant error of 75 in a: the share within t is 0 below 75, 1 from 75 on.
    half = metrics.ab_error_auc(
        np.zeros((4, 4, 2)), np.stack([np.full((4, 4), 75.0), np.zeros((4, 4))], -1)
    )
    assert half == pytest.approx(0.5, abs=0.01)


def test_colourless_baseline_keeps_l_and_has_no_colour():
    image = photo("chelsea", (30, 30))
    base = colourless(image)
    assert metrics.colourfulness(base) < 1.0
    assert np.abs(metrics.ab_channels(base)).max() < 1.0


def test_evaluate_cli_reports_model_and_baseline(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        (folder / f"{name}.png").write_bytes(encode(photo(name, (48, 40))))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xffjunk")
    model = tmp_path / "m.keras"
    save_model(constant_ab_model(0.1, 0.2), model, ModelFacts(256))  # size inside
    out = tmp_path / "val.json"
    assert (
        evaluate.main([str(folder), "--model", str(model), "--json", str(out)]) == 1
    )  # broken.jpg
    printed = capsys.readouterr()
    assert (
        "| model |" in printed.out
        and "| baseline |" in printed.out
        and "broken.jpg" in printed.err
    )
    summary = json.loads(out.read_text())
    assert summary["count"] == 3 and len(summary["images"]) == 3
    for key in (
        "psnr",
        "ssim",
        "ab_auc",
        "hist_a",
        "hist_b",
        "colourfulness",
        "colourfulness_ratio",
        "cast",
    ):
        assert np.isfinite(summary["model"][key]) and np.isfinite(
            summary["baseline"][key]
        )
    assert summary["baseline"]["colourfulness_ratio"] < 0.05
    assert summary["model"]["colourfulness"] > summary["baseline"]["colourfulness"]
    # The model paints ab = (12.8, 25.6) everywhere: a hue that the photos' coloured
    # pixels mostly lack; the colourless baseline has no hue at all.
    assert 0 < summary["model"]["hue_error"] <= 180
    assert summary["baseline"]["hue_error"] is None
    assert all(row["baseline"]["hue_error"] is None for row in summary["images"])
    assert summary["baseline"]["cast"] > 5 and summary["model"]["cast"] > 5
    header = next(line for line in printed.out.splitlines() if "psnr" in line)
    assert header.endswith("| cast | hue_error |")
    baseline_row = next(line for line in printed.out.splitlines() if "baseline" in line)
    assert baseline_row.endswith("| - |")
