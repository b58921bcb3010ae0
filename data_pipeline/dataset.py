"""The tf.data input pipeline: any source -> (L, ab, mask) examples for the models.

    config = DataConfig(source="folder", data_dir="photos/train", image_size=256)
    stats = PipelineStats()
    ds = make_dataset(config, batch_size=16, training=True, stats=stats)
    for l_norm, ab_norm, mask in ds:      # (16, 256, 256, 1), (16, 256, 256, 2), (16, 256, 256, 1)
        ...
    print(stats.report())

Each image is decoded, turned as its EXIF orientation says, optionally augmented,
resized so its longer side is `image_size` (aspect kept), centred on a black square,
converted to Lab and scaled to [-1, 1]. The mask is 1 on the image and 0 on the padding.
Unreadable, corrupt, oversized and black-and-white files are skipped and counted.
"""

import dataclasses
import sys

import tensorflow as tf

from data_pipeline import constants as C
from data_pipeline import decode, degrade, image_ops, lab, sources
from data_pipeline import stats as S

AUGMENTATIONS = ("none", "flip", "crop_flip", "shorter_side_crop")


@dataclasses.dataclass
class DataConfig:
    """What to read and how to turn it into model tensors.

    Attributes:
        source: "folder", "tfrecord", "imagenet", "coco", "cifar10", "places365" or
            "tfds:NAME" (any TFDS dataset with an "image" feature).
        data_dir: the image folder, the TFRecord folder or glob, or TFDS's data_dir.
        split: TFDS split ("train", "validation", "train[:10%]", ...).
        manual_dir: folder holding archives TFDS cannot download (ImageNet's tars).
        download: let TFDS download and prepare a missing dataset.
        image_size: side N of the square examples.
        resize_method: "bicubic" (the Studienarbeit's), "bilinear", "area", "nearest".
        augment: training augmentation: "none", "flip", "crop_flip" (random crop of
            `crop_min_fraction`..1 of each side, then flip) or "shorter_side_crop"
            (Zhu: shorter side to `shorter_side`, random N x N crop, flip).
        crop_min_fraction: smallest crop side, as a fraction of the image side.
        shorter_side: shorter side before the random crop of "shorter_side_crop".
        skip_grayscale: drop black-and-white images: those where fewer than
            `min_colour_fraction` of the valid pixels have a chroma sqrt(a^2 + b^2)
            above `min_chroma`. (A grey photo saved as a colour JPEG stays below 0.01
            everywhere; the least colourful real photos in the validation set still
            have 6 % of their pixels above 4.)
        min_chroma: chroma that counts a pixel as coloured, in Lab units.
        min_colour_fraction: fraction of coloured pixels an image needs.
        max_pixels: files whose header claims more pixels are refused undecoded.
        shuffle_buffer: examples held for shuffling record sources (folders shuffle
            their whole file list).
        seed: seeds shuffling and augmentation; the pipeline is deterministic under it.
        jit_lab: compile the Lab conversion with XLA (about 3x faster on CPU).
        scales: multi-scale training: each training batch is resized (area) to one of
            these sides, drawn per batch under the seed; examples are prepared at
            `image_size`, the largest. None: every batch at `image_size`.
        degrade: chance that a training example's L is degraded as an old scan
            (`data_pipeline.degrade`: fading, uneven exposure, blur, grain, JPEG);
            the ab target stays clean. 0: never.
    """

    source: str = "folder"
    data_dir: str | None = None
    split: str = "train"
    manual_dir: str | None = None
    download: bool = False
    image_size: int = 256
    resize_method: str = "bicubic"
    augment: str = "none"
    crop_min_fraction: float = 0.6
    shorter_side: int = 300
    skip_grayscale: bool = True
    min_chroma: float = 4.0
    min_colour_fraction: float = 0.02
    max_pixels: int = 80_000_000
    shuffle_buffer: int = 1024
    seed: int = 1337
    jit_lab: bool = True
    scales: list | None = None
    degrade: float = 0.0

    def __post_init__(self):
        if self.source not in ("folder", "tfrecord"):
            sources.tfds_name(self.source)  # raises DataSourceError on unknown names
        if self.source in ("folder", "tfrecord") and not self.data_dir:
            raise sources.DataSourceError(f"the {self.source} source needs a data_dir")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment {self.augment!r} is not one of {AUGMENTATIONS}")
        if self.resize_method not in image_ops.RESIZE_METHODS:
            raise ValueError(
                f"resize_method {self.resize_method!r} is not one of {image_ops.RESIZE_METHODS}"
            )
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8, got {self.image_size}")
        if self.augment == "shorter_side_crop" and self.shorter_side < self.image_size:
            raise ValueError(
                f"shorter_side ({self.shorter_side}) must be at least image_size ({self.image_size})"
            )
        if self.scales is not None:
            self.scales = [int(side) for side in self.scales]
            if not self.scales or any(
                not 8 <= side <= self.image_size for side in self.scales
            ):
                raise ValueError(
                    f"scales must be sides in [8, image_size={self.image_size}], "
                    f"got {self.scales}"
                )
        if not 0.0 <= self.degrade <= 1.0:
            raise ValueError(f"degrade must be in [0, 1], got {self.degrade}")
        if not 0.0 < self.crop_min_fraction <= 1.0:
            raise ValueError(
                f"crop_min_fraction must be in (0, 1], got {self.crop_min_fraction}"
            )


