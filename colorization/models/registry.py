"""Build any generator or discriminator from a `ModelConfig` or a model name."""

from colorization.models.config import (
    DISCRIMINATOR_NAMES,
    GENERATOR_NAMES,
    ModelConfig,
)
from colorization.models.discriminators import build_patchgan, build_pixel_discriminator
from colorization.models.effnet_unet import build_effnet_unet
from colorization.models.generators import build_residual_unet, build_resnet_generator
from colorization.models.resnet18 import build_resnet18_unet
from colorization.models.unet import (
    build_ehrenberg_unet,
    build_pix2pix_unet,
    build_unet,
)

GENERATORS = {
    "unet": build_unet,
    "residual_unet": build_residual_unet,
    "pix2pix_unet": build_pix2pix_unet,
    "resnet_generator": build_resnet_generator,
    "ehrenberg_unet": build_ehrenberg_unet,
    "resnet18_unet": build_resnet18_unet,
    "effnet_unet": build_effnet_unet,
}
DISCRIMINATORS = {
    "patchgan": build_patchgan,
    "pixel": build_pixel_discriminator,
}
assert tuple(GENERATORS) == GENERATOR_NAMES
assert tuple(DISCRIMINATORS) == DISCRIMINATOR_NAMES


def _as_config(cfg, overrides):
    if isinstance(cfg, str):
        cfg = ModelConfig(name=cfg, **overrides)
    elif overrides:
        cfg = ModelConfig.from_dict({**cfg.to_dict(), **overrides})
    return cfg.resolved()


def build_generator(cfg, **overrides):
    """Builds the generator a config (or a model name) describes.

    Args:
        cfg: A `ModelConfig` or a generator name such as "unet".
        **overrides: `ModelConfig` fields to change, e.g. `base_filters=16`.

    Returns:
        A functional `keras.Model` mapping L (batch, H, W, 1) to ab (batch, H, W, 2).

    Raises:
        ValueError: If the name is not a generator, or a field is invalid.
    """
    cfg = _as_config(cfg, overrides)
    if cfg.name not in GENERATORS:
        raise ValueError(
            f"{cfg.name!r} is not a generator; valid generators: "
            f"{', '.join(GENERATORS)}."
        )
    return GENERATORS[cfg.name](cfg)


def build_discriminator(cfg, **overrides):
    """Builds the discriminator a config (or a model name) describes.

    Args:
        cfg: A `ModelConfig` or a discriminator name ("patchgan" or "pixel").
        **overrides: `ModelConfig` fields to change, e.g. `norm="spectral"`.

    Returns:
        A functional `keras.Model` mapping concat(L, ab) to float32 logits.

    Raises:
        ValueError: If the name is not a discriminator, or a field is invalid.
    """
    cfg = _as_config(cfg, overrides)
    if cfg.name not in DISCRIMINATORS:
        raise ValueError(
            f"{cfg.name!r} is not a discriminator; valid discriminators: "
            f"{', '.join(DISCRIMINATORS)}."
        )
    return DISCRIMINATORS[cfg.name](cfg)


def model_stride(cfg):
    """Total downsampling factor: input H and W must be multiples of it.

    Args:
        cfg: A `ModelConfig` or a model name.
    """
    cfg = _as_config(cfg, {})
    if cfg.name == "resnet18_unet":
        return 8
    if cfg.name == "effnet_unet":
        return 32
    return 2**cfg.depth


def min_input_size(cfg):
    """Smallest H and W the model accepts (a multiple of `model_stride`).

    The discriminators' unpadded last convolutions need a few rows at the coarsest
    level: 3 for the PatchGAN, 4 for the whole-image discriminator.

    Args:
        cfg: A `ModelConfig` or a model name.
    """
    cfg = _as_config(cfg, {})
    rows = {"patchgan": 3, "pixel": 4}.get(cfg.name, 1)
    return rows * model_stride(cfg)
