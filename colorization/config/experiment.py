"""The typed experiment configuration: its schema, the choices of each field, and
the checks that settings do not contradict each other.

    config = presets.resolve_config("zhu-gan", {"dataset": "folder", "data_dir": "photos"})
    text = config.to_json()
    assert ExperimentConfig.from_json(text) == config

Unknown keys, wrong types (`colorization.config.schema` checks each field against its
annotation) and contradictory settings (an image size the generator cannot take, a GAN
option without a GAN) raise a one-line `ValueError`. The named presets of the seed
systems are in `colorization.config.presets`, the overrides by dotted key in
`colorization.config.overrides`. Nothing here loads TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Literal

from colorization.config.schema import check_fields, from_dict
from colorization.models.config import ModelConfig
from data_pipeline.config import HINT_CHANNELS, DataConfig

# The choices of each field (the annotations of the configs below).
ReconKind = Literal["l1", "l2", "huber", "bins", "bins_l1"]
RECON_KINDS = ("l1", "l2", "huber")  # regression to ab, masked
BINS = "bins"  # the classification loss of a generator with head "bins"
BINS_L1 = "bins_l1"  # both heads of a generator with head "dual"
CLASSIFICATION_KINDS = (BINS, BINS_L1)
GanKind = Literal["bce", "lsgan"]
GAN_KINDS = typing.get_args(GanKind)
Weighting = Literal["lambda", "ehrenberg"]
WEIGHTINGS = typing.get_args(Weighting)
Precision = Literal["auto", "off", "bf16", "fp16"]
PRECISIONS = typing.get_args(Precision)
Strategy = Literal["auto", "one", "mirrored", "multiworker", "tpu"]
STRATEGIES = typing.get_args(Strategy)
JitMode = Literal["auto", "on", "off"]
JIT_MODES = typing.get_args(JitMode)
Label = float | tuple[float, float]  # a target, or a [low, high] noise range
# The validation split of each TFDS source (folders and TFRecords need --val-dir).
VAL_SPLITS = {
    "imagenet": "validation",
    "coco": "validation",
    "places365": "validation",
    "cifar10": "test",
}


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """What the generator (and the discriminator) minimise.

    Attributes:
        recon: Reconstruction loss: "l1", "l2" or "huber" (delta 0.5), masked;
            "bins": Zhang et al.'s rebalanced cross-entropy over ab bins (needs a
            generator with head "bins"); or "bins_l1": that cross-entropy on the bins
            head plus `l1_weight` x L1 on the regression head of a generator with
            head "dual".
        gan: None (reconstruction only), "bce" or "lsgan".
        lam: Factor of the reconstruction loss with "lambda" weighting.
        weighting: "lambda" (adv + lam * recon) or "ehrenberg"
            ((1 - w) * adv + w * recon).
        w: The Ehrenberg weight (0.99 or 0.985).
        real_label: Discriminator target for real inputs: a float (0.9 is one-sided
            smoothing) or a (low, high) range for noisy labels.
        fake_label: Target for generated inputs: a float or a (low, high) range.
        pretrain_epochs: Epochs of reconstruction-only training before the GAN (Zhu).
        l1_weight: Weight of the regression head's L1 in the "bins_l1" loss.
        cast_weight: Weight of the global cast loss (`losses.masked_cast`: the
            distance between the mean ab of the output and of the truth over each
            image), added to the reconstruction loss; 0 leaves it out.
    """

    recon: ReconKind = "l1"
    gan: GanKind | None = None
    lam: float = 100.0
    weighting: Weighting = "lambda"
    w: float = 0.99
    real_label: Label = 1.0
    fake_label: Label = 0.0
    pretrain_epochs: int = 0
    l1_weight: float = 1.0
    cast_weight: float = 0.0

    def __post_init__(self):
        check_fields(self, "loss")
        for name in ("l1_weight", "cast_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.w <= 1.0:
            raise ValueError(f"loss.w must be in [0, 1], got {self.w}")
        for name in ("real_label", "fake_label"):
            value = getattr(self, name)
            if isinstance(value, tuple) and not 0.0 <= value[0] <= value[1] <= 1.0:
                raise ValueError(f"loss.{name} range must be [low, high] in [0, 1]")
        if self.pretrain_epochs < 0:
            raise ValueError("loss.pretrain_epochs must be >= 0")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to optimise: schedule, precision, distribution, checkpoints.

    Attributes:
        epochs: Epochs to train, counting generator pretraining epochs.
        steps_per_epoch: Steps per epoch; None runs each epoch over the whole data.
        batch_size: The GLOBAL batch size, split over all replicas.
        lr: Generator learning rate (Adam).
        d_lr: Discriminator learning rate; None uses `lr`.
        beta_1: Adam beta_1.
        beta_2: Adam beta_2.
        lr_decay_rate: Exponential decay factor per `lr_decay_steps` steps (None: constant).
        lr_decay_steps: Steps over which the rate decays by `lr_decay_rate`.
        seed: Seeds the initial weights and the input order.
        mixed_precision: "auto", "off", "bf16" or "fp16".
        strategy: "auto", "one", "mirrored", "multiworker" or "tpu".
        jit: XLA compilation of the step: "auto" (off on CPU), "on", "off".
        val_steps: Validation batches per epoch; None: the whole validation set.
        image_grid_size: Validation images in the sample grid (at most one batch).
        save_every_steps: Also save the last checkpoint every this many steps.
        init_from: A `.keras` model whose weights start the run (layers matched by
            name and shape, the first convolution widened or narrowed to the
            generator's input: `colorization.training.warm_start`; of an ensemble, its last
            member), for example the shipped model, automatic or hinted; used
            only when the workdir holds no checkpoint yet.
        freeze_stride: Freeze the pretrained encoder up to its feature map of this
            stride (effnet_unet: 2, 4, 8, 16 or 32; 0 freezes nothing): its stem
            and early blocks get no gradient and no update, and their backward pass
            is not computed (`models.efficientnet_lite.freeze_to_stride`).
    """

    epochs: int = 1
    steps_per_epoch: int | None = None
    batch_size: int = 8
    lr: float = 3e-4
    d_lr: float | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    lr_decay_rate: float | None = None
    lr_decay_steps: int | None = None
    seed: int = 1337
    mixed_precision: Precision = "auto"
    strategy: Strategy = "auto"
    jit: JitMode = "auto"
    val_steps: int | None = 50
    image_grid_size: int = 4
    save_every_steps: int | None = 1000
    init_from: str | None = None
    freeze_stride: int = 0

    def __post_init__(self):
        check_fields(self, "train")
        if self.freeze_stride not in (0, 2, 4, 8, 16, 32):
            raise ValueError(
                f"freeze_stride must be 0, 2, 4, 8, 16 or 32, got {self.freeze_stride}"
            )
        for name in ("epochs", "batch_size", "image_grid_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("steps_per_epoch", "val_steps", "save_every_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 or None")
        if self.lr <= 0 or (self.d_lr is not None and self.d_lr <= 0):
            raise ValueError("learning rates must be positive")
        if (self.lr_decay_rate is None) != (self.lr_decay_steps is None):
            raise ValueError("set both lr_decay_rate and lr_decay_steps, or neither")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything a training run needs; written as `config.json` in the workdir.

    Attributes:
        name: The preset it came from.
        data: The training data.
        val_data: The validation data; None: the best checkpoint follows training L1.
        generator: The generator's ModelConfig, resolved (every field the model
            uses holds its value: `ModelConfig.resolved`).
        discriminator: The discriminator's resolved ModelConfig; None without a GAN.
        loss: A LossConfig.
        train: A TrainConfig.
    """

    name: str
    data: DataConfig
    val_data: DataConfig | None
    generator: ModelConfig
    discriminator: ModelConfig | None
    loss: LossConfig
    train: TrainConfig

    def __post_init__(self):
        check_fields(self, "config")
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Returns the config as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        """Builds a config from `to_dict` output, or from the config.json of an
        earlier run: lists become tuples, model fields left None (the model's
        default, as earlier runs wrote them) are resolved; unknown keys and wrong
        types raise a one-line ValueError."""
        return from_dict(cls, values, "")

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Builds a config from `to_json` output."""
        return cls.from_dict(json.loads(text))


