"""infer.py end to end on real files made in the test, including every bad input."""

import os

import numpy as np
import pytest
from PIL import Image
from skimage import color

import infer
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, huge_png_header, photo
from tests.inference_helpers import constant_ab_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "warm.keras"
    # A warm, clearly coloured tint that says it runs at 64 px.
    save_model(constant_ab_model(0.15, 0.25, stride=4), path, ModelFacts(image_size=64))
    return str(path)


def run(args, model_path):
    return infer.main(args + ["--model", model_path, "--quiet", "--size", "64"])


def test_folder_is_colorized_recursively_with_the_same_names(tmp_path, model_path):
    src = tmp_path / "album"
    (src / "trip").mkdir(parents=True)
    (src / "a.jpg").write_bytes(encode(photo("astronaut", (90, 60)), "JPEG"))
    (src / "trip" / "b.png").write_bytes(encode(photo("coffee", (50, 70))[..., 0]))
    assert run([str(src)], model_path) == 0
    out = tmp_path / "album_colorized"
    assert sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    ) == ["a.jpg", "trip/b.png"]
    result = np.asarray(Image.open(out / "trip" / "b.png"))
    assert result.shape == (70, 50, 3)
    chroma = np.hypot(*color.rgb2lab(result)[..., 1:].transpose(2, 0, 1))
    assert chroma.mean() > 10  # clearly coloured
    l_in = color.rgb2lab(np.stack([photo("coffee", (50, 70))[..., 0]] * 3, -1))[..., 0]
    assert np.abs(color.rgb2lab(result)[..., 0] - l_in).max() < 0.5


def test_special_inputs(tmp_path, model_path):
    src = tmp_path / "special"
    src.mkdir()
    base = photo("chelsea", (48, 32))
    rgba = np.concatenate([base, np.full((32, 48, 1), 77, np.uint8)], -1)
    (src / "alpha.png").write_bytes(encode(rgba))
    (src / "palette.png").write_bytes(encode(Image.fromarray(base).quantize(32)))
    (src / "cmyk.jpg").write_bytes(
        encode(Image.fromarray(base).convert("CMYK"), "JPEG")
    )
    gray16 = photo("rocket", (40, 30))[..., 0].astype(np.uint16) * 257
    (src / "gray16.png").write_bytes(encode(Image.fromarray(gray16)))
    exif = Image.Exif()
    exif[0x0112] = 6
    (src / "rotated.jpg").write_bytes(encode(base, "JPEG", exif=exif.tobytes()))
    (src / "tiny.png").write_bytes(encode(base[:8, :8]))
    (src / "long.png").write_bytes(
        encode(np.repeat(base[:20, :40], 100, axis=1))
    )  # 20 x 4000
    assert run([str(src)], model_path) == 0
    out = tmp_path / "special_colorized"
    shapes = {p.name: np.asarray(Image.open(p)).shape for p in out.iterdir()}
    assert shapes == {
        "alpha.png": (32, 48, 4),
        "palette.png": (32, 48, 3),
        "cmyk.jpg": (32, 48, 3),
        "gray16.png": (30, 40, 3),
        "rotated.jpg": (48, 32, 3),  # EXIF orientation 6 applied
        "tiny.png": (8, 8, 3),
        "long.png": (20, 4000, 3),
    }
    assert (np.asarray(Image.open(out / "alpha.png"))[..., 3] == 77).all()


def test_bad_inputs_are_reported_skipped_and_never_half_written(
    tmp_path, model_path, capsys
):
    src = tmp_path / "mixed"
    src.mkdir()
    good = encode(photo("astronaut", (64, 64)), "JPEG")
    (src / "good.jpg").write_bytes(good)
    (src / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (src / "empty.png").write_bytes(b"")
    (src / "text.jpg").write_text("hello")
    (src / "bomb.png").write_bytes(huge_png_header(40_000, 40_000))
    assert run([str(src)], model_path) == 1
    err = capsys.readouterr().err
    for name, reason in [
        ("truncated.jpg", "truncated"),
        ("empty.png", "empty"),
        ("text.jpg", "not an image"),
        ("bomb.png", "over the limit"),
    ]:
        assert any(name in line and reason in line for line in err.splitlines()), (
            name,
            err,
        )
    out = tmp_path / "mixed_colorized"
    assert sorted(os.listdir(out)) == [
        "good.jpg"
    ]  # nothing partial, nothing for the bad ones


def test_compare_globs_and_output_flag(tmp_path, model_path):
    (tmp_path / "x.png").write_bytes(encode(photo("coffee", (30, 20))))
    (tmp_path / "y.png").write_bytes(encode(photo("rocket", (30, 20))))
    out = tmp_path / "out"
    assert (
        run([str(tmp_path / "*.png"), "--output", str(out), "--compare"], model_path)
        == 0
    )
    assert sorted(os.listdir(out)) == [
        "x.png",
        "x_compare.png",
        "y.png",
        "y_compare.png",
    ]
    assert np.asarray(Image.open(out / "x_compare.png")).shape == (20, 60, 3)


def test_ensemble_flag(tmp_path, model_path):
    other = tmp_path / "cool.keras"
    save_model(constant_ab_model(-0.15, -0.25), other, ModelFacts(image_size=64))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "g.png").write_bytes(encode(np.full((16, 16), 128, np.uint8)))
    assert (
        infer.main(
            [str(tmp_path / "in"), "--models", model_path, str(other), "--quiet"]
        )
        == 0
    )
    lab = color.rgb2lab(np.asarray(Image.open(tmp_path / "in_colorized" / "g.png")))
    assert np.abs(lab[..., 1:]).max() < 1.0  # warm + cool average to grey


@pytest.mark.parametrize(
    "args,message",
    [
        (lambda d: [str(d), "--output", str(d)], "is the input folder"),
        (lambda d: [str(d / "missing")], "no such file or folder"),
        (lambda d: [str(d), "--model", str(d / "none.keras")], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    (tmp_path / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    argv = args(tmp_path)
    if "--model" not in argv:
        argv += (
            ["--model", str(tmp_path / "none.keras")] if "missing" in message else []
        )
    code = infer.main(
        argv + ["--quiet"]
        if "--model" in argv
        else argv + ["--model", str(tmp_path / "m.keras"), "--quiet"]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_no_default_model_points_to_the_model_flag(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(
        "colorization.inference.colorizer.default_model_path",
        lambda: str(tmp_path / "none.keras"),
    )
    (tmp_path / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    assert infer.main([str(tmp_path / "a.png"), "--quiet"]) == 2
    assert "--model" in capsys.readouterr().err
