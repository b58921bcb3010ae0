"""Guidance: a reference photo or a palette as a prior over the ab bins, the
uncertainty map, suggested hints and variants, in the API, infer.py and the
SavedModel (tiny models with known distributions, small photos)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import infer
from colorization.hints import user_hints
from colorization.hints.hint_graph import colours_to_ab_norm
from colorization.inference import guidance, planning, suggestions
from colorization.inference.colorizer import Colorizer
from colorization.models import ModelConfig, ab_gamut, build_generator
from colorization.models.hint_propagation import add_hint_propagation
from colorization.models.layers import AnnealedMean
from colorization.models.model_file import ModelFacts, save_model
from tests.conftest import encode, photo
from tests.inference_helpers import tiny_unet

Q = ab_gamut.BINS
RED = (200, 30, 30)


def hue(ab):
    return np.degrees(np.arctan2(ab[..., 1], ab[..., 0]))


def turn(a, b):
    return np.abs((a - b + 180) % 360 - 180)


@pytest.fixture(scope="module")
def two_heads():
    """A tiny hinted two-head U-Net with random weights and hint propagation."""
    keras.utils.set_random_seed(5)
    config = ModelConfig(
        name="unet", base_filters=4, depth=2, head="dual", input_channels=4, dropout=0.0
    )
    return add_hint_propagation(build_generator(config))


@pytest.fixture(scope="module")
def colorizer(two_heads):
    return Colorizer([two_heads], size=32)


def nearest_bin(rgb):
    ab = colours_to_ab_norm(np.array([rgb], np.uint8)).numpy()[0]
    return int(np.argmin(((ab_gamut.gamut_centres() - ab) ** 2).sum(-1)))


CHOICES = (RED, (30, 150, 30), (30, 60, 200))


def sure_where_bright(bin_index=100):
    """A bins model that is sure of one bin where L is white and unsure (uniform)
    where L is black: logits (L_norm + 1) * 10 on that bin, 0 elsewhere."""
    inputs = keras.Input((None, None, 1))
    kernel = np.zeros((1, 1, 1, Q), np.float32)
    kernel[..., bin_index] = 10.0
    bias = np.zeros(Q, np.float32)
    bias[bin_index] = 10.0
    logits = keras.layers.Conv2D(
        Q,
        1,
        kernel_initializer=keras.initializers.Constant(kernel),
        bias_initializer=keras.initializers.Constant(bias),
        name="ab_logits",
    )(inputs)
    out = AnnealedMean(ab_gamut.gamut_centres(), dtype="float32", name="ab")(logits)
    return keras.Model(inputs, out)


def sure_only_where_white(bin_index=100, choices=CHOICES):
    """A bins model unsure among the colours `choices` wherever L < 75 (logits 5 on
    their bins) and sure of one bin where L is white (logit 20 relu(L_norm - 0.5)),
    so that mid greys are unsure, and unlike each other to the hint propagation."""
    inputs = keras.Input((None, None, 1))
    white = keras.layers.Conv2D(
        1,
        1,
        kernel_initializer=keras.initializers.Constant(20.0),
        bias_initializer=keras.initializers.Constant(-10.0),
        activation="relu",
    )(inputs)
    kernel = np.zeros((1, 1, 1, Q), np.float32)
    kernel[..., bin_index] = 1.0
    bias = np.zeros(Q, np.float32)
    for colour in choices:
        bias[nearest_bin(colour)] = 5.0
    logits = keras.layers.Conv2D(
        Q,
        1,
        kernel_initializer=keras.initializers.Constant(kernel),
        bias_initializer=keras.initializers.Constant(bias),
        name="ab_logits",
    )(white)
    out = AnnealedMean(ab_gamut.gamut_centres(), dtype="float32", name="ab")(logits)
    return keras.Model(inputs, out)


# -- priors -------------------------------------------------------------------------


def test_a_reference_of_one_colour_puts_the_prior_on_its_bin():
    prior = guidance.reference_prior(np.full((40, 60, 3), RED, np.uint8))
    assert prior.shape == guidance.PRIOR_SHAPE and prior.dtype == np.float32
    np.testing.assert_allclose(prior.sum(1), 1.0, rtol=1e-5)
    red_ab = colours_to_ab_norm(np.array([RED], np.uint8)).numpy()[0]
    nearest = np.argmin(((ab_gamut.gamut_centres() - red_ab) ** 2).sum(-1))
    assert (prior.argmax(1) == nearest).all()  # every band backs off to the whole
    assert prior.min() >= guidance.FLOOR / Q * 0.99  # nothing is impossible


def test_a_palette_colour_counts_most_in_the_bands_of_its_lightness():
    dark_blue, light_yellow = (20, 30, 110), (240, 230, 120)
    prior = guidance.palette_prior([dark_blue, light_yellow])
    centres = ab_gamut.gamut_centres()
    ab = colours_to_ab_norm(np.array([dark_blue, light_yellow], np.uint8)).numpy()
    blue_bin, yellow_bin = (np.argmin(((centres - c) ** 2).sum(-1)) for c in ab)
    assert prior[1, blue_bin] > prior[1, yellow_bin]  # L 15: dark
    assert prior[9, yellow_bin] > prior[9, blue_bin]  # L 95: bright
    np.testing.assert_allclose(prior.sum(1), 1.0, rtol=1e-5)


def test_the_palette_and_strength_are_checked():
    assert guidance.parse_palette("#7a2f1c, #2F4F7A") == [(122, 47, 28), (47, 79, 122)]
    assert guidance.parse_palette([(1, 2, 3)]) == [(1, 2, 3)]
    for bad in ("#7a2f1c,red", "", "#12345", [(1, 2, 300)]):
        with pytest.raises(guidance.GuideError):
            guidance.parse_palette(bad)
    for bad in (-0.1, 1.01, True, "0.5", float("nan")):
        with pytest.raises(guidance.GuideError, match=r"strength must be in \[0, 1\]"):
            guidance.make_guide(palette="#ffffff", strength=bad)
    with pytest.raises(guidance.GuideError, match="not both"):
        guidance.make_guide(reference=np.zeros((4, 4, 3), np.uint8), palette="#ffffff")
    assert guidance.make_guide() is None


def test_an_unreadable_reference_is_one_line(tmp_path):
    bad = tmp_path / "ref.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(guidance.GuideError, match="cannot read the reference") as error:
        guidance.make_guide(reference=str(bad))
    assert "\n" not in str(error.value)
    with pytest.raises(guidance.GuideError, match="cannot read the reference"):
        guidance.make_guide(reference=str(tmp_path / "missing.jpg"))


# -- the guided graph -----------------------------------------------------------------


def test_strength_zero_is_exactly_the_automatic_result(colorizer):
    rgb = photo("astronaut", (40, 52))
    guide = colorizer.make_guide(palette="#c81e1e", strength=0.0)
    np.testing.assert_array_equal(
        colorizer.colorize_array(rgb, guide=guide), colorizer.colorize_array(rgb)
    )


def test_a_guide_turns_the_colours_towards_it_also_through_the_l1_head(colorizer):
    rgb = photo("coffee", (36, 48))
    red_hue = hue(colours_to_ab_norm(np.array([RED], np.uint8)).numpy()[0])
    guide = colorizer.make_guide(
        reference=np.full((8, 8, 3), RED, np.uint8), strength=1
    )
    for blend in (1.0, 0.0):  # the bins head alone, and the L1 head alone
        automatic = colorizer.predict_ab(rgb[None], blend=blend)
        guided = colorizer.predict_ab(rgb[None], blend=blend, guide=guide)
        assert np.abs(guided - automatic).max() > 0.02, blend
        assert turn(hue(guided), red_hue).mean() < turn(hue(automatic), red_hue).mean()
    # The blended output moves by the whole change of the bins head.
    change = colorizer.predict_ab(rgb[None], blend=1.0, guide=guide) - (
        colorizer.predict_ab(rgb[None], blend=1.0)
    )
    moved = colorizer.predict_ab(rgb[None], guide=guide) - colorizer.predict_ab(
        rgb[None]
    )
    np.testing.assert_allclose(moved, change, atol=2e-3)


def test_guides_with_hints_and_the_best_quality_keep_the_photo_size(colorizer):
    rgb = photo("chelsea", (30, 41))
    guide = colorizer.make_guide(palette="#2f4f7a", strength=0.7)
    for kwargs in ({"quality": "best"}, {}):
        out = colorizer.colorize_array(rgb, [(5, 6, "#d04020")], guide=guide, **kwargs)
        assert out.shape == rgb.shape and out.dtype == np.uint8


def test_a_model_without_a_bins_head_refuses_guidance():
    plain = Colorizer([tiny_unet()], size=32)
    rgb = photo("coffee", (20, 20))
    with pytest.raises(guidance.GuideError, match="no bins head"):
        plain.make_guide(palette="#ffffff")
    guide = guidance.make_guide(palette="#ffffff")
    with pytest.raises(guidance.GuideError, match="no bins head"):
        plain.colorize_array(rgb, guide=guide)
    for call in (plain.uncertainty, plain.suggest_hints):
        with pytest.raises(guidance.GuideError, match="no bins head"):
            call(rgb)


# -- uncertainty and suggestions ------------------------------------------------------


def half_dark(shape=(32, 48)):
    """Black on the left half, white on the right."""
    rgb = np.zeros((*shape, 3), np.uint8)
    rgb[:, shape[1] // 2 :] = 255
    return rgb


def test_the_uncertainty_is_one_where_every_colour_is_as_likely_and_zero_where_sure():
    colorizer = Colorizer([sure_where_bright()], size=48, stride=1)
    rgb = half_dark()
    uncertainty = colorizer.uncertainty(rgb)
    assert uncertainty.shape == rgb.shape[:2] and uncertainty.dtype == np.float32
    assert 0.0 <= uncertainty.min() and uncertainty.max() <= 1.0
    assert uncertainty[:, :20].min() > 0.99  # black: uniform logits
    assert uncertainty[:, 28:].max() < 0.01  # white: one bin at +20
    heat = suggestions.heat_map(uncertainty)
    assert heat.shape == (*rgb.shape[:2], 3) and heat.dtype == np.uint8


def test_suggestions_go_where_the_model_is_unsure_and_away_from_given_hints():
    colorizer = Colorizer([sure_only_where_white()], size=96, stride=1)
    rgb = np.full((32, 96, 3), 255, np.uint8)  # white: sure
    rgb[:, :32] = 100  # L 42: unsure
    rgb[:, 64:] = 160  # L 66: unsure, and unlike L 42 to the propagation
    spots = colorizer.suggest_hints(rgb, 2)
    assert len(spots) == 2
    assert {spot.x // 32 for spot in spots} == {0, 2}, spots  # one in each dark part
    for spot in spots:
        assert len(set(spot.colours)) == 3
        assert spot.probabilities == sorted(spot.probabilities, reverse=True)
        assert spot.uncertainty > 0.2 and spot.probabilities[0] > 0.15  # the 3
    first = spots[0]
    again = colorizer.suggest_hints(rgb, 1, [(first.x, first.y, "#ff0000")])[0]
    assert again.x // 32 == spots[1].x // 32  # not where a hint is given already
    assert json.loads(json.dumps([s.to_json() for s in spots]))[0]["x"] == first.x
    with pytest.raises(ValueError, match="at least 1"):
        colorizer.suggest_hints(rgb, 0)
    many = Colorizer([sure_only_where_white()], size=160, stride=1)
    assert len(many.suggest_hints(np.full((160, 160, 3), 100, np.uint8), 2)) == 2


def test_suggested_colours_are_the_likeliest_distinct_colours_there():
    bins = suggestions._distinct_modes(
        np.array([0.5, 0.3, 0.15] + [0.05 / (Q - 3)] * (Q - 3))
    )
    centres = ab_gamut.gamut_centres() * 128
    assert bins[0] == 0
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert (
            np.linalg.norm(centres[bins[i]] - centres[bins[j]]) >= suggestions.DISTINCT
        )


# -- variants -------------------------------------------------------------------------


def test_variants_differ_where_the_model_is_unsure_and_keep_the_photo(colorizer):
    rgb = photo("astronaut", (40, 40))
    made = colorizer.variants(rgb, 3, seed=1)
    assert len(made) == 3
    images = [image for image, _ in made]
    for image, hints in made:
        assert image.shape == rgb.shape and image.dtype == np.uint8
        assert len(hints) == suggestions.VARIANT_SPOTS
        assert (hints.points >= 0).all() and (hints.points[:, 0] < 40).all()
    assert any(np.abs(a.astype(int) - b).max() > 3 for a, b in zip(images, images[1:]))
    again = colorizer.variants(rgb, 3, seed=1)
    np.testing.assert_array_equal(images[0], again[0][0])  # seeded
    given = colorizer.variants(rgb, 2, [(3, 4, "#00ff00")])
    assert all(len(hints) == suggestions.VARIANT_SPOTS + 1 for _, hints in given)
    with pytest.raises(ValueError, match="at least 1"):
        colorizer.variants(rgb, 0)


def test_variants_need_a_hinted_model():
    plain = Colorizer([sure_where_bright()], size=32, stride=1)
    with pytest.raises(user_hints.HintError, match="takes no hints"):
        plain.variants(half_dark(), 2)


# -- infer.py -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(two_heads, tmp_path_factory):
    folder = tmp_path_factory.mktemp("guided")
    path = folder / "m.keras"
    save_model(two_heads, path, ModelFacts(image_size=32))
    (folder / "in").mkdir()
    (folder / "in" / "a.png").write_bytes(encode(photo("coffee", (30, 40))))
    (folder / "ref.png").write_bytes(encode(np.full((10, 10, 3), RED, np.uint8)))
    return folder


def run(saved, out, *flags):
    argv = [str(saved / "in"), "--model", str(saved / "m.keras"), "--quiet"]
    return infer.main(argv + ["--output", str(out), *flags])


def test_infer_writes_the_guided_result_and_the_side_outputs(
    saved, colorizer, tmp_path
):
    out = tmp_path / "out"
    flags = ["--reference", str(saved / "ref.png"), "--guide-strength", "0.9"]
    flags += ["--uncertainty", "--variants", "2", "--suggest", "4"]
    assert run(saved, out, *flags) == 0
    rgb = np.asarray(Image.open(saved / "in" / "a.png"))
    guide = colorizer.make_guide(reference=str(saved / "ref.png"), strength=0.9)
    expected = colorizer.colorize_array(rgb, guide=guide)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a.png")), expected)
    heat = np.asarray(Image.open(out / "a_uncertainty.png"))
    assert heat.shape == rgb.shape
    for number in (1, 2):
        assert np.asarray(Image.open(out / f"a_variant{number}.png")).shape == rgb.shape
    spots = json.loads((out / "a_suggestions.json").read_text())
    assert len(spots) == 4 and {"x", "y", "colours"} <= set(spots[0])


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--palette", "#7a2f1c,crimson"], "--palette"),
        (["--guide-strength", "1.5", "--palette", "#7a2f1c"], "--guide-strength"),
        (["--variants", "0"], "--variants"),
        (["--suggest", "-1"], "--suggest"),
        (["--reference", "nowhere.jpg"], "--reference"),
        (["--reference", "BAD"], "cannot read the reference"),
        (["--palette", "#000000", "--reference", "x.jpg"], "not allowed with"),
    ],
)
def test_bad_guidance_flags_are_one_line_exit_2_and_nothing_written(
    saved, tmp_path, capsys, flags, message
):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    flags = [str(bad) if flag == "BAD" else flag for flag in flags]
    assert run(saved, tmp_path / "out", *flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and len([e for e in err if "error" in e]) == 1, err
    assert not os.path.exists(tmp_path / "out")


def test_side_outputs_that_would_overwrite_an_input_are_refused(saved, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    source, other = tmp_path / "in" / "a.png", tmp_path / "out" / "a_uncertainty.png"
    for path in (source, other):
        path.write_bytes(encode(photo("coffee", (20, 20))))
    extras = planning.Extras(uncertainty=True)
    with pytest.raises(planning.UsageError, match="a_uncertainty.png' would be over"):
        planning.plan_jobs(
            [str(source), str(other)], str(tmp_path / "out"), extras=extras
        )
    assert planning.Extras(compare=True, uncertainty=True, variants=2, suggest=1).paths(
        "o/a.jpg"
    ) == [
        "o/a_compare.jpg",
        "o/a_uncertainty.png",
        "o/a_variant1.jpg",
        "o/a_variant2.jpg",
        "o/a_suggestions.json",
    ]


def test_a_video_is_guided_frame_by_frame_as_its_frames_would_be(colorizer, tmp_path):
    from tests.test_video import pan_frames, read_clip, write_clip

    frames = pan_frames(6, (48, 32))
    source = tmp_path / "clip.avi"
    write_clip(source, frames)
    read = read_clip(source)[0]
    colorizer.colorize_video(
        str(source),
        str(tmp_path / "out.mp4"),
        smooth=False,
        progress=False,
        palette="#1040d0",
        guide_strength=1.0,
    )
    written = read_clip(tmp_path / "out.mp4")[0]
    guide = colorizer.make_guide(palette="#1040d0", strength=1.0)
    expected = colorizer.colorize_array(read, guide=guide)
    automatic = colorizer.colorize_array(read)
    error = np.abs(written.astype(int) - expected).mean()
    far = np.abs(written.astype(int) - automatic).mean()
    assert error < far / 4, (error, far)  # H.264 halves the chroma resolution


# -- the SavedModel -------------------------------------------------------------------


def test_the_saved_model_takes_a_prior_and_zero_strength_is_automatic(
    colorizer, tmp_path
):
    from colorization.export.saved_model import export_saved_model

    export_saved_model(colorizer, str(tmp_path / "sm"))
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    rgb = photo("coffee", (30, 40))[None]
    prior = guidance.palette_prior([RED])
    automatic = loaded.serving_default(tf.constant(rgb))["rgb"].numpy()
    zero = loaded.guided(tf.constant(rgb), prior=prior, strength=0.0)["rgb"].numpy()
    np.testing.assert_array_equal(zero, automatic)
    guided = loaded.guided(tf.constant(rgb), prior=prior, strength=1.0)["rgb"].numpy()
    guide = guidance.Guide(prior, 1.0)
    expected = colorizer.colorize_array(rgb, guide=guide)
    assert np.abs(guided.astype(int) - expected).max() <= 1
    assert np.abs(guided.astype(int) - automatic).max() > 2


# -- the measurement (scripts/guidance_table.py) ----------------------------------------


def test_the_k_means_palette_finds_the_photo_s_colours_most_frequent_first():
    from colorization.evaluation import guided

    rgb = np.zeros((30, 60, 3), np.uint8)
    rgb[:, :30] = (200, 30, 30)  # half
    rgb[:, 30:50] = (30, 60, 200)  # a third
    rgb[:, 50:] = (240, 240, 240)  # a sixth
    palette = [user_hints.parse_colour(c) for c in guided.kmeans_palette(rgb)]
    expected = [(200, 30, 30), (30, 60, 200), (240, 240, 240)]
    assert np.abs(np.array(palette, int) - expected).max() <= 2, palette


def test_the_other_reference_is_the_next_photo_of_the_same_folder():
    from colorization.evaluation import guided

    paths = ["a/2.jpg", "a/1.jpg", "a/3.jpg", "b/1.jpg"]
    assert guided.other_in_folder(paths) == {
        "a/1.jpg": "a/2.jpg",
        "a/2.jpg": "a/3.jpg",
        "a/3.jpg": "a/1.jpg",
        "b/1.jpg": None,
    }
