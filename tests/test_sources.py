"""TFDS sources under tfds.testing.mock_data and the TFRecord writer/reader round trip.

No test touches the network: TFDS is mocked, and missing datasets fail fast.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from colorization.cli import tfrecords
from data_pipeline.dataset import DataConfig, make_dataset, make_examples
from data_pipeline.sources import DataSourceError, tfds_name, tfrecord_files
from data_pipeline.stats import PipelineStats
from tests.conftest import encode, photo

SIZE = 32


@pytest.mark.parametrize(
    "source,name",
    [
        ("imagenet", "imagenet2012"),
        ("coco", "coco/2017"),
        ("cifar10", "cifar10"),
        ("places365", "places365_small"),
        ("tfds:oxford_flowers102", "oxford_flowers102"),
    ],
)
def test_tfds_sources_give_the_same_examples(source, name, tmp_path):
    assert tfds_name(source) == name
    config = DataConfig(
        source=source, data_dir=str(tmp_path), image_size=SIZE, skip_grayscale=False
    )
    with tfds.testing.mock_data(num_examples=4):
        stats = PipelineStats()
        batches = list(make_dataset(config, batch_size=2, training=True, stats=stats))
    assert len(batches) == 2 and stats.as_dict()["ok"] == 4
    l_norm, ab_norm, mask = batches[0]
    assert l_norm.shape == (2, SIZE, SIZE, 1) and ab_norm.shape == (2, SIZE, SIZE, 2)
    assert mask.shape == (2, SIZE, SIZE, 1)
    assert np.abs(ab_norm.numpy()).max() <= 1.0


def test_tfds_input_context_reaches_the_reader(tmp_path):
    config = DataConfig(
        source="cifar10", data_dir=str(tmp_path), image_size=SIZE, skip_grayscale=False
    )
    context = tf.distribute.InputContext(2, 0, 2)
    with tfds.testing.mock_data(num_examples=8):
        batches = list(make_dataset(config, 4, training=False, input_context=context))
    assert all(b[0].shape[0] == 2 for b in batches)


def test_tfds_dataset_that_is_not_prepared_fails_fast_with_a_clear_message(tmp_path):
    config = DataConfig(source="cifar10", data_dir=str(tmp_path), image_size=SIZE)
    with pytest.raises(DataSourceError, match="not prepared.*tfds build cifar10"):
        make_examples(config)


def test_unknown_source_names_the_choices():
    with pytest.raises(DataSourceError, match="tfds:NAME"):
        DataConfig(source="imagenet21k")


@pytest.fixture
def shards(photo_dir, tmp_path, capsys):
    (photo_dir / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"junk" * 10)
    (photo_dir / "scan.tif").write_bytes(encode(photo("coffee", (40, 30)), "TIFF"))
    out = tmp_path / "shards"
    assert tfrecords.main([str(photo_dir), str(out), "--shards", "3"]) == 0
    printed = capsys.readouterr()
    assert "wrote 6 images to 3 shards" in printed.out and "broken.jpg" in printed.err
    return out


def test_tfrecord_writer_writes_complete_shards(shards):
    files = tfrecord_files(str(shards))
    assert [f.rsplit("/", 1)[1] for f in files] == [
        f"images-0000{i}-of-00003.tfrecord" for i in range(3)
    ]
    assert not list(shards.glob(".*partial*"))  # no temporary shard left


def test_tfrecord_round_trip_matches_the_folder(photo_dir, shards):
    folder = DataConfig(source="folder", data_dir=str(photo_dir), image_size=SIZE)
    records = DataConfig(source="tfrecord", data_dir=str(shards), image_size=SIZE)
    from_folder = sorted(float(e[0].numpy().sum()) for e in make_examples(folder))
    from_records = sorted(float(e[0].numpy().sum()) for e in make_examples(records))
    # 5 photos + the TIFF (re-encoded as PNG, lossless); broken.jpg skipped by both.
    assert len(from_records) == len(from_folder) == 6
    np.testing.assert_allclose(from_records, from_folder, rtol=1e-6)


def test_tfrecord_glob_and_sharding(shards):
    config = DataConfig(
        source="tfrecord", data_dir=str(shards / "*.tfrecord"), image_size=SIZE
    )
    total = 0
    for pipeline in range(3):
        context = tf.distribute.InputContext(3, pipeline, 3)
        total += sum(
            int(b[0].shape[0]) for b in make_dataset(config, 3, input_context=context)
        )
    assert total == 6


def test_tfrecord_cli_errors(tmp_path, capsys):
    assert tfrecords.main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(DataSourceError, match="no TFRecord files"):
        tfrecord_files(str(tmp_path))