def make_data_config(**values) -> DataConfig:
    """A DataConfig from plain values (lists for tuples, a dict for hints), with the
    types checked; ValueError (one line) on a bad one."""
    return from_dict(DataConfig, values, "data")


def validate(config: ExperimentConfig) -> None:
    """Raises a one-line ValueError for settings that contradict each other."""
    for part in ("generator", "discriminator"):
        model = getattr(config, part)
        if model is not None and model != model.resolved():
            raise ValueError(
                f"{part} {model.name!r} is not resolved: use ModelConfig.resolved()"
            )
    size = config.data.image_size
    stride = config.generator.stride
    if size % stride:
        raise ValueError(
            f"image_size {size} is not a multiple of {config.generator.name}'s "
            f"stride {stride}"
        )
    for side in config.data.scales or ():
        if side % stride:
            raise ValueError(
                f"scale {side} is not a multiple of {config.generator.name}'s "
                f"stride {stride}"
            )
    if config.val_data is not None and config.val_data.image_size != size:
        raise ValueError("validation and training image sizes differ")
    if config.generator.is_discriminator:
        raise ValueError(f"{config.generator.name!r} is not a generator")
    if config.loss.cast_weight and config.loss.gan is not None:
        raise ValueError(
            "loss.cast_weight is a term of the reconstruction step; the GAN step "
            "does not use it (set it to 0)"
        )
    if config.train.freeze_stride and config.generator.name != "effnet_unet":
        raise ValueError(
            f"train.freeze_stride freezes the EfficientNet-Lite0 encoder; "
            f"{config.generator.name!r} has none (set it to 0)"
        )
    _check_hints(config)
    loss, disc = config.loss, config.discriminator
    head = config.generator.head
    for kind, needs in ((BINS, "bins"), (BINS_L1, "dual")):
        if (loss.recon == kind) != (head == needs):
            raise ValueError(
                f"the {kind!r} loss and a generator with head {needs!r} (unet or "
                "effnet_unet) go together"
            )
    if loss.recon in CLASSIFICATION_KINDS and loss.gan is not None:
        raise ValueError(
            f"the {loss.recon!r} loss is not combined with a GAN; use l1, l2, huber"
        )
    if loss.gan is None:
        if disc is not None:
            raise ValueError("a discriminator is set but loss.gan is None")
        gan_only = {
            "pretrain_epochs": (loss.pretrain_epochs, 0),
            "real_label": (loss.real_label, 1.0),
            "fake_label": (loss.fake_label, 0.0),
            "weighting": (loss.weighting, "lambda"),
            "d_lr": (config.train.d_lr, None),
        }
        for name, (value, default) in gan_only.items():
            if value != default:
                raise ValueError(f"{name}={value!r} needs a GAN (loss.gan is None)")
        return
    if disc is None or not disc.is_discriminator:
        raise ValueError(f"loss.gan={loss.gan!r} needs a discriminator model")
    if size < disc.min_input_size:
        raise ValueError(
            f"image_size {size} is below {disc.name}'s minimum {disc.min_input_size}"
        )
    if size % disc.stride:
        raise ValueError(f"image_size {size} is not a multiple of {disc.name}'s stride")


