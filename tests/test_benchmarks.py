"""The benchmark scripts run and end with one JSON object (figures are not asserted:
the machines are noisy)."""

import json
import subprocess
import sys

import pytest

from tests.train_data import REPO

pytestmark = pytest.mark.slow  # each runs a benchmark script for real


@pytest.mark.parametrize("preset", ["tiny", "cpu-unet-bins"])
def test_train_step_benchmark_prints_its_figures(preset):
    args = [sys.executable, "benchmarks/train_step.py", "--preset", preset]
    args += ["--image-size", "32", "--batch-size", "2", "--steps", "1", "--warmup", "1"]
    out = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["preset"] == preset and figures["batch_size"] == 2
    for key in (
        "seconds_per_step",
        "keras_train_on_batch_seconds_per_step",
        "gflop_per_step",
    ):
        assert figures[key] > 0
    assert 0 < figures["fraction_of_peak"] and figures["matmul_peak_gflop_per_s"] > 0


def test_video_benchmark_prints_its_figures(tmp_path):
    from colorization.models.model_file import ModelFacts, save_model
    from tests.inference_helpers import constant_ab_model

    model = tmp_path / "tiny.keras"
    save_model(constant_ab_model(0.1, 0.2, stride=4), model, ModelFacts(64))
    args = [sys.executable, "benchmarks/video.py", "--model", str(model)]
    args += ["--width", "64", "--height", "48", "--frames", "4", "--long-factor", "2"]
    args += ["--batch-size", "2"]
    out = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert (figures["short_frames"], figures["long_frames"]) == (4, 8)
    for key in ("short_fps", "long_fps", "short_peak_rss_mb", "long_peak_rss_mb"):
        assert figures[key] > 0
    assert figures["rss_long_over_short"] > 0


def test_video_hints_benchmark_prints_its_figures(tmp_path):
    from tests.inference_helpers import tiny_hinted_unet

    model = tmp_path / "hinted.keras"
    tiny_hinted_unet().save(model)
    args = [sys.executable, "benchmarks/video_hints.py", "--model", str(model)]
    args += ["--size", "32", "--width", "64", "--height", "48", "--frames", "6"]
    args += ["--after", "2", "--step", "2", "--point", "40", "20"]
    out = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["frames_written"] == 8 and figures["cuts_found_by_tracker"] == [6]
    assert figures["tracker_error_px_max"] >= 0
    if figures["point_kept_to_last_frame"]:
        assert figures["last_frame_ab_distance"] >= 0
    assert "last frame of the shot" in out or "dropped" in out


def test_inference_benchmark_times_files_and_a_hinted_recolorization(tmp_path):
    from tests.inference_helpers import tiny_hinted_unet

    model = tmp_path / "hinted.keras"
    tiny_hinted_unet().save(model)
    args = [sys.executable, "benchmarks/inference.py", "--model", str(model)]
    args += ["--size", "32", "--sizes", "64x48", "40x40", "--hint-size", "64x48"]
    args += ["--repeats", "1", "--hints", "3"]
    out = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["size"] == 32
    for key in ("64x48_ms", "40x40_ms", "hinted_64x48_ms", "hinted_64x48_no_hints_ms"):
        assert figures[key] > 0, key
    assert "again with 3 hints" in out


def test_app_abuse_benchmark_prints_its_table_and_figures(tmp_path):
    from colorization.models.model_file import ModelFacts, save_model
    from tests.inference_helpers import constant_ab_model

    model = tmp_path / "tiny.keras"
    save_model(constant_ab_model(0.1, 0.2, stride=4), model, ModelFacts(64))
    args = [sys.executable, "benchmarks/app_abuse.py", "--model", str(model)]
    args += ["--big-megapixels", "0.2", "--half-open", "4", "--concurrent", "3"]
    args += ["--normal", "2", "--read-timeout", "1"]
    out = subprocess.run(
        args, cwd=REPO, capture_output=True, text=True, timeout=600, check=True
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    rows = {row["scenario"].split()[-1]: row for row in figures["scenarios"]}
    assert set(rows) == {"640x480", "PNG", "half-open", "concurrent"}
    assert rows["concurrent"]["ok"] == 3 and rows["PNG"]["ok"] == 1
    assert figures["half_open_closed_after_s"] is not None
    for row in rows.values():
        assert row["peak_rss_mb"] > 0 and row["failed"] == 0
    assert "peak RSS MB" in out
