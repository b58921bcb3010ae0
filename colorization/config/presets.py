"""The named presets of the seed systems, and command-line overrides of them.

    config = resolve_config("zhu-gan", {"dataset": "folder", "data_dir": "photos"})

Each preset is a function returning an `ExperimentConfig` (schema and checks in
`colorization.config.experiment`); `PRESETS` maps the names `train.py --preset` takes to them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from colorization.config.experiment import (
    BINS,
    BINS_L1,
    ExperimentConfig,
    LossConfig,
    TrainConfig,
    field_values,
    make_data_config,
    val_data_for,
)
from colorization.models.config import ModelConfig
from data_pipeline.config import HINT_CHANNELS, HintConfig


def _experiment(name, data, generator, train, loss=None, discriminator=None):
    data = make_data_config(**{"image_size": 256, **data})
    return ExperimentConfig(
        name=name,
        data=data,
        val_data=val_data_for(data),
        generator=ModelConfig(**generator),
        discriminator=ModelConfig(**discriminator) if discriminator else None,
        loss=LossConfig(**(loss or {})),
        train=TrainConfig(**train),
    )


def _studienarbeit(recon):
    return lambda: _experiment(
        f"studienarbeit-{recon}",
        {"source": "imagenet", "resize_method": "bicubic"},
        {"name": "unet", "base_filters": 64},
        {"lr": 3e-4, "batch_size": 8, "epochs": 4},
        {"recon": recon},
    )


def zhu_gan():
    """Zhu: residual U-Net + 70x70 PatchGAN, BCE + 100 L1, 20 epochs pretraining."""
    return _experiment(
        "zhu-gan",
        {"source": "imagenet", "augment": "shorter_side_crop", "shorter_side": 300},
        {"name": "residual_unet"},
        {"lr": 2e-4, "beta_1": 0.5, "batch_size": 16, "epochs": 100},
        {"recon": "l1", "gan": "bce", "lam": 100.0, "pretrain_epochs": 20},
        {"name": "patchgan"},
    )


def group4_lab_gan():
    """Group 4 Lab GAN: Johnson ResNet generator + whole-image D, BCE + 1000 MSE."""
    return _experiment(
        "group4-lab-gan",
        {"source": "imagenet"},
        {"name": "resnet_generator"},
        {"lr": 1e-4, "batch_size": 16, "epochs": 20},
        {
            "recon": "l2",
            "gan": "bce",
            "lam": 1000.0,
            "real_label": [0.9, 1.0],
            "fake_label": [0.0, 0.1],
        },
        {"name": "pixel"},
    )


def group4_pix2pix():
    """Group 4 pix2pix: 8-down U-Net + PatchGAN, LSGAN + 100 L1, Adam 5e-4."""
    return _experiment(
        "group4-pix2pix",
        {"source": "imagenet"},
        {"name": "pix2pix_unet"},
        {"lr": 5e-4, "beta_1": 0.5, "batch_size": 4, "epochs": 20},
        {"recon": "l1", "gan": "lsgan", "lam": 100.0},
        {"name": "patchgan"},
    )


def _ehrenberg(norm):
    spectral = norm == "spectral"
    return lambda: _experiment(
        "ehrenberg-unet-sn" if spectral else "ehrenberg-unet-bn",
        {"source": "cifar10", "image_size": 32, "resize_method": "bilinear"},
        {"name": "ehrenberg_unet"},
        {
            "lr": 2e-4 if spectral else 3e-4,
            "d_lr": 2e-4 if spectral else 6e-5,
            "beta_1": 0.5,
            "lr_decay_rate": 0.1,
            "lr_decay_steps": 40_000 if spectral else 60_000,
            "batch_size": 32,
            "epochs": 100,
        },
        {
            "recon": "l1",
            "gan": "bce",
            "weighting": "ehrenberg",
            "w": 0.985 if spectral else 0.99,
            "real_label": 1.0 if spectral else 0.9,
        },
        {"name": "pixel", "norm": norm},
    )


def klefbom_resnet18():
    """Klefbom-Mjoberg: ResNet-18 encoder U-Net, L2, Adam 1e-3."""
    return _experiment(
        "klefbom-resnet18",
        {"source": "imagenet"},
        {"name": "resnet18_unet"},
        {"lr": 1e-3, "batch_size": 16, "epochs": 10},
        {"recon": "l2"},
    )


def default():
    """The shipped default model: one U-Net on the ImageNet EfficientNet-Lite0 encoder
    with two heads (Zhang et al.'s rebalanced ab bins and an L1 regression, blended),
    trained at several scales (128-224 px, one side per batch) on crops, flips and
    old-scan degradations of the input L. 24 epochs of 500 steps; give it the photos
    and --init-from (the shipped model) or --encoder-weights (README: "The shipped
    default model")."""
    return _experiment(
        "default",
        {
            "source": "imagenet",
            "image_size": 224,
            "scales": [128, 160, 192, 224],
            "augment": "crop_flip",
            "degrade": 0.3,
        },
        {"name": "effnet_unet", "head": "dual"},
        {
            "lr": 1e-4,
            "lr_decay_rate": 0.5,
            "lr_decay_steps": 4000,
            "batch_size": 16,
            "epochs": 24,
            "steps_per_epoch": 500,
            "val_steps": None,
            "save_every_steps": 250,
        },
        {"recon": "bins_l1", "l1_weight": 5.0},
    )


# The hint channels' weights start at zero and train at the fine-tune's small rate; a
# gain of 64 on those channels (`models.layers.HintGain`) gives their weights an
# effective Adam rate of about 2e-3, that of training a convolution from scratch. At
# gain 1, 500 steps left them at 1/2000 of the L weights, and hints did nothing; at 64
# through the stem alone, 750 steps gave +0.03 dB with 20 hints (40 val photos): the
# pretrained encoder learns to carry them too slowly, so the decoder gets them too.
HINT_GAIN = 64.0


def default_hints():
    """The default model fine-tuned for user colour hints (Zhang et al. 2017): its
    input takes L and three hint channels (hint a, b and mask); every training batch
    gets hints simulated from its true ab (`data_pipeline.hints`: half the images
    none, the others 1 + a geometric number with p = 1/8, each the mean ab of a 1-9
    px patch), which enter beside L and, pooled, every decoder block
    (`decoder_hints`), multiplied by HINT_GAIN. Start it --init-from the shipped
    model: the hint weights start at zero, so it starts as exactly that model. 8
    epochs of 500 steps at a lower rate, to keep the automatic colorization;
    validation scores it without hints."""
    base = default()
    return dataclasses.replace(
        base,
        name="default-hints",
        data=make_data_config(**field_values(base.data) | {"hints": HintConfig()}),
        generator=dataclasses.replace(
            base.generator,
            input_channels=1 + HINT_CHANNELS,
            hint_gain=HINT_GAIN,
            decoder_hints=True,
        ),
        train=dataclasses.replace(
            base.train, lr=3e-5, lr_decay_steps=2000, epochs=8, steps_per_epoch=500
        ),
    )


def effnet_bins():
    """The bins member of the ensemble shipped before: the EfficientNet-Lite0 U-Net with
    Zhang et al.'s classification head (rebalanced cross-entropy over ab bins,
    annealed-mean output), 128 px, random crops and flips, 6 epochs."""
    return _experiment(
        "effnet-bins",
        {"source": "imagenet", "image_size": 128, "augment": "crop_flip"},
        {"name": "effnet_unet", "head": "bins"},
        {"lr": 2e-4, "batch_size": 16, "epochs": 6},
        {"recon": "bins"},
    )


def _cpu_recipe(name, loss, beta_1=0.9, discriminator=None, head=None):
    """The recipes compared for the shipped model (README, "Choosing the recipe"):
    the Studienarbeit U-Net at 16 base filters (2M parameters), 128 px, random crops
    and flips, batch 16, Adam 2e-4, two epochs of the photos."""
    generator = {"name": "unet", "base_filters": 16}
    if head:
        generator["head"] = head
    return lambda: _experiment(
        name,
        {"source": "imagenet", "image_size": 128, "augment": "crop_flip"},
        generator,
        {"lr": 2e-4, "beta_1": beta_1, "batch_size": 16, "epochs": 2},
        loss,
        discriminator,
    )


def effnet_l1():
    """The L1 member of the ensemble shipped before: the U-Net on the ImageNet
    EfficientNet-Lite0 encoder, regressing ab with L1 (the first shipped model)."""
    return _experiment(
        "effnet-l1",
        {"source": "imagenet", "image_size": 128, "augment": "crop_flip"},
        {"name": "effnet_unet"},
        {"lr": 2e-4, "batch_size": 16, "epochs": 6},
        {"recon": "l1"},
    )


def tiny():
    """A tiny U-Net on 32 px CIFAR-10 for tests and smoke runs."""
    return _experiment(
        "tiny",
        {"source": "cifar10", "image_size": 32},
        {"name": "unet", "base_filters": 8, "depth": 2},
        {"lr": 1e-3, "batch_size": 4, "epochs": 1, "val_steps": 2},
    )


PRESETS = {
    "studienarbeit-l1": _studienarbeit("l1"),
    "studienarbeit-l2": _studienarbeit("l2"),
    "zhu-gan": zhu_gan,
    "group4-lab-gan": group4_lab_gan,
    "group4-pix2pix": group4_pix2pix,
    "ehrenberg-unet-sn": _ehrenberg("spectral"),
    "ehrenberg-unet-bn": _ehrenberg("batch"),
    "klefbom-resnet18": klefbom_resnet18,
    "cpu-unet-l1": _cpu_recipe("cpu-unet-l1", {"recon": "l1"}),
    # Zhu's recipe: one epoch of L1 pretraining, then BCE GAN + 100 L1 (Adam beta_1 0.5).
    "cpu-unet-gan": _cpu_recipe(
        "cpu-unet-gan",
        {"recon": "l1", "gan": "bce", "lam": 100.0, "pretrain_epochs": 1},
        beta_1=0.5,
        discriminator={"name": "patchgan", "base_filters": 32},
    ),
    # Zhang et al.: rebalanced classification over the ab bins, annealed-mean output.
    "cpu-unet-bins": _cpu_recipe("cpu-unet-bins", {"recon": "bins"}, head="bins"),
    "effnet-l1": effnet_l1,
    "effnet-bins": effnet_bins,
    "default": default,
    "default-hints": default_hints,
    "tiny": tiny,
}

_TRAIN_KEYS = (
    "batch_size",
    "epochs",
    "steps_per_epoch",
    "lr",
    "seed",
    "mixed_precision",
    "strategy",
    "jit",
    "val_steps",
    "save_every_steps",
    "init_from",
)
OVERRIDE_KEYS = (
    *_TRAIN_KEYS,
    "model",
    "loss",
    "image_size",
    "scales",
    "dataset",
    "data_dir",
    "file_list",
    "val_dir",
    "manual_dir",
    "generator",
    "discriminator",
    "pretrain_epochs",
    "hints",
)


def resolve_config(preset: str, overrides: dict[str, Any] | None = None):
    """A preset with command-line style overrides applied and validated.

    Args:
        preset: A key of `PRESETS`.
        overrides: Keys of `OVERRIDE_KEYS`; None values are ignored. "model" names
            the generator (its other fields reset to that model's defaults),
            "loss" the reconstruction loss, "dataset" the data source, "file_list"
            the list of training files under "data_dir"; "generator" and
            "discriminator" are dicts of ModelConfig fields; "hints" (a bool)
            trains with simulated colour hints (the preset's, or the default
            HintConfig) or without, and sets the generator's input channels.

    Returns:
        The ExperimentConfig.

    Raises:
        ValueError: One line naming the unknown preset or key, or the contradiction.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"unknown overrides {unknown}")
    base = PRESETS[preset]()
    train = dataclasses.replace(
        base.train, **{k: given[k] for k in _TRAIN_KEYS if k in given}
    )
    data = field_values(base.data) | {"seed": train.seed}
    if "dataset" in given:
        data |= {"source": given["dataset"], "split": "train", "data_dir": None}
    for key, field in (
        ("data_dir", "data_dir"),
        ("manual_dir", "manual_dir"),
        ("image_size", "image_size"),
        ("file_list", "file_list"),
    ):
        if key in given:
            data[field] = given[key]
    hinted = given.get("hints", base.data.hints is not None)
    data["hints"] = (base.data.hints or HintConfig()) if hinted else None
    if "image_size" in given:  # one size asked for: no multi-scale unless given
        data["scales"] = None
    if "scales" in given:
        data["scales"] = list(given["scales"])
        data["image_size"] = max(data["scales"])
    data = make_data_config(**data)
    generator = base.generator.to_dict()
    if "model" in given:
        generator = {"name": given["model"]}
    generator = ModelConfig.from_dict(generator | given.get("generator", {}))
    if hinted or generator.input_channels == 1 + HINT_CHANNELS:
        # The input channels follow the hints: L, or L and the hint channels.
        channels = 1 + HINT_CHANNELS if hinted else None
        hint_fields = {"hint_gain": HINT_GAIN, "decoder_hints": True}
        for field in list(hint_fields):
            if field not in generator.spec.defaults or not hinted:
                hint_fields[field] = None
            elif getattr(generator, field) is not None:
                hint_fields[field] = getattr(generator, field)
        generator = dataclasses.replace(
            generator, input_channels=channels, **hint_fields
        )
    discriminator = base.discriminator
    if "discriminator" in given:
        if discriminator is None:
            raise ValueError(f"preset {preset!r} has no discriminator to override")
        discriminator = ModelConfig.from_dict(
            discriminator.to_dict() | given["discriminator"]
        )
    loss = base.loss
    if "loss" in given:
        loss = dataclasses.replace(loss, recon=given["loss"])
        if "head" in generator.spec.defaults:  # the head follows the loss
            head = {BINS: "bins", BINS_L1: "dual"}.get(given["loss"], "tanh")
            generator = dataclasses.replace(generator, head=head)
    if "pretrain_epochs" in given:
        loss = dataclasses.replace(loss, pretrain_epochs=given["pretrain_epochs"])
    return ExperimentConfig(
        name=base.name,
        data=data,
        val_data=val_data_for(data, given.get("val_dir")),
        generator=generator,
        discriminator=discriminator,
        loss=loss,
        train=train,
    )
