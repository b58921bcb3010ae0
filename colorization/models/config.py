"""The typed model configuration, and the spec each model module declares.

A `ModelConfig` names a model and overrides some of its hyper-parameters; every field
left as `None` takes that model's default (its `ModelSpec.defaults`, declared next to
its builder) when the config is `resolved()`, which an `ExperimentConfig` always is
(its presets and `from_dict` resolve, so config.json holds the real values). A field
the named model does not use must stay `None`, so a typo such as setting
`num_res_blocks` on the plain U-Net fails instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal

Norm = Literal["batch", "instance", "spectral", "none"]
NORMS = typing.get_args(Norm)
Head = Literal["tanh", "bins", "dual"]
HEADS = typing.get_args(Head)
BINS_STRIDES = (2, 4, 8)
GENERATOR_NORMS = ("batch", "instance", "none")


def depth_stride(cfg: ModelConfig) -> int:
    """The stride of a model with `depth` stride-2 levels: 2**depth."""
    return 2**cfg.depth


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model; each model module declares its own next
    to its builder, and `models.registry` collects them.

    Attributes:
        build: The builder: a resolved `ModelConfig` -> functional `keras.Model`.
        defaults: The fields the model uses and their defaults (the published size);
            a field not listed must stay None in a `ModelConfig` of this model.
        discriminator: Whether it is a discriminator (concat(L, ab) in, logits out).
        stride: The total downsampling factor of a resolved config: input H and W
            must be multiples of it.
        min_rows: Rows the model needs at its coarsest level, so its smallest input
            side is `min_rows * stride` (an unpadded last convolution needs a few).
    """

    build: Callable[[ModelConfig], Any]
    defaults: Mapping[str, Any]
    discriminator: bool = False
    stride: Callable[[ModelConfig], int] = depth_stride
    min_rows: int = 1


def _specs() -> Mapping[str, ModelSpec]:
    # The registry imports every model module (and Keras); configs import it on first
    # use, so that reading a config (`train.py --help`) does not load TensorFlow.
    from colorization.models.registry import SPECS

    return SPECS


_INT_FIELDS = (
    "base_filters",
    "depth",
    "max_filters",
    "num_res_blocks",
    "input_channels",
    "output_channels",
    "power_iterations",
)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Which model to build and the hyper-parameters that differ from its defaults.

    Attributes:
        name: Model name, a key of `models.registry.SPECS` (generators and
            discriminators).
        base_filters: Filters of the first level; deeper levels double it.
        depth: Number of resolution levels (stride-2 steps) of the model.
        max_filters: Cap on the number of filters of any level.
        dropout: Dropout rate where the reproduced system uses dropout.
        norm: One of "batch", "instance", "spectral" (discriminators only), "none".
        num_res_blocks: Residual blocks per level (residual U-Net) or in the middle
            (ResNet generator).
        input_channels: 1 (L) for generators, 3 (L, a, b) for discriminators.
        output_channels: 2 (a, b) for generators.
        power_iterations: Power iterations per step of spectral normalization.
        encoder_weights: Optional pretrained encoder weights for the models with one
            (resnet18_unet: ResNet-18 `.weights.h5` or `.keras`; effnet_unet:
            EfficientNet-Lite0 `.weights.h5`); nothing is ever downloaded.
        head: "tanh" (regress ab), "bins" (Zhang et al.'s logits over ab bins and
            their annealed mean; trained with the "bins" loss) or "dual" (both heads
            on one trunk, blended; the "bins_l1" loss; effnet_unet only).
        hint_gain: Constant factor on the hint channels before the first
            convolution (effnet_unet with hints). Their weights start at zero in a
            model that was automatic, and Adam moves each weight by about the
            learning rate per step, so a fine-tune's small rate leaves them near zero;
            the gain multiplies their effective rate without touching the others.
        decoder_hints: Whether every decoder block also gets the hints at its own
            resolution (effnet_unet with hints), so that a fine-tune does not have to
            teach the pretrained encoder to carry them.
        bins_stride: Stride of the bins head's logits (effnet_unet with head "bins"
            or "dual"): 2 (half resolution), 4 (a quarter, as Zhang et al.) or 8.
        global_context: Whether an image-level branch (Iizuka et al. 2016: the
            pooled top features) modulates every decoder level (effnet_unet).
    """

    name: str = "unet"
    base_filters: int | None = None
    depth: int | None = None
    max_filters: int | None = None
    dropout: float | None = None
    norm: Norm | None = None
    num_res_blocks: int | None = None
    input_channels: int | None = None
    output_channels: int | None = None
    power_iterations: int | None = None
    encoder_weights: str | None = None
    head: Head | None = None
    hint_gain: float | None = None
    decoder_hints: bool | None = None
    bins_stride: int | None = None
    global_context: bool | None = None

    def __post_init__(self):
        specs = _specs()
        if not isinstance(self.name, str) or self.name not in specs:
            raise ValueError(
                f"Unknown model name {self.name!r}; valid names: {', '.join(specs)}."
            )
        used = self.spec.defaults
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "name" or value is None:
                continue
            if field.name not in used:
                raise ValueError(
                    f"Model {self.name!r} does not use {field.name!r}; its fields: "
                    f"{', '.join(used)}."
                )
            _check_value(field.name, value)
        if self.bins_stride not in (None, 2) and self.head == "tanh":
            raise ValueError(
                "bins_stride is the stride of a bins head; head 'tanh' has none "
                "(use head 'bins' or 'dual')"
            )
        norms = NORMS if self.is_discriminator else GENERATOR_NORMS
        if self.norm is not None and self.norm not in norms:
            raise ValueError(
                f"norm must be one of {', '.join(norms)} for {self.name!r}, "
                f"got {self.norm!r}."
            )

    @property
    def spec(self) -> ModelSpec:
        """The named model's `ModelSpec`: builder, defaults, stride."""
        return _specs()[self.name]

    @property
    def is_discriminator(self) -> bool:
        """Whether the named model is a discriminator."""
        return self.spec.discriminator

    @property
    def stride(self) -> int:
        """Total downsampling factor: input H and W must be multiples of it."""
        return self.spec.stride(self.resolved())

    @property
    def min_input_size(self) -> int:
        """Smallest input H and W the model takes (a multiple of `stride`)."""
        return self.spec.min_rows * self.stride

    def resolved(self) -> ModelConfig:
        """Returns a copy with every unset field the model uses set to its default."""
        defaults = self.spec.defaults
        updates = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **updates)

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Builds a config from a dict such as the one `to_dict` returns.

        Raises:
            ValueError: If a key is not a field of `ModelConfig` or a value is invalid.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown ModelConfig keys {unknown}; valid keys: {', '.join(known)}."
            )
        return cls(**values)


def _check_value(name: str, value: Any) -> None:
    """Raises ValueError if `value` has the wrong type or range for field `name`."""
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    elif name == "dropout":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not 0.0 <= value < 1.0:
            raise ValueError(f"dropout must be a float in [0, 1), got {value!r}.")
    elif name in ("norm", "encoder_weights") and not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {value!r}.")
    elif name in ("decoder_hints", "global_context") and not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}.")
    elif name == "bins_stride" and value not in BINS_STRIDES:
        raise ValueError(
            f"bins_stride must be one of {', '.join(map(str, BINS_STRIDES))}, "
            f"got {value!r}."
        )
    elif name == "hint_gain":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not value > 0:
            raise ValueError(f"hint_gain must be a positive number, got {value!r}.")
    elif name == "head" and value not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {value!r}.")