def _check_hints(config: ExperimentConfig) -> None:
    """A generator takes L alone, or L and the hint channels when trained with hints;
    validation is always without hints (the automatic score)."""
    channels = config.generator.input_channels
    hinted = 1 + HINT_CHANNELS
    if config.data.hints is not None and channels != hinted:
        raise ValueError(
            f"data.hints needs a generator with input_channels {hinted} (L, hint a, "
            f"hint b, hint mask), got {channels}"
        )
    if config.data.hints is None and channels != 1:
        raise ValueError(
            f"generator input_channels {channels}: a generator takes L (1), or L and "
            f"the hint channels ({hinted}) when trained with data.hints"
        )
    if config.val_data is not None and config.val_data.hints is not None:
        raise ValueError("val_data.hints must be None: validation scores no hints")


def val_data_for(data: DataConfig, val_dir: str | None = None) -> DataConfig | None:
    """The validation DataConfig that goes with training `data`.

    Args:
        data: The training data.
        val_dir: A folder (or TFRecord folder) of validation images, if any.

    Returns:
        A DataConfig without augmentation, or None when there is no validation data
        (a folder source without `val_dir`, or a TFDS name without a known split).
    """
    common = {
        "augment": "none",
        "download": data.download,
        "seed": data.seed,
        "scales": None,
        "degrade": 0.0,
        "file_list": None,  # the list names training files, not validation ones
        "hints": None,  # validation measures the automatic colorization
    }
    if val_dir:
        source = "tfrecord" if data.source == "tfrecord" else "folder"
        return make_data_config(
            **{
                **field_values(data),
                **common,
                "source": source,
                "data_dir": val_dir,
                "split": "train",
            }
        )
    if data.source in VAL_SPLITS:
        return dataclasses.replace(data, split=VAL_SPLITS[data.source], **common)
    return None


def field_values(obj):
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
