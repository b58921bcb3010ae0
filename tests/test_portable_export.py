"""export.py --format onnx / tflite: run by runtimes nobody here wrote, against Colorizer."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import export
from colorization.export import portable_graph
from colorization.inference.colorizer import Colorizer
from colorization.models import ModelConfig, build_generator
from colorization.models.model_file import ModelFacts, save_model
from data_pipeline import lab
from tests.conftest import photo
from tests.inference_helpers import tiny_unet
from tests.train_data import load_script

# The README's example ("Use the model elsewhere"), run as it is but for file names.
ONNX_EXAMPLE = """
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

session = ort.InferenceSession("colorizer.onnx")
photo = ImageOps.exif_transpose(Image.open("grandma.jpg")).convert("RGB")
images = np.asarray(photo)[None]  # uint8 (1, H, W, 3), any size
rgb = session.run(["rgb"], {"images": images})[0][0]
Image.fromarray(rgb).save("grandma_colorized.png")
"""
# Shrunk (area), grown (bicubic), thin and grey: both resize paths and odd sides.
PHOTOS = {
    "astronaut": (83, 61),
    "chelsea": (30, 21),
    "rocket": (20, 7),
    "grey astronaut": (40, 57),
}
SIZE = 48


def _photo(name, size):
    if name == "grey astronaut":  # a black-and-white photo: three equal channels
        return np.stack([photo("astronaut", size)[..., 1]] * 3, -1)
    return photo(name, size)


def _tiny_two_heads():
    """Like the shipped model: bins head (softmax) and L1 head, blended."""
    config = ModelConfig(name="unet", base_filters=4, depth=2, head="dual")
    return build_generator(config)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny two-head U-Net saved as .keras with its size inside, its Colorizer and
    expected outputs."""
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(_tiny_two_heads(), path, ModelFacts(SIZE))
    colorizer = Colorizer.load(str(path))
    expected = {
        name: colorizer.colorize_array(_photo(name, size))
        for name, size in PHOTOS.items()
    }
    return str(path), colorizer, expected


def _max_difference(got, expected):
    assert got.shape == expected.shape and got.dtype == np.uint8
    return int(np.abs(got.astype(int) - expected.astype(int)).max())


@pytest.mark.parametrize(
    "sizes",
    [(480, 224), (640, 224), (37, 48), (4000, 224), (1, 1), (7, 20), (100, 224)],
)
def test_resize_matrices_are_tensorflows_area_and_bicubic(sizes):
    in_size, out_size = sizes
    image = np.random.default_rng(0).uniform(0, 255, (1, in_size, 3, 1))
    image = image.astype(np.float32)
    method, weights = (
        ("area", portable_graph.area_weights)
        if in_size >= out_size
        else ("bicubic", portable_graph.bicubic_weights)
    )
    expected = tf.image.resize(image, [out_size, 3], method=method).numpy()[0, :, :, 0]
    got = weights(in_size, out_size).numpy() @ image[0, :, :, 0]
    assert np.abs(got - expected).max() < 0.01  # float32 rounding; a level is 1


def test_colour_maths_on_planes_is_data_pipeline_lab():
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (2, 5, 7, 3)).astype(np.float32)
    rgb[0, 0, :3] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5]]
    planes = np.transpose(rgb, [0, 3, 1, 2])
    got = portable_graph.lightness(planes).numpy()[:, 0]
    assert np.abs(got - lab.rgb_to_lab(rgb).numpy()[..., 0]).max() < 1e-3
    # Out-of-gamut ab too (up to +-128), so the desaturation is exercised.
    lab_values = np.concatenate(
        [rng.uniform(0, 100, (2, 5, 7, 1)), rng.uniform(-128, 128, (2, 5, 7, 2))], -1
    ).astype(np.float32)
    expected = lab.lab_to_rgb(lab_values, keep_lightness=True).numpy()
    lab_planes = np.transpose(lab_values, [0, 3, 1, 2])
    got = portable_graph.lab_to_srgb(lab_planes[:, :1], lab_planes[:, 1:]).numpy()
    assert np.abs(np.transpose(got, [0, 2, 3, 1]) - expected).max() < 1e-4


def test_portable_graph_matches_colorizer_for_one_model_and_an_ensemble(tiny):
    _, colorizer, expected = tiny
    for name, size in PHOTOS.items():
        images = _photo(name, size)[None]
        got = portable_graph.portable_colorize(
            colorizer.models, images, colorizer.size, colorizer.stride
        )
        assert _max_difference(got.numpy()[0], expected[name]) <= 1, name
    pair = Colorizer([colorizer.models[0], tiny_unet()], size=SIZE)
    images = _photo("astronaut", PHOTOS["astronaut"])[None]
    got = portable_graph.portable_colorize(pair.models, images, SIZE, pair.stride)
    assert _max_difference(got.numpy()[0], pair.colorize_array(images[0])) <= 1


