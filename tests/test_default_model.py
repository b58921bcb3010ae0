"""The model shipped in the package colorizes a sample photo, with no download."""

import os
import shutil

import numpy as np
from skimage import color

import infer
from colorization.inference.colorizer import Colorizer, default_model_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_shipped_model_is_installed_and_small():
    path = default_model_path()
    assert os.path.isfile(path), "the default model is missing from colorization/assets"
    assert os.path.getsize(path) < 50 * 2**20


def test_shipped_model_gives_real_colour_and_keeps_l():
    colorizer = Colorizer.load()
    source = os.path.join(ROOT, "samples", "chelsea.jpg")
    result = colorizer.colorize(source)
    from colorization.inference.image_io import read_image

    original = read_image(source).rgb
    assert result.shape == original.shape
    lab = color.rgb2lab(result)
    assert np.abs(lab[..., 0] - color.rgb2lab(original)[..., 0]).max() < 0.5
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma.mean() > 5.0, f"mean chroma {chroma.mean():.1f}: no real colour"


def test_shipped_model_copied_alone_runs_at_its_own_size(tmp_path):
    """The file carries its size (224): no sidecar is shipped or needed."""
    alone = tmp_path / "copy.keras"
    shutil.copy(default_model_path(), alone)
    assert not os.path.exists(os.path.splitext(default_model_path())[0] + ".json")
    colorizer = Colorizer.load(str(alone))
    assert colorizer.size == 224
    source = os.path.join(ROOT, "samples", "chelsea.jpg")
    np.testing.assert_array_equal(
        colorizer.colorize(source), Colorizer.load(size=224).colorize(source)
    )


def test_infer_samples_folder_with_the_default_model(tmp_path):
    out = tmp_path / "colorized"
    assert (
        infer.main([os.path.join(ROOT, "samples"), "--output", str(out), "--quiet"])
        == 0
    )
    assert sorted(os.listdir(out)) == sorted(
        n for n in os.listdir(os.path.join(ROOT, "samples")) if n.endswith(".jpg")
    )