def _model_tensors(rgb, mask, min_chroma):
    """uint8 RGB [N, N, 3] + mask -> (L_norm, ab_norm, fraction of the valid pixels
    whose chroma exceeds `min_chroma`)."""
    l_norm, ab_norm = lab.rgb_to_model(rgb)
    l_norm = tf.where(mask > 0, l_norm, C.PAD_L_NORM)
    ab_norm = ab_norm * mask
    ab = C.denormalize_ab(ab_norm)
    coloured = tf.cast(
        tf.reduce_sum(ab * ab, axis=-1, keepdims=True) > min_chroma**2, tf.float32
    )
    fraction = tf.reduce_sum(coloured * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
    return l_norm, ab_norm, fraction


def prepare_image(image, config, training, seed):
    """uint8 RGB [H, W, 3] -> (padded uint8 [N, N, 3], mask [N, N, 1]).

    Args:
        image: decoded image.
        config: a DataConfig.
        training: apply `config.augment`.
        seed: int tensor [2] for the stateless random ops.
    """
    size = config.image_size
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    augment = config.augment if training else "none"
    if augment == "shorter_side_crop":
        image = image_ops.resize_shorter_side(
            image, config.shorter_side, config.resize_method
        )
        image = image_ops.random_square_crop(image, size, crop_seed)
        image = image_ops.random_flip(image, flip_seed)
        return image, tf.ones([size, size, 1])
    if augment == "crop_flip":
        image = image_ops.random_crop_fraction(
            image, config.crop_min_fraction, crop_seed
        )
    image = image_ops.resize_keep_aspect(image, size, config.resize_method)
    if augment in ("flip", "crop_flip"):
        image = image_ops.random_flip(image, flip_seed)
    padded, mask, _ = image_ops.pad_to_size(image, size)
    return padded, mask


def _examples_from_source(config, input_context, training):
    """(name, contents-or-path) pairs, this pipeline's shard, shuffled when training."""
    if config.source == "folder":
        dataset, count, has_tiff = sources.folder_source(config.data_dir, input_context)
        if training:
            dataset = dataset.shuffle(
                count, seed=config.seed, reshuffle_each_iteration=True
            )
        return dataset, True, has_tiff
    if config.source == "tfrecord":
        dataset = sources.tfrecord_source(
            config.data_dir, input_context, training, config.seed
        )
    else:
        dataset = sources.tfds_source(
            sources.tfds_name(config.source),
            split=config.split,
            data_dir=config.data_dir,
            manual_dir=config.manual_dir,
            download=config.download,
            input_context=input_context,
            shuffle=training,
            seed=config.seed,
        )
    if training:
        dataset = dataset.shuffle(config.shuffle_buffer, seed=config.seed)
    return dataset, False, False


def make_examples(config, training=False, input_context=None, stats=None):
    """Unbatched (L_norm [N, N, 1], ab_norm [N, N, 2], mask [N, N, 1]) float32 examples.

    Args:
        config: a DataConfig.
        training: shuffle and augment.
        input_context: a `tf.distribute.InputContext`; each input pipeline reads its
            own shard of the files.
        stats: a PipelineStats that counts skipped files; a new one if None.
    """
    stats = stats or S.PipelineStats()
    size = config.image_size
    dataset, contents_are_paths, has_tiff = _examples_from_source(
        config, input_context, training
    )
    randoms = tf.data.Dataset.random(seed=config.seed, rerandomize_each_iteration=True)
    dataset = tf.data.Dataset.zip(dataset, randoms)
    to_model = tf.function(_model_tensors, jit_compile=config.jit_lab)

    def count(element, random):
        with tf.control_dependencies([stats.count_seen()]):
            return element[0], tf.identity(element[1]), random

    def decode_image(contents, image_format):
        if not has_tiff:
            return decode.decode_rgb(contents, image_format)
        return tf.cond(
            tf.equal(image_format, decode.TIFF),
            lambda: decode.decode_tiff_py(contents),
            lambda: decode.decode_rgb(contents, image_format),
        )

    def load(name, contents, random):
        if contents_are_paths:
            contents = tf.io.read_file(contents)
        image_format = decode.sniff_format(contents)
        height, width = decode.header_size(contents, image_format)
        readable = (image_format != decode.UNKNOWN) & (
            has_tiff | (image_format != decode.TIFF)
        )
        status = tf.where(readable, S.OK, S.BAD_FORMAT)
        status = tf.where(height * width > config.max_pixels, S.TOO_LARGE, status)

        def convert():
            image = decode_image(contents, image_format)
            seed = tf.stack([tf.cast(config.seed, tf.int64), random])
            padded, mask = prepare_image(image, config, training, seed)
            l_norm, ab_norm, coloured = to_model(padded, mask, config.min_chroma)
            if training and config.degrade > 0:
                l_norm = _degrade(l_norm, mask, seed, config.degrade)
            gray = config.skip_grayscale & (coloured < config.min_colour_fraction)
            return l_norm, ab_norm, mask, tf.where(gray, S.GRAYSCALE, S.OK)

        def skip():
            return (
                tf.fill([size, size, 1], C.PAD_L_NORM),
                tf.zeros([size, size, 2]),
                tf.zeros([size, size, 1]),
                status,
            )

        return (name,) + tf.cond(tf.equal(status, S.OK), convert, skip)

    def keep(name, l_norm, ab_norm, mask, status):
        def note():  # name the file: these are the user's files to fix or remove
            reason = tf.gather(tf.constant(S.STATUS_NAMES), status)
            message = tf.print(
                "data_pipeline: skipped", name, reason, output_stream=sys.stderr
            )
            with tf.control_dependencies([message]):
                return tf.identity(status)

        status = tf.cond(status >= S.BAD_FORMAT, note, lambda: tf.identity(status))
        with tf.control_dependencies([stats.count_status(status)]):
            return tf.equal(status, S.OK)

    dataset = dataset.map(count)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.ignore_errors()  # truncated or corrupt: counted as unreadable
    dataset = dataset.filter(keep)
    return dataset.map(
        lambda name, l_norm, ab_norm, mask, status: (l_norm, ab_norm, mask)
    )


def _degrade(l_norm, mask, seed, probability):
    """`degrade.random_degrade` on the image part of a padded L_norm."""
    seed = tf.random.experimental.stateless_fold_in(seed, 1)  # not the crop's seed
    degraded = degrade.random_degrade((l_norm + 1.0) / 2.0, seed, probability)
    return tf.where(mask > 0, degraded * 2.0 - 1.0, C.PAD_L_NORM)


def resize_batch(l_norm, ab_norm, mask, side):
    """Resizes a batch of square (L_norm, ab_norm, mask) to `side` x `side` (area
    averaging; the mask is 1 where at least half of a pixel was image)."""
    size = tf.stack([side, side])
    l_norm = tf.image.resize(l_norm, size, method="area")
    ab_norm = tf.image.resize(ab_norm, size, method="area")
    mask = tf.cast(tf.image.resize(mask, size, method="area") >= 0.5, tf.float32)
    return l_norm, ab_norm * mask, mask


def _random_scales(dataset, scales, seed):
    """Resizes each batch to a side drawn from `scales` under (seed, batch index)."""
    sides = tf.constant(scales, tf.int32)

    def rescale(index, batch):
        draw = tf.random.stateless_uniform(
            [], tf.stack([tf.cast(seed, tf.int64), index]), 0, len(scales), tf.int32
        )
        return resize_batch(*batch, sides[draw])

    return dataset.enumerate().map(rescale, num_parallel_calls=tf.data.AUTOTUNE)


def make_dataset(config, batch_size, training=False, input_context=None, stats=None):
    """Batched, prefetched examples; one epoch (repeat it for step-based training).

    Args:
        config: a DataConfig.
        batch_size: the global batch size; with an `input_context` each input pipeline
            makes batches of the per-replica size.
        training: shuffle, augment and drop the last partial batch.
        input_context: a `tf.distribute.InputContext` (see `dataset_fn`).
        stats: a PipelineStats counting skipped files.

    Returns:
        tf.data.Dataset of (L_norm, ab_norm, mask) batches.
    """
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    dataset = make_examples(config, training, input_context, stats)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    if training and config.scales:
        dataset = _random_scales(dataset, config.scales, config.seed)
    return dataset.prefetch(tf.data.AUTOTUNE)


def dataset_fn(config, global_batch_size, training=True, stats=None):
    """A function of a `tf.distribute.InputContext` for
    `strategy.distribute_datasets_from_function`: each input pipeline reads its own
    shard and batches at the per-replica size."""

    def fn(input_context):
        return make_dataset(config, global_batch_size, training, input_context, stats)

    return fn
