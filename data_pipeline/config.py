"""What to read and how to turn it into model tensors: the data configuration.

Plain Python (no TensorFlow), so that a command line can check its flags and print its
help at once; `data_pipeline.dataset.make_dataset` turns a `DataConfig` into a
`tf.data.Dataset`.
"""

import dataclasses

RESIZE_METHODS = ("bicubic", "bilinear", "area", "nearest")
# Short names for the TFDS datasets the seed reports used.
TFDS_ALIASES = {
    "imagenet": "imagenet2012",
    "imagenet2012": "imagenet2012",
    "coco": "coco/2017",
    "cifar10": "cifar10",
    "places365": "places365_small",
}


class DataSourceError(ValueError):
    """A data source is missing, empty or misnamed (a user error with a clear fix)."""


def tfds_name(source):
    """The TFDS name for `imagenet`, `coco`, `cifar10`, `places365` or `tfds:NAME`."""
    if source.startswith("tfds:"):
        return source[len("tfds:") :]
    if source in TFDS_ALIASES:
        return TFDS_ALIASES[source]
    raise DataSourceError(
        f"unknown data source {source!r}: use folder, tfrecord, "
        f"{', '.join(sorted(TFDS_ALIASES))} or tfds:NAME"
    )


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
        file_list: a text file naming the images to use, one path relative to
            `data_dir` a line (blank lines and "#" comments ignored), as
            `python -m data_pipeline.subsets` writes them; only with the folder
            source. None: every image under `data_dir`.
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
    file_list: str | None = None

    def __post_init__(self):
        if self.source not in ("folder", "tfrecord"):
            tfds_name(self.source)  # raises DataSourceError on unknown names
        if self.source in ("folder", "tfrecord") and not self.data_dir:
            raise DataSourceError(f"the {self.source} source needs a data_dir")
        if self.file_list is not None and self.source != "folder":
            raise DataSourceError(
                f"a file list works only with the folder source, not {self.source!r}"
            )
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment {self.augment!r} is not one of {AUGMENTATIONS}")
        if self.resize_method not in RESIZE_METHODS:
            raise ValueError(
                f"resize_method {self.resize_method!r} is not one of {RESIZE_METHODS}"
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
