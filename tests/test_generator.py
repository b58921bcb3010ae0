"""The multiprocessing generator: same tensors as tf.data, bad files skipped and counted."""

import numpy as np
import pytest

from data_pipeline.dataset import DataConfig, make_examples
from data_pipeline.generator import ColorizationGenerator, load_example
from data_pipeline.sources import list_image_files
from tests.conftest import encode, photo

SIZE = 64
# Per-pixel |difference| (mean, max) of the model tensors, tf.data against the generator.
# Measured: lossless files 0.001/0.005 (area), 0.0015/0.011 (bilinear), 0.003/0.073
# (bicubic: OpenCV's cubic kernel uses a = -0.75, TensorFlow's a = -0.5); JPEG files add
# the two libjpeg builds' IDCT differences, 0.008/0.134. On 100 photos of
# ../shared/datasets/photos/val at 256 px the mean was 0.0025 (area) to 0.0053 (bicubic).
LOSSLESS = {"area": (0.002, 0.012), "bilinear": (0.003, 0.02), "bicubic": (0.005, 0.1)}
JPEG = (0.012, 0.2)


@pytest.fixture(scope="module")
def real_photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    formats = [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
    ]
    for name, (fmt, kwargs) in zip(
        ["astronaut", "coffee", "chelsea", "rocket"], formats
    ):
        (root / f"{name}.{fmt.lower()}").write_bytes(encode(photo(name), fmt, **kwargs))
    return root


@pytest.mark.parametrize("method", sorted(LOSSLESS))
def test_generator_matches_tf_data(real_photos, method):
    size = 128
    config = DataConfig(
        source="folder",
        data_dir=str(real_photos),
        image_size=size,
        resize_method=method,
    )
    paths = list_image_files(str(real_photos))
    for path, tf_example in zip(paths, make_examples(config)):
        with open(path, "rb") as f:
            cv_example, status = load_example(
                f.read(), image_size=size, resize_method=method
            )
        assert status == "ok", path
        mean_tolerance, max_tolerance = (
            JPEG if path.endswith(".jpeg") else LOSSLESS[method]
        )
        np.testing.assert_array_equal(cv_example[2], tf_example[2].numpy())  # same mask
        for ours, theirs in zip(cv_example[:2], tf_example[:2]):
            diff = np.abs(ours - theirs.numpy())
            assert diff.mean() < mean_tolerance and diff.max() < max_tolerance, (
                path,
                diff.mean(),
                diff.max(),
            )


def test_generator_batches_every_image_with_worker_processes(photo_dir):
    paths = list_image_files(str(photo_dir))
    with ColorizationGenerator(
        paths, batch_size=2, image_size=SIZE, workers=2, epochs=2
    ) as generator:
        batches = list(generator)
    assert [b[0].shape[0] for b in batches] == [2, 2, 2, 2, 2]
    l_norm, ab_norm, mask = batches[0]
    assert l_norm.shape == (2, SIZE, SIZE, 1) and ab_norm.shape == (2, SIZE, SIZE, 2)
    assert mask.shape == (2, SIZE, SIZE, 1) and l_norm.dtype == np.float32
    assert generator.counts["ok"] == 10


def test_generator_skips_and_counts_bad_files(bad_files):
    paths = list_image_files(str(bad_files))
    with ColorizationGenerator(
        paths, batch_size=4, image_size=SIZE, workers=2
    ) as generator:
        batches = list(generator)
    assert sum(b[0].shape[0] for b in batches) == 2
    counts = generator.counts
    assert counts["ok"] == 2 and counts["grayscale"] == 1
    assert counts["not_an_image"] + counts["unreadable"] + counts["too_large"] == 4


def test_generator_shuffle_is_seeded(photo_dir):
    paths = list_image_files(str(photo_dir))

    def first_batch(seed):
        with ColorizationGenerator(
            paths, 5, image_size=SIZE, workers=1, seed=seed, chunk_size=5
        ) as g:
            return next(iter(g))[0]

    np.testing.assert_array_equal(first_batch(1), first_batch(1))
