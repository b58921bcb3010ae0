"""Where images come from: a folder, TFRecord shards or TensorFlow Datasets.

Every source yields `(name, contents)` string pairs (`contents` are encoded image bytes,
or the path of a file for a folder source, read later in the parallel map), so one
decode path serves all of them. Sources shard themselves by `tf.distribute.InputContext`.
"""

import os

import tensorflow as tf

from data_pipeline import files
from data_pipeline.config import (  # noqa: F401 (re-exported)
    TFDS_ALIASES,
    DataSourceError,
    tfds_name,
)
from data_pipeline.files import IMAGE_EXTENSIONS, TIFF_EXTENSIONS

TFRECORD_IMAGE_KEY = "image/encoded"
TFRECORD_NAME_KEY = "image/filename"


def list_image_files(directory):
    """Sorted paths of the images under `directory`, recursively (`files.walk_images`:
    the same images inference finds in a folder)."""
    if not os.path.isdir(directory):
        raise DataSourceError(
            f"image folder {directory!r} does not exist or is not a folder"
        )
    paths = list(files.walk_images(directory))
    if not paths:
        raise DataSourceError(
            f"no images ({', '.join(e[1:] for e in IMAGE_EXTENSIONS)}) found under "
            f"{directory!r}"
        )
    return paths


def read_file_list(list_path, directory):
    """Paths of the images a file list names, in its order.

    Each line is a path relative to `directory` (as `data_pipeline.subsets` writes
    them); blank lines and lines starting with "#" are ignored.

    Raises:
        DataSourceError: naming the list and the line, for a missing file, a file
            that is not an image, or a path outside `directory` (absolute or "..").
    """
    if not os.path.isdir(directory):
        raise DataSourceError(
            f"image folder {directory!r} does not exist or is not a folder"
        )
    try:
        with open(list_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataSourceError(f"cannot read file list {list_path!r}: {error}") from None
    paths = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        where = f"file list {list_path!r}, line {number}"
        normal = os.path.normpath(name)  # lexical: linked folders stay allowed
        if os.path.isabs(name) or normal == ".." or normal.startswith(".." + os.sep):
            raise DataSourceError(f"{where}: {name!r} is not inside {directory!r}")
        path = os.path.join(directory, normal)
        if not os.path.isfile(path):
            raise DataSourceError(f"{where}: no such file {name!r} in {directory!r}")
        if not files.is_image_name(name):
            raise DataSourceError(f"{where}: {name!r} is not an image file")
        paths.append(path)
    if not paths:
        raise DataSourceError(f"file list {list_path!r} names no images")
    return paths


def _shard(dataset, input_context):
    if input_context is None or input_context.num_input_pipelines == 1:
        return dataset
    return dataset.shard(
        input_context.num_input_pipelines, input_context.input_pipeline_id
    )


def folder_source(directory, input_context=None, file_list=None):
    """(path, path) pairs for every image under `directory`, this pipeline's shard.

    Args:
        directory: the image folder.
        input_context: a `tf.distribute.InputContext`, or None.
        file_list: a file naming the images to use (`read_file_list`), or None for
            every image under `directory`.

    Returns:
        (dataset, number of files in this shard, whether any file is a TIFF).
    """
    if file_list is not None:
        paths = read_file_list(file_list, directory)
    else:
        paths = list_image_files(directory)
    if input_context is not None and input_context.num_input_pipelines > 1:
        paths = paths[
            input_context.input_pipeline_id :: input_context.num_input_pipelines
        ]
    has_tiff = any(p.lower().endswith(TIFF_EXTENSIONS) for p in paths)
    dataset = tf.data.Dataset.from_tensor_slices(paths)
    return dataset.map(lambda p: (p, p)), len(paths), has_tiff


def tfrecord_files(path):
    """Shard files of a TFRecord source: a folder of `*.tfrecord*` files or a glob."""
    pattern = os.path.join(path, "*.tfrecord*") if tf.io.gfile.isdir(path) else path
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise DataSourceError(f"no TFRecord files match {pattern!r}")
    return files


def tfrecord_source(path, input_context=None, shuffle=False, seed=None):
    """(filename, bytes) pairs from TFRecord shards written by `data_pipeline.tfrecords`."""
    files = tf.data.Dataset.from_tensor_slices(tfrecord_files(path))
    files = _shard(files, input_context)
    if shuffle:
        files = files.shuffle(1024, seed=seed, reshuffle_each_iteration=True)
    records = files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=4,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    spec = {
        TFRECORD_IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
        TFRECORD_NAME_KEY: tf.io.FixedLenFeature([], tf.string, default_value=""),
    }

    def parse(record):
        example = tf.io.parse_single_example(record, spec)
        return example[TFRECORD_NAME_KEY], example[TFRECORD_IMAGE_KEY]

    return records.map(parse, num_parallel_calls=tf.data.AUTOTUNE)


def tfds_source(
    name,
    split="train",
    data_dir=None,
    manual_dir=None,
    download=False,
    input_context=None,
    shuffle=False,
    seed=None,
):
    """(name, encoded bytes) pairs from a TensorFlow Datasets image dataset.

    Images are read undecoded (`SkipDecoding`) and go through this package's own
    decoder, like every other source. Nothing is downloaded unless `download` is true or
    `manual_dir` holds the archives (ImageNet's ILSVRC tars): a missing dataset is a
    one-line error, not a long hang.
    """
    import tensorflow_datasets as tfds  # heavy; only TFDS sources need it

    builder = tfds.builder(name, data_dir=data_dir)
    if download or manual_dir:
        config = tfds.download.DownloadConfig(manual_dir=manual_dir)
        builder.download_and_prepare(download_config=config)
    if "image" not in builder.info.features:
        raise DataSourceError(f"TFDS dataset {name!r} has no 'image' feature")
    read_config = tfds.ReadConfig(input_context=input_context, shuffle_seed=seed)
    decoders = tfds.decode.PartialDecoding(
        {"image": True}, decoders={"image": tfds.decode.SkipDecoding()}
    )
    try:
        dataset = builder.as_dataset(
            split=split,
            decoders=decoders,
            shuffle_files=shuffle,
            read_config=read_config,
        )
    except AssertionError as error:  # TFDS's way of saying "not prepared"
        raise DataSourceError(
            f"TFDS dataset {name!r} is not prepared in {builder.data_dir!r}: prepare it "
            f"with `tfds build {name}`, or pass --manual-dir with its archives"
        ) from error
    return dataset.map(lambda ex: (tf.constant(name), ex["image"]))
