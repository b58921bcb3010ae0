"""The old-scan degradations of `data_pipeline.degrade` and their use in the pipeline."""

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline import constants as C
from data_pipeline import degrade
from data_pipeline.dataset import DataConfig, make_dataset, resize_batch

SEED = tf.constant([3, 4], tf.int64)


def _photo():
    """A real grey photo (skimage's camera man), [H, W, 1] in [0, 1]."""
    from skimage import data

    camera = data.camera()[::4, ::4].astype(np.float32) / 255.0  # 128 x 128
    return tf.constant(camera[..., None])


def _flat(value=0.5, shape=(64, 96, 1)):
    return tf.fill(shape, value)


OPS = {
    "grain": lambda x: degrade.add_grain(x, 0.04, SEED),
    "blur": lambda x: degrade.gaussian_blur(x, 1.2),
    "jpeg": lambda x: degrade.jpeg_blocks(x, 20),
    "fade": lambda x: degrade.fade(x, 0.2, 0.8),
    "exposure": lambda x: degrade.uneven_exposure(x, 0.4, SEED),
    "random": lambda x: degrade.random_degrade(x, SEED, 1.0),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_keeps_shape_range_and_is_the_same_in_tf_data(name):
    image = _photo()
    eager = OPS[name](image).numpy()
    assert eager.shape == image.shape and eager.dtype == np.float32
    assert eager.min() >= 0.0 and eager.max() <= 1.0
    assert np.abs(eager - image.numpy()).mean() > 1e-3, "the op changed nothing"
    graph = next(iter(tf.data.Dataset.from_tensors(image).map(OPS[name]))).numpy()
    np.testing.assert_allclose(graph, eager, atol=1e-6)


def test_grain_has_the_asked_strength_and_follows_the_seed():
    flat = _flat()
    noisy = degrade.add_grain(flat, 0.03, SEED).numpy()
    assert abs(noisy.std() - 0.03) < 0.006
    assert abs(noisy.mean() - 0.5) < 0.005
    again = degrade.add_grain(flat, 0.03, SEED).numpy()
    other = degrade.add_grain(flat, 0.03, tf.constant([5, 6], tf.int64)).numpy()
    np.testing.assert_array_equal(noisy, again)
    assert np.abs(noisy - other).mean() > 0.01


def test_blur_removes_fine_detail_and_keeps_flat_areas():
    checker = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)[..., None]
    blurred = degrade.gaussian_blur(tf.constant(checker), 1.5).numpy()
    assert blurred.std() < 0.05 * checker.std()
    np.testing.assert_allclose(
        degrade.gaussian_blur(_flat(0.3), 1.0).numpy(), 0.3, atol=1e-5
    )


def test_jpeg_makes_blocks_and_high_quality_is_nearly_lossless():
    image = _photo()
    low = degrade.jpeg_blocks(image, 10).numpy()
    high = degrade.jpeg_blocks(image, 100).numpy()
    assert np.abs(high - image.numpy()).mean() <= 3 / 255
    assert np.abs(low - image.numpy()).mean() > 2 * np.abs(high - image.numpy()).mean()
    # 8x8 blocks: the jump across block borders exceeds the jump inside blocks.
    steps = np.abs(np.diff(low[..., 0], axis=1))
    across = steps[:, 7::8].mean()
    inside = np.delete(steps, np.s_[7::8], axis=1).mean()
    assert across > 1.2 * inside


def test_fade_maps_black_and_white_to_the_new_points():
    ramp = tf.constant(np.linspace(0, 1, 11, dtype=np.float32).reshape(1, 11, 1))
    faded = degrade.fade(ramp, 0.2, 0.9).numpy()[0, :, 0]
    assert faded[0] == pytest.approx(0.2) and faded[-1] == pytest.approx(0.9)
    assert np.all(np.diff(faded) > 0)


