"""Global cast and hue error: hand-computed values on tiny synthetic images, for a
model and for the colourless baseline, in evaluate's JSON and table and in the
validation scores of training."""

import json

import numpy as np
import pytest
import tensorflow as tf

from colorization.evaluation import metrics, scoring
from colorization.inference import image_io
from data_pipeline import constants as C
from data_pipeline import lab
from tests.conftest import encode


def _hues(degrees, chroma=30.0):
    """ab pixels (1, n, 2) of the given hue angles and chroma."""
    angle = np.radians(np.asarray(degrees, np.float64))
    return chroma * np.stack([np.cos(angle), np.sin(angle)], -1)[None]


def _uniform(lightness, a, b, size=16):
    """A uint8 RGB image of one Lab colour."""
    colour = tf.constant([[[lightness, a, b]]], tf.float32)
    return image_io.to_uint8(np.tile(lab.lab_to_rgb(colour).numpy(), (size, size, 1)))


def test_a_uniform_cast_gives_exactly_its_size():
    truth = _hues(np.arange(0, 360, 15), chroma=40.0) + [[[5.0, -7.0]]]
    assert metrics.global_cast(truth, truth + [3.0, -4.0]) == pytest.approx(5.0)
    assert metrics.global_cast(truth, truth) == 0.0
    # The colourless baseline's cast: the distance of the truth's mean ab from 0.
    assert metrics.global_cast(truth, 0 * truth) == pytest.approx(np.hypot(5, 7))


def test_the_cast_is_of_the_mean_colour_only():
    truth = np.concatenate([_hues([0] * 4, 20.0), _hues([180] * 4, 20.0)], 1)
    assert metrics.global_cast(truth, np.zeros_like(truth)) == pytest.approx(0.0)
    assert metrics.global_cast(truth, truth[:, ::-1]) == pytest.approx(0.0)


def test_a_hue_rotation_gives_its_angle_wrapped_to_180():
    degrees = np.arange(0, 360, 10)
    truth = _hues(degrees)
    assert metrics.hue_error(truth, _hues(degrees + 90)) == pytest.approx(90.0)
    assert metrics.hue_error(truth, _hues(degrees - 90)) == pytest.approx(90.0)
    assert metrics.hue_error(truth, _hues(degrees + 270)) == pytest.approx(90.0)
    assert metrics.hue_error(truth, -truth) == pytest.approx(180.0)
    assert metrics.hue_error(truth, 2 * truth) == pytest.approx(0.0, abs=1e-9)
    # Across the +-180 degree seam the shorter way round: 170 to -170 is 20.
    assert metrics.hue_error(_hues([170]), _hues([-170])) == pytest.approx(20.0)


def test_hue_error_counts_the_pixels_coloured_in_both_only():
    limit = metrics.HUE_MIN_CHROMA
    truth = np.array([[[30, 0], [0, 0], [30, 0], [30, 0], [limit + 0.1, 0]]], float)
    result = np.array([[[0, 30], [0, 30], [0, limit - 0.1], [30, 0], [0, 9.0]]], float)
    # Pixels 0 (90 degrees), 3 (0) and 4 (90, just above the chroma limit) count;
    # pixel 1 is grey in the truth, pixel 2 just under the limit in the result.
    assert metrics.hue_error(truth, result) == pytest.approx(60.0)


def test_greys_have_no_hue_error():
    grey = np.zeros((1, 8, 2))
    assert np.isnan(metrics.hue_error(grey, grey))
    assert np.isnan(metrics.hue_error(_hues([0] * 8), grey))  # the baseline's
    assert np.isnan(metrics.hue_error(grey, _hues([0] * 8)))
    assert metrics.global_cast(grey, grey) == 0.0


class _QuarterTurn:
    """A fake colorizer that gives each photo back with its hue turned by 90 degrees:
    (a, b) -> (-b, a), L kept."""

    def colorize_array(self, rgb):
        photo = lab.rgb_to_lab(image_io.to_uint8(rgb)).numpy()
        a, b = photo[..., 1].copy(), photo[..., 2].copy()
        photo[..., 1], photo[..., 2] = -b, a
        return image_io.to_uint8(lab.lab_to_rgb(photo).numpy())


