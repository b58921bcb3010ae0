"""Colorization generators and discriminators, built by name from a `ModelConfig`.

Example:
    >>> from colorization.models import ModelConfig, build_generator
    >>> model = build_generator(ModelConfig(name="unet", base_filters=16))

The names below load their module (and Keras) on first use, so that importing
`colorization.models.config` to read or check a configuration stays light.
"""

import importlib

_EXPORTS = {
    "ModelConfig": "config",
    "ModelSpec": "config",
    "NORMS": "config",
    "AnnealedMean": "layers",
    "HeadBlend": "layers",
    "ReflectionPadding2D": "layers",
    "set_blend": "layers",
    "set_temperature": "layers",
    "ModelFacts": "model_file",
    "load_model": "model_file",
    "model_facts": "model_file",
    "save_model": "model_file",
    "DISCRIMINATORS": "registry",
    "DISCRIMINATOR_NAMES": "registry",
    "GENERATORS": "registry",
    "GENERATOR_NAMES": "registry",
    "MODEL_DEFAULTS": "registry",
    "SPECS": "registry",
    "build_discriminator": "registry",
    "build_generator": "registry",
    "is_hinted": "registry",
    "min_input_size": "registry",
    "model_stride": "registry",
    "build_resnet18_encoder": "resnet18",
    "load_encoder_weights": "resnet18",
    "SpectralNormalization": "spectral_norm",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__():
    return __all__
