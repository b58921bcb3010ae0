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

import sys

import tensorflow as tf

from data_pipeline import constants as C
from data_pipeline import decode, degrade, hints, image_ops, lab, sources
from data_pipeline import stats as S
from data_pipeline.config import AUGMENTATIONS, DataConfig  # noqa: F401 (re-exported)


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


def _passes(passes):
    """Dataset of the pass numbers 0 .. passes - 1 (None: endless)."""
    return (
        tf.data.Dataset.counter() if passes is None else tf.data.Dataset.range(passes)
    )


def _permuted_passes(dataset, count, seed, passes):
    """`passes` passes (None: endless) over the `count` elements of `dataset`, pass p
    in the order of a permutation drawn under (seed, p): the order of any pass is known
    without reading the passes before it, in any process."""
    if count == 0:
        return dataset
    elements = dataset.batch(count).get_single_element()

    def one_pass(number):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64),
            seed=tf.stack([tf.cast(seed, tf.int64), number]),
        )
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda e: tf.gather(e, order), elements)
        )

    return _passes(passes).flat_map(one_pass)


def _examples_from_source(config, input_context, training, passes):
    """(name, contents-or-path) pairs: `passes` passes (None: endless) over this
    pipeline's shard, shuffled when training.

    A folder's passes are stateless permutations (`_permuted_passes`); record sources
    shuffle through a buffer, reshuffled each pass under `config.seed` and TensorFlow's
    global seed (which training sets).
    """
    if config.source == "folder":
        dataset, count, has_tiff = sources.folder_source(
            config.data_dir, input_context, config.file_list
        )
        if training:
            dataset = _permuted_passes(dataset, count, config.seed, passes)
        else:
            dataset = dataset.repeat(passes)
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
    return dataset.repeat(passes), False, False


def make_examples(config, training=False, input_context=None, stats=None, repeat=False):
    """Unbatched (L_norm [N, N, 1], ab_norm [N, N, 2], mask [N, N, 1]) float32 examples.

    The augmentation of the k-th file read is drawn under (`config.seed`, k), so the
    examples are a function of the config alone, whatever was read before.

    Args:
        config: a DataConfig.
        training: shuffle and augment.
        input_context: a `tf.distribute.InputContext`; each input pipeline reads its
            own shard of the files.
        stats: a PipelineStats that counts skipped files; a new one if None.
        repeat: endless passes over the data (each shuffled anew) instead of one.
    """
    stats = stats or S.PipelineStats()
    size = config.image_size
    dataset, contents_are_paths, has_tiff = _examples_from_source(
        config, input_context, training, None if repeat else 1
    )
    pipelines, pipeline = 1, 0
    if input_context is not None:
        pipelines = input_context.num_input_pipelines
        pipeline = input_context.input_pipeline_id
    to_model = tf.function(_model_tensors, jit_compile=config.jit_lab)

    def decode_image(contents, image_format):
        if not has_tiff:
            return decode.decode_rgb(contents, image_format)
        return tf.cond(
            tf.equal(image_format, decode.TIFF),
            lambda: decode.decode_tiff_py(contents),
            lambda: decode.decode_rgb(contents, image_format),
        )

    def load(index, element):
        # A file is counted when its reading starts and again, by status, when it
        # has been read: those counted once failed to read or decode. (Counted
        # around the whole read, files still in flight when an iterator is deleted
        # would look unreadable too.)
        name, contents = element
        with tf.control_dependencies([stats.count_seen()]):
            contents = tf.identity(contents)
        number = index * pipelines + pipeline  # unique over the input pipelines
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
            seed = tf.stack([tf.cast(config.seed, tf.int64), number])
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

        *example, status = tf.cond(tf.equal(status, S.OK), convert, skip)
        with tf.control_dependencies([stats.count_status(status)]):
            return (name, *example, tf.identity(status))

    def keep(name, l_norm, ab_norm, mask, status):
        def note():  # name the file: these are the user's files to fix or remove
            reason = tf.gather(tf.constant(S.STATUS_NAMES), status)
            message = tf.print(
                "data_pipeline: skipped", name, reason, output_stream=sys.stderr
            )
            with tf.control_dependencies([message]):
                return tf.identity(status)

        status = tf.cond(status >= S.BAD_FORMAT, note, lambda: tf.identity(status))
        return tf.equal(status, S.OK)

    dataset = dataset.enumerate()  # the index seeds the augmentation
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