def test_uneven_exposure_is_smooth_and_uneven():
    lit = degrade.uneven_exposure(_flat(), 0.4, SEED).numpy()[..., 0]
    assert lit.max() - lit.min() > 0.05  # uneven
    assert np.abs(np.diff(lit, axis=0)).max() < 0.02  # and smooth
    assert np.abs(np.diff(lit, axis=1)).max() < 0.02


def test_random_degrade_with_probability_zero_is_the_identity():
    image = _photo()
    np.testing.assert_array_equal(
        degrade.random_degrade(image, SEED, 0.0).numpy(), image.numpy()
    )


def test_random_degrade_draws_different_chains_per_seed():
    image = _photo()
    outputs = [
        degrade.random_degrade(image, tf.constant([i, 0], tf.int64), 1.0).numpy()
        for i in range(8)
    ]
    changed = [np.abs(out - image.numpy()).mean() > 1e-3 for out in outputs]
    assert 2 <= sum(changed) <= 8
    distinct = {out.tobytes() for out in outputs}
    assert len(distinct) >= 6


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.png")
    return str(folder)


def _batches(folder, **fields):
    config = DataConfig(source="folder", data_dir=folder, image_size=64, **fields)
    return list(make_dataset(config, 2, training=True))


def test_pipeline_degrades_l_only_and_keeps_the_padding(photo_folder):
    clean = _batches(photo_folder, augment="none")
    dirty = _batches(photo_folder, augment="none", degrade=1.0)
    changed = 0
    for (l0, ab0, m0), (l1, ab1, m1) in zip(clean, dirty):
        np.testing.assert_array_equal(ab0.numpy(), ab1.numpy())
        np.testing.assert_array_equal(m0.numpy(), m1.numpy())
        padding = m1.numpy() == 0
        assert np.all(l1.numpy()[padding] == C.PAD_L_NORM)
        assert l1.numpy().min() >= -1.0 and l1.numpy().max() <= 1.0
        changed += int(np.abs(l0.numpy() - l1.numpy()).mean() > 1e-3)
    assert changed >= 1


def test_multiscale_batches_take_the_listed_sides_under_the_seed(photo_folder):
    sizes = []
    for seed in range(6):
        batches = _batches(photo_folder, scales=(32, 64), seed=seed)
        for l_norm, ab, mask in batches:
            side = l_norm.shape[1]
            assert l_norm.shape[1:] == (side, side, 1) and ab.shape[1:3] == (side, side)
            assert set(np.unique(mask.numpy())) <= {0.0, 1.0}
            sizes.append(side)
    assert set(sizes) == {32, 64}
    first = [b[0].numpy() for b in _batches(photo_folder, scales=(32, 64), seed=3)]
    again = [b[0].numpy() for b in _batches(photo_folder, scales=(32, 64), seed=3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_resize_batch_keeps_values_and_zeroes_ab_outside_the_mask():
    l_norm = tf.fill([1, 8, 8, 1], 0.25)
    ab = tf.fill([1, 8, 8, 2], 0.5)
    mask = tf.concat([tf.ones([1, 8, 4, 1]), tf.zeros([1, 8, 4, 1])], axis=2)
    small_l, small_ab, small_mask = (
        t.numpy() for t in resize_batch(l_norm, ab, mask, 4)
    )
    np.testing.assert_allclose(small_l, 0.25)
    assert small_mask[0, :, :2, 0].min() == 1 and small_mask[0, :, 2:, 0].max() == 0
    np.testing.assert_allclose(small_ab[0, :, :2], 0.5)
    np.testing.assert_allclose(small_ab[0, :, 2:], 0.0)


@pytest.mark.parametrize(
    "fields",
    [{"scales": [4]}, {"scales": [128]}, {"scales": []}, {"degrade": 1.5}],
)
def test_bad_scales_or_degrade_are_refused(photo_folder, fields):
    with pytest.raises(ValueError):
        DataConfig(source="folder", data_dir=photo_folder, image_size=64, **fields)
