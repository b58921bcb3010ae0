"""data_pipeline.image_ops: aspect-keeping resize, padding with a mask, crops and flips."""

import numpy as np
import pytest
import tensorflow as tf

from data_pipeline import image_ops
from tests.conftest import photo


def run(fn, *args, mode="eager"):
    """Runs fn eagerly or inside tf.data.Dataset.map (they can differ)."""
    if mode == "eager":
        return fn(*args)
    dataset = tf.data.Dataset.from_tensors(tuple(args)).map(fn)
    return next(iter(dataset))


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
@pytest.mark.parametrize(
    "shape,expected",
    [
        ((300, 200), (256, 171)),
        ((90, 600), (38, 256)),
        ((64, 64), (256, 256)),
        ((4000, 20), (256, 1)),
    ],
)
def test_resize_keep_aspect(shape, expected, mode):
    image = np.zeros(shape + (3,), np.uint8)
    result = run(lambda x: image_ops.resize_keep_aspect(x, 256), image, mode=mode)
    assert tuple(result.shape[:2]) == expected and result.dtype == tf.uint8


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
@pytest.mark.parametrize("method", image_ops.RESIZE_METHODS)
def test_resize_methods_round_and_clip_instead_of_wrapping(method, mode):
    # A black/white checkerboard: bicubic overshoots both ends of [0, 255] at every
    # edge. TensorFlow's float -> uint8 cast saturates in its vectorised loop but
    # wraps (-3 -> 253, 260 -> 4) in the scalar tail, hence an odd number of values.
    image = (np.indices((6, 8)).sum(0) % 2 * 255).astype(np.uint8)
    image = np.repeat(image[..., None], 3, -1)
    result = run(
        lambda x: image_ops.resize_keep_aspect(x, 63, method), image, mode=mode
    )
    assert result.dtype == tf.uint8 and tuple(result.shape) == (47, 63, 3)
    exact = tf.image.resize(image.astype(np.float32), (47, 63), method).numpy()
    if method == "bicubic":
        assert exact.min() < -10 and exact.max() > 265
    np.testing.assert_array_equal(result, np.clip(np.round(exact), 0, 255))


def test_unknown_resize_method_is_refused():
    with pytest.raises(ValueError, match="bicubic"):
        image_ops.resize_keep_aspect(np.zeros((4, 4, 3), np.uint8), 8, "lanczos7")


@pytest.mark.parametrize("mode", ["eager", "tf.data"])
def test_pad_to_size_centres_on_black_and_masks_the_padding(mode):
    image = np.full((10, 6, 3), 200, np.uint8)
    padded, mask, box = run(lambda x: image_ops.pad_to_size(x, 16), image, mode=mode)
    assert padded.shape == (16, 16, 3) and mask.shape == (16, 16, 1)
    top, left, height, width = box.numpy().tolist()
    assert (top, left, height, width) == (3, 5, 10, 6)
    np.testing.assert_array_equal(padded[top : top + 10, left : left + 6], image)
    assert padded.numpy().sum() == image.sum()  # everything else is black
    assert mask.numpy().sum() == 60 and mask[top, left, 0] == 1 and mask[0, 0, 0] == 0


def test_random_ops_are_deterministic_under_a_seed_and_vary_with_it():
    image = photo("astronaut", (64, 48))
    seed = tf.constant([1, 2], tf.int64)
    a = image_ops.random_crop_fraction(image, 0.5, seed)
    b = image_ops.random_crop_fraction(image, 0.5, seed)
    np.testing.assert_array_equal(a, b)
    crops = {
        tuple(
            image_ops.random_crop_fraction(
                image, 0.5, tf.constant([s, 0], tf.int64)
            ).shape
        )
        for s in range(10)
    }
    assert len(crops) > 1
    for shape in crops:  # aspect kept within a pixel
        assert abs(shape[0] / shape[1] - 48 / 64) < 0.1
    flips = [
        image_ops.random_flip(image, tf.constant([s, 0], tf.int64)).numpy()
        for s in range(8)
    ]
    assert any((f == image[:, ::-1]).all() for f in flips) and any(
        (f == image).all() for f in flips
    )


def test_shorter_side_and_square_crops():
    image = photo("coffee", (200, 100))
    resized = image_ops.resize_shorter_side(image, 60)
    assert tuple(resized.shape[:2]) == (60, 120)
    crop = image_ops.random_square_crop(resized, 48, tf.constant([3, 4], tf.int64))
    assert tuple(crop.shape) == (48, 48, 3)