def _random_scales(dataset, scales, seed, start=0):
    """Resizes each batch to a side drawn from `scales` under (seed, batch index); the
    first batch of `dataset` has index `start`."""
    sides = tf.constant(scales, tf.int32)

    def rescale(index, batch):
        draw = tf.random.stateless_uniform(
            [], tf.stack([tf.cast(seed, tf.int64), index]), 0, len(scales), tf.int32
        )
        return resize_batch(*batch, sides[draw])

    return dataset.enumerate(start).map(rescale, num_parallel_calls=tf.data.AUTOTUNE)


def _with_hints(dataset, hint_config, seed, start=0, pipeline=0):
    """Replaces the L of each batch by L and simulated hints (`hints.hint_input`),
    drawn from the batch's true ab under (seed, batch index, input pipeline); the
    first batch of `dataset` has index `start`."""

    def add(index, batch):
        l_norm, ab_norm, mask = batch
        batch_seed = tf.stack([tf.cast(seed, tf.int64), index])
        batch_seed = tf.random.experimental.stateless_fold_in(batch_seed, 2)
        batch_seed = tf.random.experimental.stateless_fold_in(batch_seed, pipeline)
        hint_ab, hint_mask = hints.sample_hints(ab_norm, mask, batch_seed, hint_config)
        return hints.hint_input(l_norm, hint_ab, hint_mask), ab_norm, mask

    return dataset.enumerate(start).map(add, num_parallel_calls=tf.data.AUTOTUNE)


def make_dataset(
    config,
    batch_size,
    training=False,
    input_context=None,
    stats=None,
    repeat=False,
    start=0,
):
    """Batched, prefetched examples: one pass over the data, or endless passes.

    The batches are a function of the config (its seed included) and their position:
    a dataset made with `start=k` yields the batches of the same dataset made with
    `start=0` from the k-th on (a resumed epoch continues exactly where it stopped).

    Args:
        config: a DataConfig.
        batch_size: the global batch size; with an `input_context` each input pipeline
            makes batches of the per-replica size.
        training: shuffle, augment and drop the last partial batch.
        input_context: a `tf.distribute.InputContext` (see `dataset_fn`).
        stats: a PipelineStats counting skipped files.
        repeat: endless passes, each shuffled anew, without a partial batch at the
            end of a pass (for step-based training).
        start: global batches (training steps) to leave out at the start. They are
            still read and decoded, since which files are skipped is known only
            then, but they are not batched out nor trained on.

    Returns:
        tf.data.Dataset of (L_norm, ab_norm, mask) batches; when training with
        `config.hints`, (L_norm and hints [N, S, S, 4], ab_norm, mask).
    """
    skip, pipeline = start, 0
    if input_context is not None:
        pipeline = input_context.input_pipeline_id
        batch_size = input_context.get_per_replica_batch_size(batch_size)
        # Each step takes one batch per replica from its input pipeline.
        replicas = input_context.num_replicas_in_sync
        skip = start * replicas // input_context.num_input_pipelines
    dataset = make_examples(config, training, input_context, stats, repeat)
    dataset = dataset.batch(batch_size, drop_remainder=training).skip(skip)
    if training and config.scales:
        dataset = _random_scales(dataset, config.scales, config.seed, skip)
    if training and config.hints is not None:
        dataset = _with_hints(dataset, config.hints, config.seed, skip, pipeline)
    return dataset.prefetch(tf.data.AUTOTUNE)


def dataset_fn(config, global_batch_size, training=True, stats=None, **kwargs):
    """A function of a `tf.distribute.InputContext` for
    `strategy.distribute_datasets_from_function`: each input pipeline reads its own
    shard and batches at the per-replica size. `kwargs`: `repeat` and `start` of
    `make_dataset`."""

    def fn(input_context):
        return make_dataset(
            config, global_batch_size, training, input_context, stats, **kwargs
        )

    return fn