@pytest.fixture(scope="module")
def onnx_file(tiny, tmp_path_factory):
    pytest.importorskip("tf2onnx")
    path = tmp_path_factory.mktemp("onnx") / "colorizer.onnx"
    args = ["--format", "onnx", "--model", tiny[0], "--size", str(SIZE), str(path)]
    assert export.main(args) == 0
    return path


def test_onnx_runs_in_onnxruntime_like_colorizer(tiny, onnx_file):
    ort = pytest.importorskip("onnxruntime")
    _, colorizer, expected = tiny
    session = ort.InferenceSession(str(onnx_file))
    for name, size in PHOTOS.items():
        got = session.run(["rgb"], {"images": _photo(name, size)[None]})[0][0]
        assert _max_difference(got, expected[name]) <= 1, name
    batch = np.stack([_photo(name, (50, 37)) for name in ("astronaut", "chelsea")])
    got = session.run(["rgb"], {"images": batch})[0]
    assert _max_difference(got, colorizer.colorize_array(batch)) <= 1
    spec = json.loads((onnx_file.parent / "colorizer.onnx.json").read_text())
    assert spec["format"] == "onnx" and spec["file"] == "colorizer.onnx"
    assert spec["network"]["size"] == SIZE and spec["network"]["stride"] == 4
    assert list(spec["inputs"]) == ["images"] and list(spec["outputs"]) == ["rgb"]
    # The bins head's softmax runs over the last axis (40x faster in onnxruntime).
    onnx = pytest.importorskip("onnx")
    nodes = onnx.load(str(onnx_file)).graph.node
    producers = {output: node.op_type for node in nodes for output in node.output}
    softmaxes = [node for node in nodes if node.op_type == "Softmax"]
    assert softmaxes and all(producers[n.input[0]] == "Flatten" for n in softmaxes)


def test_readme_example_needs_only_numpy_onnxruntime_and_pillow(
    tiny, onnx_file, tmp_path
):
    pytest.importorskip("onnxruntime")
    source = _photo("astronaut", (90, 70))
    Image.fromarray(source).save(tmp_path / "in.png")
    script = (
        ONNX_EXAMPLE.replace("colorizer.onnx", str(onnx_file))
        .replace("grandma.jpg", str(tmp_path / "in.png"))
        .replace("grandma_colorized.png", str(tmp_path / "out.png"))
    )
    script += "import sys\nassert 'tensorflow' not in sys.modules, 'TF imported'\n"
    script += "assert 'colorization' not in sys.modules\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = np.asarray(Image.open(tmp_path / "out.png"))
    assert _max_difference(got, tiny[1].colorize_array(source)) <= 1


