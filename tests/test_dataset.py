"""data_pipeline.dataset: the whole tf.data path on real image files made in the test."""

import numpy as np
import pytest
import tensorflow as tf
from skimage import color

from data_pipeline import constants as C
from data_pipeline.dataset import DataConfig, dataset_fn, make_dataset, make_examples
from data_pipeline.sources import DataSourceError
from data_pipeline.stats import PipelineStats
from tests.conftest import encode, photo

SIZE = 64


def examples(root, training=False, stats=None, **overrides):
    config = DataConfig(
        source="folder", data_dir=str(root), image_size=SIZE, **overrides
    )
    return [
        tuple(t.numpy() for t in e)
        for e in make_examples(config, training, stats=stats)
    ]


def test_every_format_in_subfolders_gives_shaped_ranged_examples(photo_dir):
    stats = PipelineStats()
    result = examples(photo_dir, stats=stats)
    assert len(result) == 5 and stats.as_dict()["ok"] == 5
    for l_norm, ab_norm, mask in result:
        assert l_norm.shape == (SIZE, SIZE, 1) and ab_norm.shape == (SIZE, SIZE, 2)
        assert mask.shape == (SIZE, SIZE, 1) and set(np.unique(mask)) <= {0.0, 1.0}
        assert l_norm.dtype == ab_norm.dtype == mask.dtype == np.float32
        assert (
            -1.0 <= l_norm.min()
            and l_norm.max() <= 1.0
            and np.abs(ab_norm).max() <= 1.0
        )
        # Padding is black with no chroma: L_norm = -1, ab = 0 (never the saturated -1).
        assert np.all(l_norm[mask == 0] == C.PAD_L_NORM)
        assert np.all(
            ab_norm[np.broadcast_to(mask, ab_norm.shape) == 0] == C.PAD_AB_NORM
        )


def test_aspect_ratio_is_kept_and_the_image_is_centred(tmp_path):
    (tmp_path / "wide.png").write_bytes(encode(photo("coffee", (120, 40))))
    ((l_norm, ab_norm, mask),) = examples(tmp_path)
    rows, cols = np.nonzero(mask[..., 0])
    assert (cols.min(), cols.max() + 1) == (0, SIZE)
    assert rows.max() + 1 - rows.min() == round(40 * SIZE / 120)
    assert rows.min() == (SIZE - round(40 * SIZE / 120)) // 2


def test_lab_values_agree_with_skimage_on_the_resized_photo(tmp_path):
    image = photo("astronaut", (SIZE, SIZE))
    (tmp_path / "x.png").write_bytes(encode(image))
    ((l_norm, ab_norm, mask),) = examples(tmp_path)
    reference = color.rgb2lab(image)
    assert mask.min() == 1.0
    assert np.abs(C.denormalize_l(l_norm[..., 0]) - reference[..., 0]).max() < 0.05
    assert np.abs(C.denormalize_ab(ab_norm) - reference[..., 1:]).max() < 0.05


def test_bad_files_are_skipped_and_counted_by_reason(bad_files, capfd):
    stats = PipelineStats()
    result = examples(bad_files, stats=stats)
    assert len(result) == 2
    counts = stats.as_dict()
    assert counts == {
        "seen": 7,
        "ok": 2,
        "grayscale": 1,
        "not_an_image": 2,  # empty.jpg, text.jpg
        "too_large": 1,  # huge.png, refused from its header
        "unreadable": 1,  # truncated.jpg
    }
    assert stats.skipped() == 5
    assert "2 of 7 images used" in stats.report()
    assert "huge.png" in capfd.readouterr().err


def test_statuses_counted_by_many_parallel_calls_at_once_are_all_counted():
    # 64 calls in flight, as tf.data runs on a 64-core machine: counts that a racy
    # update loses are lost here in most runs (a scatter_add lost about 1 in 20000).
    stats = PipelineStats()
    n = 100_000

    def count(i):
        with tf.control_dependencies([stats.count_status(tf.cast(i % 4, tf.int32))]):
            return tf.identity(i)

    options = tf.data.Options()
    options.threading.private_threadpool_size = 64
    dataset = tf.data.Dataset.range(n).map(count, num_parallel_calls=64)
    for _ in dataset.with_options(options).batch(4096):
        pass
    counts = stats.as_dict()
    assert [counts[k] for k in ("ok", "grayscale", "not_an_image", "too_large")] == [
        n // 4
    ] * 4


