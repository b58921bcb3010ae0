"""Regression tests of issue 20: infer.py and evaluate.py on inputs that used to lose
data or end in a traceback (mixed bit depths, outputs onto inputs, globs, animated
GIFs, infinite PSNR in JSON, hostile hints files). SIGTERM is in test_video.py."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from skimage import color

import evaluate
import infer
from colorization.hints import user_hints
from colorization.inference import batch_inference, image_io
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "warm.keras"
    constant_ab_model(0.15, 0.25, stride=4).save(path)
    return str(path)


def run(args, model_path):
    return infer.main(args + ["--model", model_path, "--quiet", "--size", "64"])


def listing(folder):
    return sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
    )


def lightness(rgb):
    return color.rgb2lab(np.asarray(rgb)[..., :3])[..., 0]


# 1. 8-bit and 16-bit photos of one size in one batch


def test_8_and_16_bit_photos_of_one_size_share_a_batch_on_one_scale(
    tmp_path, model_path
):
    src = tmp_path / "mix"
    src.mkdir()
    grey = np.tile(np.arange(40, 200, dtype=np.uint8), (48, 1))  # 48 x 160
    Image.fromarray(grey).save(src / "a.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(src / "b.png")
    assert run([str(src), "--output", str(tmp_path / "out")], model_path) == 0
    expected = lightness(np.stack([grey] * 3, -1))
    for name in ("a.png", "b.png"):
        result = np.asarray(Image.open(tmp_path / "out" / name))
        assert np.abs(lightness(result) - expected).max() < 1.0, name


def test_stacked_images_are_on_one_scale():
    eight = np.full((2, 3, 3), 128, np.uint8)
    sixteen = np.full((2, 3, 3), 0.5, np.float32)
    assert image_io.stack_rgb([eight, eight]).dtype == np.uint8
    batch = image_io.stack_rgb([eight, sixteen])
    assert batch.dtype == np.float32 and batch.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(batch[0], 128 / 255)
    np.testing.assert_allclose(batch[1], 0.5)


# 2. No output onto an input, no two outputs onto one path


def test_an_input_inside_the_output_folder_is_never_overwritten(
    tmp_path, model_path, capsys
):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "o" / "sub").mkdir(parents=True)
    Image.new("L", (64, 48), 200).save(tmp_path / "in" / "sub" / "a.png")
    Image.new("L", (64, 48), 40).save(tmp_path / "o" / "sub" / "a.png")
    before = (tmp_path / "o" / "sub" / "a.png").read_bytes()
    args = [str(tmp_path / "in"), str(tmp_path / "o" / "sub")]
    assert run(args + ["--output", str(tmp_path / "o")], model_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would be overwritten" in err[0], err
    assert (tmp_path / "o" / "sub" / "a.png").read_bytes() == before
    assert listing(tmp_path / "o") == ["sub/a.png"]  # nothing written


def test_a_hard_link_to_an_input_is_an_input(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    os.link(tmp_path / "in" / "a.png", tmp_path / "out" / "a.png")
    with pytest.raises(batch_inference.UsageError, match="would be overwritten"):
        batch_inference.plan_jobs([str(tmp_path / "in")], str(tmp_path / "out"))


def test_a_compare_file_never_lands_on_another_result(tmp_path, model_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    (src / "a_compare.png").write_bytes(encode(photo("rocket", (16, 16))))
    out = tmp_path / "out"
    assert run([str(src), "--output", str(out), "--compare"], model_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would both be written to" in err[0], err
    assert not out.exists()


# 3. Globs


def test_a_recursive_glob_writes_beside_its_folder_and_can_run_again(
    tmp_path, model_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    for sub, name in (("x", "coffee"), ("y", "rocket")):
        (tmp_path / "photos" / sub).mkdir(parents=True)
        (tmp_path / "photos" / sub / "a.jpg").write_bytes(
            encode(photo(name, (24, 16)), "JPEG")
        )
    (tmp_path / "photos" / "notes.txt").write_text("not a photo")
    for _ in range(2):  # the same command again is not refused
        assert run(["photos/**/*.jpg"], model_path) == 0
    assert listing(tmp_path) == [
        "photos/notes.txt",
        "photos/x/a.jpg",
        "photos/y/a.jpg",
        "photos_colorized/x/a.jpg",
        "photos_colorized/y/a.jpg",
    ]


def test_glob_outputs_inside_the_pattern_are_not_inputs(tmp_path, model_path):
    (tmp_path / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    pattern = str(tmp_path / "**" / "*.png")
    out = tmp_path / "out"
    for _ in range(2):
        assert run([pattern, "--output", str(out)], model_path) == 0
    assert listing(tmp_path) == ["a.png", "out/a.png"]


# 5. Animated GIFs


def test_an_animated_gif_keeps_every_frame_its_durations_and_loop(tmp_path, model_path):
    src = tmp_path / "in"
    src.mkdir()
    levels, durations = (60, 130, 200), [80, 160, 240]
    frames = [Image.new("L", (40, 32), v).convert("RGB") for v in levels]
    frames[0].save(
        src / "anim.gif",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
    )
    assert run([str(src), "--output", str(tmp_path / "out")], model_path) == 0
    with Image.open(tmp_path / "out" / "anim.gif") as result:
        assert result.n_frames == 3 and result.info.get("loop") == 0
        seen = []
        for index, level in enumerate(levels):
            result.seek(index)
            seen.append(result.info["duration"])
            rgb = np.asarray(result.convert("RGB"))
            assert rgb.shape == (32, 40, 3)
            lab = color.rgb2lab(rgb)
            assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 10  # coloured
            grey = np.full((1, 1, 3), level, np.uint8)
            assert abs(lab[..., 0].mean() - lightness(grey).item()) < 1.5
    assert seen == durations


def test_a_still_gif_stays_one_frame(tmp_path, model_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "still.gif").write_bytes(
        encode(photo("coffee", (24, 16)), "GIF")
    )
    assert (
        run([str(tmp_path / "in"), "--output", str(tmp_path / "out")], model_path) == 0
    )
    with Image.open(tmp_path / "out" / "still.gif") as result:
        assert getattr(result, "n_frames", 1) == 1


def test_too_many_frames_are_refused_before_decoding(tmp_path):
    frames = [Image.new("L", (40, 30), v) for v in range(0, 250, 25)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    data = image_io.read_image(str(path), max_pixels=40 * 30 * 10, animation=True)
    assert data.frame_count == len(data.animation.frames) == 10
    with pytest.raises(image_io.ImageError, match="10 frames"):
        image_io.read_image(str(path), max_pixels=40 * 30 * 9, animation=True)


# 6. Strict JSON from evaluate.py


def _strict(text):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_evaluate_json_is_strict_with_a_grey_photo_and_a_tiny_one(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "colour.png").write_bytes(encode(photo("coffee", (48, 40))))
    grey = np.stack([photo("astronaut", (48, 40))[..., 0]] * 3, -1)
    (folder / "grey.png").write_bytes(encode(grey))
    (folder / "tiny.png").write_bytes(encode(photo("rocket", (8, 6))))  # no SSIM
    model = tmp_path / "m.keras"
    save_model(constant_ab_model(0.1, 0.2), model, ModelFacts(256))  # size inside
    out = tmp_path / "val.json"
    assert evaluate.main([str(folder), "--model", str(model), "--json", str(out)]) == 0
    summary = _strict(out.read_text())
    rows = {os.path.basename(row["path"]): row for row in summary["images"]}
    from colorization.evaluation.scoring import PSNR_CAP

    assert rows["grey.png"]["baseline"]["psnr"] == PSNR_CAP  # identical: capped
    assert rows["tiny.png"]["model"]["ssim"] is None  # undefined: null
    for name in ("model", "baseline"):
        assert 0 < summary[name]["psnr"] <= PSNR_CAP
        assert np.isfinite(summary[name]["ssim"])


# 7. Hints files and hint JSON text


HOSTILE = {
    "huge integer": '[{"x": ' + "9" * 5000 + ', "y": 1, "color": "#102030"}]',
    "huge float": '[{"x": 1.' + "5" * 5000 + ', "y": 1, "color": "#102030"}]',
    "deep list": "[" * 100_000 + "]" * 100_000,
    "deep object": '{"a":' * 30_000 + "1" + "}" * 30_000,
    "overflowing exponent": '[{"x": 1e999, "y": 1, "color": "#102030"}]',
    "NaN": '[{"x": NaN, "y": 1, "color": "#102030"}]',
    "big integer x": '[{"x": ' + "9" * 400 + ', "y": 1, "color": "#102030"}]',
    "not JSON": "[{x: 1}]",
    "an object": '{"x": 1, "y": 2, "color": "#102030"}',
    "empty": "",
    "not UTF-8": b'[{"x": 1, "y": 2, "color": "\xff"}]',
    "too big": "[" + " " * (user_hints.MAX_JSON_BYTES + 1) + "]",
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hint_json_is_refused_in_one_line(text):
    with pytest.raises(user_hints.HintError) as error:
        user_hints.parse_hints_json(text)
    message = str(error.value)
    assert "\n" not in message and 0 < len(message) <= 200, message


def test_hint_json_that_is_fine_is_parsed():
    hints = user_hints.parse_hints_json(
        b'[{"x": 3, "y": 4.5, "color": "#102030"}, {"x": 0, "y": 0, "color": '
        b"[1, 2, 3]}]"
    )
    assert hints.points.tolist() == [[3, 4.5], [0, 0]]
    assert hints.colours.tolist() == [[16, 32, 48], [1, 2, 3]]


@pytest.mark.parametrize("kind", ["huge integer", "deep list", "deep object"])
def test_a_hostile_hints_file_is_one_line_and_status_2(
    tmp_path, model_path, capsys, kind
):
    (tmp_path / "a.png").write_bytes(encode(photo("coffee", (16, 16))))
    (tmp_path / "hints.json").write_text(HOSTILE[kind])
    args = [str(tmp_path / "a.png"), "--hints", str(tmp_path / "hints.json")]
    assert run(args, model_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("infer.py: error: "), err
    assert str(tmp_path / "hints.json") in err[0]
    assert not (tmp_path.parent / f"{tmp_path.name}_colorized").exists()
