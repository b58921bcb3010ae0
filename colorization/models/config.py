"""The typed model configuration and the defaults of each reproduced system.

A `ModelConfig` names a model and overrides some of its hyper-parameters; every field
left as `None` takes that model's default (see `MODEL_DEFAULTS`) when the config is
`resolved()`. A field the named model does not use must stay `None`, so a typo such as
setting `num_res_blocks` on the plain U-Net fails instead of being ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

NORMS = ("batch", "instance", "spectral", "none")
HEADS = ("tanh", "bins", "dual")
GENERATOR_NORMS = ("batch", "instance", "none")

# Per model: the fields it uses and their defaults (the published size).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    # Ketterer's Studienarbeit: keras-unet custom_unet(filters=64, dropout=0.2, ...).
    "unet": {
        "base_filters": 64,
        "depth": 4,
        "dropout": 0.2,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "head": "tanh",
    },
    # Zhu: residual U-Net with added skips.
    "residual_unet": {
        "base_filters": 64,
        "depth": 8,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "batch",
        "num_res_blocks": 2,
        "input_channels": 1,
        "output_channels": 2,
    },
    # Group 4: pix2pix U-Net (1 channel L in, 2 channels ab out).
    "pix2pix_unet": {
        "base_filters": 64,
        "depth": 8,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "instance",
        "input_channels": 1,
        "output_channels": 2,
    },
    # Group 4 Lab GAN: Johnson style-transfer network.
    "resnet_generator": {
        "base_filters": 32,
        "depth": 2,
        "num_res_blocks": 5,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
    },
    # Ehrenberg / Harsanyi CIFAR-10 U-Net.
    "ehrenberg_unet": {
        "base_filters": 64,
        "depth": 5,
        "max_filters": 512,
        "dropout": 0.5,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
    },
    # Klefbom and Mjoberg: ResNet-18 stem + layer1 + layer2 and an upsampling decoder.
    "resnet18_unet": {
        "base_filters": 64,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "encoder_weights": None,
    },
    # U-Net on an ImageNet-pretrained EfficientNet-Lite0 encoder (the default model).
    "effnet_unet": {
        "base_filters": 16,
        "norm": "batch",
        "input_channels": 1,
        "output_channels": 2,
        "encoder_weights": None,
        "head": "tanh",
    },
    # 70x70 PatchGAN on concat(L, ab).
    "patchgan": {
        "base_filters": 64,
        "depth": 3,
        "max_filters": 512,
        "norm": "batch",
        "power_iterations": 1,
        "input_channels": 3,
    },
    # Ehrenberg / Harsanyi whole-image discriminator (one logit per image).
    "pixel": {
        "base_filters": 64,
        "depth": 3,
        "max_filters": 512,
        "norm": "batch",
        "power_iterations": 1,
        "input_channels": 3,
    },
}
DISCRIMINATOR_NAMES = ("patchgan", "pixel")
GENERATOR_NAMES = tuple(n for n in MODEL_DEFAULTS if n not in DISCRIMINATOR_NAMES)

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
        name: Model name, one of `MODEL_DEFAULTS` (generators and discriminators).
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
        encoder_weights: Optional `.weights.h5` or `.keras` file with ResNet-18
            encoder weights; nothing is ever downloaded.
        head: "tanh" (regress ab), "bins" (Zhang et al.'s logits over ab bins and
            their annealed mean; trained with the "bins" loss) or "dual" (both heads
            on one trunk, blended; the "bins_l1" loss; effnet_unet only).
    """

    name: str = "unet"
    base_filters: int | None = None
    depth: int | None = None
    max_filters: int | None = None
    dropout: float | None = None
    norm: str | None = None
    num_res_blocks: int | None = None
    input_channels: int | None = None
    output_channels: int | None = None
    power_iterations: int | None = None
    encoder_weights: str | None = None
    head: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in MODEL_DEFAULTS:
            raise ValueError(
                f"Unknown model name {self.name!r}; valid names: "
                f"{', '.join(MODEL_DEFAULTS)}."
            )
        used = MODEL_DEFAULTS[self.name]
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
        norms = NORMS if self.is_discriminator else GENERATOR_NORMS
        if self.norm is not None and self.norm not in norms:
            raise ValueError(
                f"norm must be one of {', '.join(norms)} for {self.name!r}, "
                f"got {self.norm!r}."
            )

    @property
    def is_discriminator(self) -> bool:
        """Whether the named model is a discriminator."""
        return self.name in DISCRIMINATOR_NAMES

    def resolved(self) -> ModelConfig:
        """Returns a copy with every unset field the model uses set to its default."""
        defaults = MODEL_DEFAULTS[self.name]
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
    elif name == "head" and value not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {value!r}.")