def test_evaluate_reports_cast_and_hue_of_model_and_baseline(tmp_path):
    coloured, grey = _uniform(60.0, 20.0, 10.0), _uniform(60.0, 0.0, 0.0)
    for name, image in (("coloured", coloured), ("grey", grey)):
        (tmp_path / f"{name}.png").write_bytes(encode(image))
    paths = [str(tmp_path / "coloured.png"), str(tmp_path / "grey.png")]
    summary = scoring.evaluate_paths(_QuarterTurn(), paths, progress=False)
    chroma = float(np.hypot(*metrics.ab_channels(coloured)[0, 0]))  # about 22.4
    assert chroma == pytest.approx(np.hypot(20, 10), abs=0.5)
    first, second = (row["model"] for row in summary["images"])
    assert first["cast"] == pytest.approx(chroma * np.sqrt(2), abs=0.5)
    assert first["hue_error"] == pytest.approx(90.0, abs=1.5)
    assert second["cast"] < 0.5 and np.isnan(second["hue_error"])
    # Set means: the cast of both photos, the hue error of the coloured one only.
    assert summary["model"]["cast"] == pytest.approx(first["cast"] / 2, abs=0.3)
    assert summary["model"]["hue_error"] == first["hue_error"]
    assert summary["baseline"]["cast"] == pytest.approx(chroma / 2, abs=0.3)
    assert np.isnan(summary["baseline"]["hue_error"])

    scoring.write_summary(tmp_path / "val.json", summary)
    text = (tmp_path / "val.json").read_text()
    assert "NaN" not in text
    written = json.loads(text)
    assert written["baseline"]["hue_error"] is None
    assert written["images"][1]["model"]["hue_error"] is None
    assert written["images"][0]["baseline"]["hue_error"] is None
    assert written["model"]["hue_error"] == pytest.approx(90.0, abs=1.5)

    table = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in scoring.format_table(summary).splitlines()
    ]
    rows = {row[0]: dict(zip(table[0], row)) for row in table[2:]}
    assert table[0][-2:] == ["cast", "hue_error"]
    assert float(rows["model"]["cast"]) == pytest.approx(first["cast"] / 2, abs=0.3)
    assert float(rows["model"]["hue_error"]) == pytest.approx(90.0, abs=1.5)
    assert float(rows["baseline"]["cast"]) == pytest.approx(chroma / 2, abs=0.3)
    assert rows["baseline"]["hue_error"] == "-"
    assert rows["truth"]["cast"] == rows["truth"]["hue_error"] == ""


def test_validation_scores_carry_cast_and_hue_error():
    rgb = np.stack([_uniform(60.0, 20.0, 10.0), _uniform(60.0, 0.0, 0.0)])
    l_norm, ab = lab.rgb_to_model(rgb)
    batches = [(l_norm, ab, tf.ones_like(l_norm))]
    truth_chroma = np.hypot(*C.denormalize_ab(ab.numpy()[0, 0, 0]))
    perfect = scoring.score_batches(lambda l_norm: ab, batches)
    assert perfect["cast"] < 0.5 and perfect["hue_error"] < 1.5
    # (The 8-bit grey photo has a cast of under 0.01 Lab units.)
    assert perfect["baseline_cast"] == pytest.approx(truth_chroma / 2, abs=0.01)
    turned = scoring.score_batches(
        lambda l_norm: tf.stack([-ab[..., 1], ab[..., 0]], -1), batches
    )
    assert turned["hue_error"] == pytest.approx(90.0, abs=1.5)
    grey = scoring.score_batches(lambda l_norm: tf.zeros_like(ab), batches)
    assert grey["cast"] == pytest.approx(grey["baseline_cast"], abs=0.5)
    assert np.isnan(grey["hue_error"])
    assert set(perfect) == set(scoring.BATCH_SCORES)
