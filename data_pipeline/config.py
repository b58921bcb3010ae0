"""What to read and how to turn it into model tensors: the data configuration.

Plain Python (no TensorFlow), so that a command line can check its flags and print its
help at once; `data_pipeline.dataset.make_dataset` turns a `DataConfig` into a
`tf.data.Dataset`. The configs are frozen: `__post_init__` only validates, and
`DataConfig.from_dict` turns JSON values (a list of scales, a dict of hints) into
the fields' types.
"""

import dataclasses
import typing
from typing import Literal

ResizeMethod = Literal["bicubic", "bilinear", "area", "nearest"]
RESIZE_METHODS = typing.get_args(ResizeMethod)
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


Augmentation = Literal["none", "flip", "crop_flip", "shorter_side_crop"]
AUGMENTATIONS = typing.get_args(Augmentation)
HINT_CHANNELS = 3  # hint a, hint b and hint mask, after L (`data_pipeline.hints`)
HintLocation = Literal["gaussian", "uniform"]
HINT_LOCATIONS = typing.get_args(HintLocation)


@dataclasses.dataclass(frozen=True)
class HintConfig:
    """How training simulates a user's colour hints (Zhang et al. 2017, "Real-Time
    User-Guided Image Colorization with Learned Deep Priors"); `data_pipeline.hints`.

    Attributes:
        p_none: share of the images that get no hint at all, so that the automatic
            colorization is trained as much as the hinted one.
        p_geometric: the number of hints of the other images is 1 + a geometric
            draw with this success probability (mean 1 / p_geometric; the paper's
            1/8), at most `max_points`.
        max_points: most hints an image gets.
        min_patch: smallest side of a hint's square patch, pixels.
        max_patch: largest side (the paper draws 1..9 uniformly).
        location: "gaussian" (the paper's: a Gaussian centred on the image with a
            quarter of its side as sigma) or "uniform" over the image.
    """

    p_none: float = 0.5
    p_geometric: float = 0.125
    max_points: int = 32
    min_patch: int = 1
    max_patch: int = 9
    location: HintLocation = "gaussian"

    def __post_init__(self):
        for name in ("p_none", "p_geometric"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"hints.{name} must be a number, got {value!r}")
        for name in ("max_points", "min_patch", "max_patch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"hints.{name} must be a positive int, got {value!r}")
        if not 0.0 <= self.p_none <= 1.0:
            raise ValueError(f"hints.p_none must be in [0, 1], got {self.p_none}")
        if not 0.0 < self.p_geometric <= 1.0:
            raise ValueError(
                f"hints.p_geometric must be in (0, 1], got {self.p_geometric}"
            )
        if self.min_patch > self.max_patch:
            raise ValueError(
                f"hints.min_patch ({self.min_patch}) is above hints.max_patch "
                f"({self.max_patch})"
            )
        if self.location not in HINT_LOCATIONS:
            raise ValueError(
                f"hints.location must be one of {HINT_LOCATIONS}, got {self.location!r}"
            )


def _hint_config(fields):
    """A HintConfig from a dict; unknown keys raise ValueError."""
    known = [field.name for field in dataclasses.fields(HintConfig)]
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ValueError(
            f"unknown hints keys {unknown}; valid keys: {', '.join(known)}"
        )
    return HintConfig(**fields)


@dataclasses.dataclass(frozen=True)
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
            these sides (a tuple; `from_dict` takes a list), drawn per batch under
            the seed; examples are prepared at `image_size`, the largest. None:
            every batch at `image_size`.
        degrade: chance that a training example's L is degraded as an old scan
            (`data_pipeline.degrade`: fading, uneven exposure, blur, grain, JPEG);
            the ab target stays clean. 0: never.
        file_list: a text file naming the images to use, one path relative to
            `data_dir` a line (blank lines and "#" comments ignored), as
            `colorization-subsets` writes them; only with the folder
            source. None: every image under `data_dir`.
        hints: simulated colour hints (a HintConfig; `from_dict` takes a dict) for a
            hinted generator: each training batch's first tensor becomes L followed
            by the hint channels (`data_pipeline.hints.hint_input`), sampled from
            the batch's true ab after augmentation and rescaling. Training only;
            None: no hints.
    """

    source: str = "folder"
    data_dir: str | None = None
    split: str = "train"
    manual_dir: str | None = None
    download: bool = False
    image_size: int = 256
    resize_method: ResizeMethod = "bicubic"
    augment: Augmentation = "none"
    crop_min_fraction: float = 0.6
    shorter_side: int = 300
    skip_grayscale: bool = True
    min_chroma: float = 4.0
    min_colour_fraction: float = 0.02
    max_pixels: int = 80_000_000
    shuffle_buffer: int = 1024
    seed: int = 1337
    jit_lab: bool = True
    scales: tuple[int, ...] | None = None
    degrade: float = 0.0
    file_list: str | None = None
    hints: HintConfig | None = None

    @classmethod
    def from_dict(cls, values):
        """A DataConfig from plain values, as JSON holds them: `hints` a dict of
        HintConfig fields, `scales` a list of sides (of ints or integral floats).

        Raises:
            ValueError: on an unknown key or an invalid value (DataSourceError for
                a missing or misnamed source).
        """
        known = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"unknown data keys {unknown}; valid keys: {', '.join(known)}"
            )
        values = dict(values)
        if isinstance(values.get("hints"), dict):
            values["hints"] = _hint_config(values["hints"])
        if isinstance(values.get("scales"), (list, tuple)):
            values["scales"] = tuple(
                int(side) if isinstance(side, float) and side.is_integer() else side
                for side in values["scales"]
            )
        return cls(**values)

    def __post_init__(self):
        if self.hints is not None and not isinstance(self.hints, HintConfig):
            raise ValueError(f"hints must be a HintConfig or None, got {self.hints!r}")
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
            if not isinstance(self.scales, tuple) or any(
                isinstance(side, bool) or not isinstance(side, int)
                for side in self.scales
            ):
                raise ValueError(f"scales must be a tuple of ints, got {self.scales!r}")
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
