"""export.py: a SavedModel that runs in a process importing only TensorFlow."""

import json
import subprocess
import sys

import numpy as np

import export
from colorization.inference.colorizer import Colorizer
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import tiny_unet

CHECK = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "colorization" not in sys.modules and "data_pipeline" not in sys.modules
model = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
out = {
    "rgb": model.serving_default(images)["rgb"].numpy().tolist(),
    "gray": model.serving_default(images[..., :1])["rgb"].numpy().tolist(),
    "signature": model.signatures["serving_default"](images=tf.constant(images))["rgb"].numpy().tolist(),
    "encoded": model.colorize_encoded(tf.io.read_file(sys.argv[3]))["rgb"].numpy().tolist(),
    "loaded": [m for m in ("colorization", "data_pipeline", "keras") if m in sys.modules],
    "signatures": sorted(model.signatures),
}
print(json.dumps(out))
"""


def test_saved_model_matches_infer_in_a_fresh_tensorflow_only_process(tmp_path):
    model_path = tmp_path / "m.keras"
    save_model(tiny_unet(), model_path, ModelFacts(48))  # its size inside
    out_dir = tmp_path / "exported"
    assert export.main(["--model", str(model_path), str(out_dir)]) == 0
    images = np.stack([photo("astronaut", (50, 37)), photo("chelsea", (50, 37))])
    np.save(tmp_path / "images.npy", images)
    png = tmp_path / "one.png"
    png.write_bytes(encode(images[0]))
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHECK,
            str(out_dir),
            str(tmp_path / "images.npy"),
            str(png),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    colorizer = Colorizer.load(str(model_path), size=48)
    expected = np.stack([colorizer.colorize(image) for image in images]).astype(int)
    for key in ("rgb", "signature"):
        got = np.asarray(result[key])
        assert got.shape == (2, 37, 50, 3)
        assert np.abs(got - expected).max() <= 1, key
    gray = np.asarray(result["gray"])
    assert gray.shape == (2, 37, 50, 3)
    assert np.abs(np.asarray(result["encoded"]) - expected[0]).max() <= 1
    # An automatic model has no `hinted` signature (tests/test_hint_inference.py).
    assert result["signatures"] == ["colorize_encoded", "serving_default"]
    assert (
        "colorization" not in result["loaded"]
        and "data_pipeline" not in result["loaded"]
    )


def test_existing_output_is_never_overwritten(tmp_path, capsys):
    model_path = tmp_path / "m.keras"
    save_model(tiny_unet(), model_path, ModelFacts(48))
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    assert export.main(["--model", str(model_path), str(tmp_path / "taken")]) == 2
    assert "exists" in capsys.readouterr().err
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def test_missing_model(tmp_path, capsys):
    assert (
        export.main(["--model", str(tmp_path / "no.keras"), str(tmp_path / "out")]) == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
