"""Every model by name: the registry collects the `ModelSpec` each model module
declares next to its builder, and builds from a `ModelConfig` or a name."""

from colorization.models import discriminators, effnet_unet, generators, resnet18, unet
from colorization.models.config import ModelConfig
from data_pipeline.config import HINT_CHANNELS

SPECS = {
    "unet": unet.UNET,
    "residual_unet": generators.RESIDUAL_UNET,
    "pix2pix_unet": unet.PIX2PIX_UNET,
    "resnet_generator": generators.RESNET_GENERATOR,
    "ehrenberg_unet": unet.EHRENBERG_UNET,
    "resnet18_unet": resnet18.RESNET18_UNET,
    "effnet_unet": effnet_unet.EFFNET_UNET,
    "patchgan": discriminators.PATCHGAN,
    "pixel": discriminators.PIXEL,
}
GENERATORS = {n: s.build for n, s in SPECS.items() if not s.discriminator}
DISCRIMINATORS = {n: s.build for n, s in SPECS.items() if s.discriminator}
GENERATOR_NAMES = tuple(GENERATORS)
DISCRIMINATOR_NAMES = tuple(DISCRIMINATORS)
# The fields each model uses and their defaults.
MODEL_DEFAULTS = {name: dict(spec.defaults) for name, spec in SPECS.items()}


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
    return _as_config(cfg, {}).stride


def min_input_size(cfg):
    """Smallest H and W the model accepts (a multiple of `model_stride`).

    Args:
        cfg: A `ModelConfig` or a model name.
    """
    return _as_config(cfg, {}).min_input_size


def is_hinted(model):
    """Whether a built generator takes L and the three hint channels (hint a, hint b,
    hint mask; `data_pipeline.hints`) rather than L alone. A callable that is not a
    Keras model takes no hints."""
    inputs = getattr(model, "inputs", None)
    return bool(inputs) and inputs[0].shape[-1] == 1 + HINT_CHANNELS
