"""The Studienarbeit's multiprocessing loader, reimplemented cleanly with OpenCV.

A coordinator process shuffles the file list every epoch (seed 1337 by default) and
sends chunks of paths through a task queue to worker processes; each worker decodes
(`cv2.imdecode`, EXIF applied), resizes keeping the aspect ratio, pads to a black square,
converts to Lab with OpenCV and scales to [-1, 1] with the constants of
`data_pipeline.constants`. The main process batches what the workers send back.

It produces the same tensors as the tf.data path in evaluation mode (see
tests/test_generator.py for the measured tolerance) and exists to compare the two: the
tf.data path is the one to train with. Neither this module nor its workers import
TensorFlow.

    with ColorizationGenerator(paths, batch_size=16, image_size=256) as generator:
        for l_norm, ab_norm, mask in generator:
            ...
"""

import multiprocessing
import os
import queue
import random

import numpy as np

from data_pipeline import constants as C

_INTERPOLATION = {"bicubic": 2, "bilinear": 1, "area": 3, "nearest": 0}  # cv2.INTER_*
_STOP = None
_MAX_PIXELS = 80_000_000
# Status names shared with data_pipeline.stats (kept here so workers need no TF).
_COUNTS = ("ok", "grayscale", "not_an_image", "too_large", "unreadable")


def fit_size(height, width, size):
    """(h, w) with the longer side equal to `size`, rounded as the tf.data path rounds."""
    scale = np.float32(size) / np.float32(max(height, width))
    new_h = max(1, int(np.round(np.float32(height) * scale)))
    new_w = max(1, int(np.round(np.float32(width) * scale)))
    return new_h, new_w


def load_example(
    data,
    image_size=256,
    resize_method="bicubic",
    min_chroma=4.0,
    min_colour_fraction=0.02,
    skip_grayscale=True,
    max_pixels=_MAX_PIXELS,
):
    """Encoded image bytes -> ((L_norm, ab_norm, mask) or None, status name).

    The worker's whole job for one image, in OpenCV and NumPy.
    """
    import cv2

    buffer = np.frombuffer(data, np.uint8)
    if buffer.size == 0:
        return None, "not_an_image"
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)  # BGR, EXIF orientation applied
    if image is None:
        return None, "unreadable"
    height, width = image.shape[:2]
    if height * width > max_pixels:
        return None, "too_large"
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    new_h, new_w = fit_size(height, width, image_size)
    image = cv2.resize(
        image, (new_w, new_h), interpolation=_INTERPOLATION[resize_method]
    )
    top, left = (image_size - new_h) // 2, (image_size - new_w) // 2
    padded = np.zeros((image_size, image_size, 3), np.uint8)
    padded[top : top + new_h, left : left + new_w] = image
    mask = np.zeros((image_size, image_size, 1), np.float32)
    mask[top : top + new_h, left : left + new_w] = 1.0
    lab = cv2.cvtColor(padded.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    l_norm = np.where(mask > 0, C.normalize_l(lab[..., :1]), C.PAD_L_NORM).astype(
        np.float32
    )
    ab_norm = (C.normalize_ab(lab[..., 1:]) * mask).astype(np.float32)
    if skip_grayscale:
        coloured = np.sum(
            (lab[..., 1:] ** 2).sum(-1, keepdims=True) > min_chroma**2, where=mask > 0
        )
        if coloured < min_colour_fraction * mask.sum():
            return None, "grayscale"
    return (l_norm, ab_norm, mask), "ok"


def _coordinator(paths, chunk_size, seed, shuffle, epochs, tasks, num_workers):
    rng = random.Random(seed)
    for _ in range(epochs):
        order = list(paths)
        if shuffle:
            rng.shuffle(order)
        for start in range(0, len(order), chunk_size):
            tasks.put(order[start : start + chunk_size])
    for _ in range(num_workers):
        tasks.put(_STOP)


def _worker(tasks, results, options):
    # OpenCV then refuses oversized images from their header, before allocating them.
    limit = options.get("max_pixels", _MAX_PIXELS)
    os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(limit)
    import cv2

    cv2.setNumThreads(1)
    while (paths := tasks.get()) is not _STOP:
        examples, counts = [], dict.fromkeys(_COUNTS, 0)
        for path in paths:
            try:
                with open(path, "rb") as f:
                    example, status = load_example(f.read(), **options)
            except (OSError, cv2.error):
                example, status = None, "unreadable"
            counts[status] += 1
            if example is not None:
                examples.append(example)
        results.put((examples, counts))
    results.put(_STOP)


def _stack(examples):
    return tuple(np.stack(parts) for parts in zip(*examples))


class ColorizationGenerator:
    """Batches of (L_norm, ab_norm, mask) float32 NumPy arrays from worker processes.

    Iterating yields the batches of all `epochs` as one stream (batches may straddle
    an epoch boundary, as with a Keras generator and `steps_per_epoch`), in the order
    the workers finish them. `counts` says how many files were used and skipped.

    Args:
        paths: image files (see `data_pipeline.sources.list_image_files`).
        batch_size: examples per batch.
        image_size: side N of the square examples.
        workers: worker processes (the Studienarbeit used about 12; use the core count).
        seed: seeds the coordinator's shuffling.
        shuffle: reshuffle the files every epoch.
        epochs: epochs the coordinator schedules.
        drop_remainder: drop the last partial batch.
        chunk_size: paths per task sent to a worker.
        **options: passed to `load_example` (resize_method, min_chroma, ...).
    """

    def __init__(
        self,
        paths,
        batch_size,
        image_size=256,
        workers=None,
        seed=1337,
        shuffle=True,
        epochs=1,
        drop_remainder=False,
        chunk_size=8,
        **options,
    ):
        self.paths = list(paths)
        self.batch_size = batch_size
        self.drop_remainder = drop_remainder
        self.workers = workers or os.cpu_count() or 1
        self.counts = dict.fromkeys(_COUNTS, 0)
        options = dict(options, image_size=image_size)
        context = multiprocessing.get_context(
            "spawn"
        )  # TF in the parent is not fork-safe
        self._tasks = context.Queue(maxsize=4 * self.workers)
        self._results = context.Queue(maxsize=4 * self.workers)
        coordinator = context.Process(
            target=_coordinator,
            args=(
                self.paths,
                chunk_size,
                seed,
                shuffle,
                epochs,
                self._tasks,
                self.workers,
            ),
            daemon=True,
        )
        self._workers = [
            context.Process(
                target=_worker, args=(self._tasks, self._results, options), daemon=True
            )
            for _ in range(self.workers)
        ]
        self._processes = [coordinator] + self._workers
        for process in self._processes:
            process.start()

    def _next_result(self):
        while True:
            try:
                return self._results.get(timeout=30)
            except queue.Empty:
                if not any(worker.is_alive() for worker in self._workers):
                    raise RuntimeError(
                        "the generator's worker processes died"
                    ) from None

    def __iter__(self):
        buffer, running = [], len(self._workers)
        while running:
            item = self._next_result()
            if item is _STOP:
                running -= 1
                continue
            examples, counts = item
            for name, value in counts.items():
                self.counts[name] += value
            buffer.extend(examples)
            while len(buffer) >= self.batch_size:
                yield _stack(buffer[: self.batch_size])
                buffer = buffer[self.batch_size :]
        if buffer and not self.drop_remainder:
            yield _stack(buffer)

    def close(self):
        """Stops the coordinator and the workers."""
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