def test_bad_files_in_a_batched_training_epoch_do_not_stop_it(bad_files):
    stats = PipelineStats()
    config = DataConfig(source="folder", data_dir=str(bad_files), image_size=SIZE)
    batches = list(make_dataset(config, batch_size=2, training=True, stats=stats))
    assert len(batches) == 1 and batches[0][0].shape == (2, SIZE, SIZE, 1)


def test_grayscale_kept_when_not_skipping(bad_files):
    stats = PipelineStats()
    examples(bad_files, stats=stats, skip_grayscale=False)
    assert stats.as_dict()["ok"] == 3


def test_tiff_files_use_the_opencv_fallback(tmp_path):
    (tmp_path / "x.tif").write_bytes(encode(photo("rocket", (50, 30)), "TIFF"))
    (tmp_path / "y.jpg").write_bytes(encode(photo("chelsea", (30, 50)), "JPEG"))
    assert len(examples(tmp_path)) == 2


@pytest.mark.parametrize("augment", ["none", "flip", "crop_flip", "shorter_side_crop"])
def test_training_augmentations_are_deterministic_under_the_seed(photo_dir, augment):
    kwargs = dict(augment=augment, shorter_side=80)
    first = examples(photo_dir, training=True, **kwargs)
    second = examples(photo_dir, training=True, **kwargs)
    for a, b in zip(first, second):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    if augment == "shorter_side_crop":
        assert all(mask.min() == 1.0 for _, _, mask in first)  # crops never pad
    other = examples(photo_dir, training=True, seed=7, **kwargs)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(first, other))


def test_passes_reshuffle_and_reaugment_and_a_reread_replays(photo_dir):
    config = DataConfig(
        source="folder", data_dir=str(photo_dir), image_size=SIZE, augment="crop_flip"
    )
    dataset = make_examples(config, training=True, repeat=True).take(10)
    first = [e[0].numpy() for e in dataset]
    pass1, pass2 = first[:5], first[5:]
    assert any(not np.array_equal(a, b) for a, b in zip(pass1, pass2))
    again = [e[0].numpy() for e in dataset]  # the same examples: resumable
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_input_context_shards_the_files_between_pipelines(photo_dir):
    config = DataConfig(source="folder", data_dir=str(photo_dir), image_size=SIZE)
    fn = dataset_fn(config, global_batch_size=4, training=False)
    shards = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(2, pipeline, num_replicas_in_sync=2)
        batches = list(fn(context))
        assert all(b[0].shape[0] <= 2 for b in batches)  # per-replica batch = 4 / 2
        shards.append(np.concatenate([b[0].numpy() for b in batches]))
    assert len(shards[0]) + len(shards[1]) == 5
    assert not any(np.array_equal(a, b) for a in shards[0] for b in shards[1])


def test_distribute_datasets_from_function(photo_dir):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    config = DataConfig(source="folder", data_dir=str(photo_dir), image_size=SIZE)
    distributed = strategy.distribute_datasets_from_function(
        dataset_fn(config, 2, training=True)
    )
    l_norm, ab_norm, mask = next(iter(distributed))
    assert l_norm.shape == (2, SIZE, SIZE, 1) and ab_norm.shape == (2, SIZE, SIZE, 2)


def serialized_graph(root):
    config = DataConfig(source="folder", data_dir=str(root), image_size=SIZE)
    return make_dataset(config, 2, training=True)._as_serialized_graph().numpy()


def test_graph_ops_only_unless_the_folder_holds_tiff(photo_dir):
    """No numpy_function in the pipeline, so it runs on TPU hosts and in tf.data service."""
    assert b"PyFunc" not in serialized_graph(photo_dir)
    (photo_dir / "z.tiff").write_bytes(encode(photo("rocket", (20, 20)), "TIFF"))
    assert b"PyFunc" in serialized_graph(photo_dir)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(source="nope"), "unknown data source"),
        (dict(source="folder", data_dir=None), "needs a data_dir"),
        (dict(augment="rotate"), "augment"),
        (dict(resize_method="magic"), "resize_method"),
        (dict(image_size=4), "image_size"),
        (dict(augment="shorter_side_crop", shorter_side=10), "shorter_side"),
    ],
)
def test_bad_configs_fail_with_a_clear_message(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        DataConfig(**{"source": "folder", "data_dir": str(tmp_path), **overrides})


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        make_examples(DataConfig(source="folder", data_dir=str(tmp_path / "missing")))
    with pytest.raises(DataSourceError, match="no images"):
        make_examples(DataConfig(source="folder", data_dir=str(tmp_path)))