def _tflite_signature(path):
    try:  # LiteRT; TensorFlow's own interpreter is deprecated but still in 2.21
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path)).get_signature_runner("serving_default")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_tflite_runs_in_the_tflite_interpreter_like_colorizer(tiny, tmp_path, dtype):
    path = tmp_path / f"colorizer-{dtype}.tflite"
    args = ["--format", "tflite", "--tflite-dtype", dtype, "--model", tiny[0]]
    assert export.main(args + ["--size", str(SIZE), str(path)]) == 0
    run = _tflite_signature(path)
    for name, size in PHOTOS.items():
        got = run(images=_photo(name, size)[None])["rgb"][0]
        assert _max_difference(got, tiny[2][name]) <= 2, name
    spec = json.loads((tmp_path / f"colorizer-{dtype}.tflite.json").read_text())
    assert spec["format"] == "tflite" and spec["weights"] == dtype


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "onnx", "out/"], "give a path ending in .onnx"),
        (["--format", "tflite", "m.onnx"], "give a path ending in .tflite"),
        (["--tflite-dtype", "float16", "saved/"], "applies to --format tflite"),
        (["--format", "onnx", "taken.onnx"], "exists"),
        (["--format", "onnx", "a_file/m.onnx"], "is not a folder"),
    ],
)
def test_bad_requests_are_one_line_before_any_work(
    tmp_path, monkeypatch, capsys, args, message
):
    (tmp_path / "taken.onnx").write_bytes(b"mine")
    (tmp_path / "a_file").write_text("a file, not a folder")
    monkeypatch.chdir(tmp_path)
    missing_model = ["--model", str(tmp_path / "not_loaded.keras")]
    assert export.main(missing_model + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert (tmp_path / "taken.onnx").read_bytes() == b"mine"
    assert sorted(os.listdir(tmp_path)) == ["a_file", "taken.onnx"]


def test_unwritable_folder_and_missing_converter_are_one_line(
    tiny, tmp_path, monkeypatch, capsys
):
    import colorization.export.saved_model

    out = str(tmp_path / "new" / "colorizer.onnx")
    with monkeypatch.context() as patch:  # root may write anywhere: pretend
        patch.setattr(colorization.export.saved_model.os, "access", lambda *args: False)
        assert export.main(["--format", "onnx", out]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"export.py: error: cannot write to {str(tmp_path)!r}"
    )
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # not installed
    args = ["--format", "onnx", "--model", tiny[0], out]
    assert export.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'keras-colorization[onnx]'" in err
    assert os.listdir(tmp_path) == []


def test_unknown_format_and_dtype_are_one_line(capsys):
    assert export.main(["--format", "coreml", "out.mlmodel"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "export.py: error: unknown format 'coreml': one of savedmodel, onnx, tflite\n"
    )
    assert (
        export.main(["--format", "tflite", "--tflite-dtype", "int8", "m.tflite"]) == 2
    )
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.slow
def test_shipped_model_round_trips_in_onnxruntime_and_tflite(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    colorizer = Colorizer.load()
    images = [photo("astronaut", (640, 480)), photo("coffee", (150, 100))]
    expected = [colorizer.colorize_array(image) for image in images]
    assert export.main(["--format", "onnx", str(tmp_path / "c.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "c.onnx"))
    for image, want in zip(images, expected):
        got = session.run(["rgb"], {"images": image[None]})[0][0]
        assert _max_difference(got, want) <= 1
    args = [
        "--format",
        "tflite",
        "--tflite-dtype",
        "float16",
        str(tmp_path / "c.tflite"),
    ]
    assert export.main(args) == 0
    run = _tflite_signature(tmp_path / "c.tflite")
    # XNNPACK's float32 kernels round differently; through round three's model
    # (a global branch, the bins at a quarter of the resolution, blend 0.75) the
    # largest difference found was 4 of 255 (2 with round two's).
    for image, want in zip(images, expected):
        assert _max_difference(run(images=image[None])["rgb"][0], want) <= 4


def test_a_hinted_model_exports_its_automatic_colorizer(tmp_path):
    from tests.inference_helpers import tiny_hinted_unet

    path = tmp_path / "hinted.keras"
    save_model(tiny_hinted_unet(), path, ModelFacts(SIZE))
    colorizer = Colorizer.load(str(path), size=SIZE)
    assert colorizer.hinted
    image = _photo("astronaut", PHOTOS["astronaut"])
    expected = colorizer.colorize_array(image)  # no hint
    got = portable_graph.portable_colorize(
        colorizer.models, image[None], SIZE, colorizer.stride
    )
    assert _max_difference(got.numpy()[0], expected) <= 1


@pytest.mark.slow
def test_a_hinted_model_round_trips_in_onnxruntime_and_tflite(tmp_path):
    from tests.inference_helpers import tiny_hinted_unet

    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    path = tmp_path / "hinted.keras"
    save_model(tiny_hinted_unet(), path, ModelFacts(SIZE))
    image = _photo("chelsea", PHOTOS["chelsea"])
    expected = Colorizer.load(str(path), size=SIZE).colorize_array(image)
    model = ["--model", str(path), "--size", str(SIZE)]
    assert export.main(["--format", "onnx", *model, str(tmp_path / "c.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "c.onnx"))
    got = session.run(["rgb"], {"images": image[None]})[0][0]
    assert _max_difference(got, expected) <= 1
    spec = json.loads((tmp_path / "c.onnx.json").read_text())
    assert "hint channels" in spec["network"]["input"]
    assert export.main(["--format", "tflite", *model, str(tmp_path / "c.tflite")]) == 0
    run = _tflite_signature(tmp_path / "c.tflite")
    assert _max_difference(run(images=image[None])["rgb"][0], expected) <= 2


def test_benchmark_prints_sizes_latency_and_differences(tiny, capsys):
    benchmark = load_script("benchmarks/export.py")
    args = ["--model", tiny[0], "--size", str(SIZE), "--formats", "tflite"]
    assert (
        benchmark.main(args + ["--repeats", "1", "--width", "64", "--height", "48"])
        == 0
    )
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["image"] == "64x48" and figures["colorizer"]["ms"] > 0
    row = figures["tflite"]
    assert row["size_mb"] > 0 and row["ms"] > 0 and row["max_level_difference"] <= 2
