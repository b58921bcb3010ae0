"""The typed experiment configuration: its schema, the choices of each field, and
the checks that settings do not contradict each other.

    config = presets.resolve_config("zhu-gan", {"dataset": "folder", "data_dir": "photos"})
    text = config.to_json()
    assert ExperimentConfig.from_json(text) == config

Unknown keys, wrong types and contradictory settings (an image size the generator
cannot take, a GAN option without a GAN) raise a one-line `ValueError`. The named
presets of the seed systems and the command-line overrides are in
`colorization.config.presets`. Nothing here loads TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

from colorization.models.config import ModelConfig
from data_pipeline.config import HINT_CHANNELS, DataConfig, DataSourceError

# The choices of each field.
RECON_KINDS = ("l1", "l2", "huber")  # regression to ab, masked
BINS = "bins"  # the classification loss of a generator with head "bins"
BINS_L1 = "bins_l1"  # both heads of a generator with head "dual"
CLASSIFICATION_KINDS = (BINS, BINS_L1)
GAN_KINDS = ("bce", "lsgan")
WEIGHTINGS = ("lambda", "ehrenberg")
PRECISIONS = ("auto", "off", "bf16", "fp16")
STRATEGIES = ("auto", "one", "mirrored", "multiworker", "tpu")
JIT_MODES = ("auto", "on", "off")
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
            smoothing) or a [low, high] range for noisy labels.
        fake_label: Target for generated inputs: a float or a [low, high] range.
        pretrain_epochs: Epochs of reconstruction-only training before the GAN (Zhu).
        l1_weight: Weight of the regression head's L1 in the "bins_l1" loss.
    """

    recon: str = "l1"
    gan: str | None = None
    lam: float = 100.0
    weighting: str = "lambda"
    w: float = 0.99
    real_label: float | list = 1.0
    fake_label: float | list = 0.0
    pretrain_epochs: int = 0
    l1_weight: float = 1.0

    def __post_init__(self):
        _check_fields(self)
        _choice(
            "loss.recon",
            self.recon,
            (*RECON_KINDS, *CLASSIFICATION_KINDS),
        )
        if self.l1_weight < 0:
            raise ValueError(f"loss.l1_weight must be >= 0, got {self.l1_weight}")
        _choice("loss.gan", self.gan, (None, *GAN_KINDS))
        _choice("loss.weighting", self.weighting, WEIGHTINGS)
        if not 0.0 <= self.w <= 1.0:
            raise ValueError(f"loss.w must be in [0, 1], got {self.w}")
        for name in ("real_label", "fake_label"):
            value = getattr(self, name)
            if isinstance(value, list) and (
                len(value) != 2 or not 0.0 <= value[0] <= value[1] <= 1.0
            ):
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
    mixed_precision: str = "auto"
    strategy: str = "auto"
    jit: str = "auto"
    val_steps: int | None = 50
    image_grid_size: int = 4
    save_every_steps: int | None = 1000
    init_from: str | None = None

    def __post_init__(self):
        _check_fields(self)
        _choice("mixed_precision", self.mixed_precision, PRECISIONS)
        _choice("strategy", self.strategy, STRATEGIES)
        _choice("jit", self.jit, JIT_MODES)
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
        generator: The generator's ModelConfig.
        discriminator: The discriminator's ModelConfig; None without a GAN.
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
        _check_fields(self)
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Returns the config as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        """Builds a config from `to_dict` output; unknown keys raise ValueError."""
        return _from_dict(cls, values, "config")

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Builds a config from `to_json` output."""
        return cls.from_dict(json.loads(text))


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _type_ok(value, hint) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is list:
        return isinstance(value, list) and all(_type_ok(v, float) for v in value)
    if dataclasses.is_dataclass(hint):
        return isinstance(value, hint)
    return isinstance(value, hint)


def _check_fields(obj):
    """Raises ValueError if a field of the dataclass `obj` has the wrong type."""
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if not _type_ok(value, hints[field.name]):
            raise ValueError(
                f"{type(obj).__name__}.{field.name} has the wrong type: {value!r}"
            )


def _from_dict(cls, values, where):
    if not isinstance(values, dict):
        raise ValueError(f"{where} must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown keys in {where}: {unknown}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        inner = [
            a for a in typing.get_args(hints[name]) or [hints[name]] if a is not None
        ]
        target = next((a for a in inner if dataclasses.is_dataclass(a)), None)
        if target is not None and value is not None:
            value = _from_dict(target, value, f"{where}.{name}")
        kwargs[name] = value
    if cls is DataConfig:
        return make_data_config(**kwargs)
    return cls(**kwargs)


def make_data_config(**kwargs):
    try:
        config = DataConfig(**kwargs)
    except (DataSourceError, TypeError) as error:
        raise ValueError(str(error)) from None
    _check_fields(config)
    return config


def validate(config: ExperimentConfig) -> None:
    """Raises a one-line ValueError for settings that contradict each other."""
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
    _check_hints(config)
    loss, disc = config.loss, config.discriminator
    head = config.generator.resolved().head
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
    channels = config.generator.resolved().input_channels
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
