"""The named presets of the seed systems, and overrides of them.

    config = resolve_config("zhu-gan", {"dataset": "folder", "data_dir": "photos"})
    config = resolve_config("tiny", {"train.lr": 3e-5, "data.image_size": 64})

Each preset is a function returning an `ExperimentConfig` (schema and checks in
`colorization.config.experiment`); `PRESETS` maps the names `train.py --preset` takes
to them and to a one-line summary. The override keys come from the schema
(`colorization.config.overrides`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from colorization.config import overrides as overrides_lib
from colorization.config.experiment import (
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
        generator=ModelConfig(**generator).resolved(),
        discriminator=ModelConfig(**discriminator).resolved()
        if discriminator
        else None,
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
            "real_label": (0.9, 1.0),
            "fake_label": (0.0, 0.1),
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
    with two heads (Zhang et al.'s rebalanced ab bins at a quarter of the resolution
    and an L1 regression, blended) and an image-level branch (Iizuka et al.'s global
    context) into every decoder level and a loss on each image's mean colour (its
    global cast) beside the two heads' losses, trained at several scales (128-224 px, one
    side per batch) on crops, flips and old-scan degradations of the input L, the
    encoder frozen up to stride 8. 24 epochs of 500 steps; give it the photos and
    --init-from (the shipped model) or --encoder-weights (docs/model.md)."""
    return _experiment(
        "default",
        {
            "source": "imagenet",
            "image_size": 224,
            "scales": [128, 160, 192, 224],
            "augment": "crop_flip",
            "degrade": 0.3,
        },
        {
            "name": "effnet_unet",
            "head": "dual",
            "bins_stride": 4,
            "global_context": True,
        },
        {
            "lr": 1e-4,
            "lr_decay_rate": 0.5,
            "lr_decay_steps": 4000,
            "batch_size": 16,
            "epochs": 24,
            "steps_per_epoch": 500,
            "val_steps": None,
            "save_every_steps": 250,
            "freeze_stride": 8,
        },
        {"recon": "bins_l1", "l1_weight": 5.0, "cast_weight": 10.0},
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
    model (how the shipped weights were trained) or from an automatic `default`
    model, whose hint weights start at zero, so it starts as exactly that model;
    the layers new to either (the global-context branch) start as the identity.
    The stem is frozen (`freeze_stride`), so its hint weights keep the values they
    start with: trained ones from the shipped model; from an automatic model, zeros,
    and the hints then enter through the decoder blocks alone.
    12 epochs of 500 steps, the rate halving every 2,000; validation scores it
    without hints."""
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
            base.train, lr=1e-4, lr_decay_steps=2000, epochs=12, steps_per_epoch=500
        ),
    )


def effnet_bins():
    """The bins member of the two-model ensemble the default starts from: the EfficientNet-Lite0 U-Net with
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
    """The L1 member of that two-model ensemble: the U-Net on the ImageNet
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


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named experiment: `build()` returns its ExperimentConfig; `summary` says in
    one line what it trains and which seed report (docs/seed-systems.md) it
    mirrors."""

    build: Callable[[], ExperimentConfig]
    summary: str

    def __call__(self) -> ExperimentConfig:
        return self.build()


PRESETS = {
    "studienarbeit-l1": Preset(
        _studienarbeit("l1"),
        "Ketterer's U-Net (64 filters, 4 levels), L1, Adam 3e-4, batch 8, 4 epochs "
        "(report 002)",
    ),
    "studienarbeit-l2": Preset(
        _studienarbeit("l2"),
        "Ketterer's U-Net (64 filters, 4 levels), L2, Adam 3e-4, batch 8, 4 epochs "
        "(report 002)",
    ),
    "zhu-gan": Preset(
        zhu_gan,
        "Zhu's residual U-Net + 70x70 PatchGAN, BCE + 100 L1 after 20 epochs of L1 "
        "(report 000)",
    ),
    "group4-lab-gan": Preset(
        group4_lab_gan,
        "Group 4's Lab GAN: Johnson ResNet generator + whole-image D, BCE + 1000 MSE "
        "(report 001)",
    ),
    "group4-pix2pix": Preset(
        group4_pix2pix,
        "Group 4's pix2pix: 8-down U-Net + PatchGAN, LSGAN + 100 L1, Adam 5e-4 "
        "(report 001)",
    ),
    "ehrenberg-unet-sn": Preset(
        _ehrenberg("spectral"),
        "Ehrenberg's CIFAR-10 U-Net + spectral-norm D, (1-w) adv + w L1, w 0.985 "
        "(report 004)",
    ),
    "ehrenberg-unet-bn": Preset(
        _ehrenberg("batch"),
        "Ehrenberg's CIFAR-10 U-Net + batch-norm D, w 0.99, real label 0.9 "
        "(report 004)",
    ),
    "klefbom-resnet18": Preset(
        klefbom_resnet18,
        "Klefbom and Mjoberg's ResNet-18 encoder U-Net, L2, Adam 1e-3 (report 003)",
    ),
    "cpu-unet-l1": Preset(
        _cpu_recipe("cpu-unet-l1", {"recon": "l1"}),
        "CPU recipe: 16-filter Studienarbeit U-Net, 128 px, L1, 2 epochs "
        "(after report 002)",
    ),
    # Zhu's recipe: one epoch of L1 pretraining, then BCE GAN + 100 L1 (Adam beta_1 0.5).
    "cpu-unet-gan": Preset(
        _cpu_recipe(
            "cpu-unet-gan",
            {"recon": "l1", "gan": "bce", "lam": 100.0, "pretrain_epochs": 1},
            beta_1=0.5,
            discriminator={"name": "patchgan", "base_filters": 32},
        ),
        "CPU recipe: that U-Net + PatchGAN, BCE + 100 L1 after 1 epoch of L1 "
        "(after report 000)",
    ),
    # Zhang et al.: rebalanced classification over the ab bins, annealed-mean output.
    "cpu-unet-bins": Preset(
        _cpu_recipe("cpu-unet-bins", {"recon": "bins"}, head="bins"),
        "CPU recipe: that U-Net classifying ab bins (Zhang et al. 2016; no seed "
        "report)",
    ),
    "effnet-l1": Preset(
        effnet_l1,
        "EfficientNet-Lite0 U-Net, L1, 128 px: the earlier ensemble's L1 member "
        "(no seed report)",
    ),
    "effnet-bins": Preset(
        effnet_bins,
        "EfficientNet-Lite0 U-Net, ab bins, 128 px: the earlier ensemble's bins "
        "member (no seed report)",
    ),
    "default": Preset(
        default,
        "the shipped model: EfficientNet-Lite0 U-Net, bins + L1 heads, 128-224 px, "
        "old-scan degradations (no seed report)",
    ),
    "default-hints": Preset(
        default_hints,
        "the shipped model fine-tuned for user colour hints (Zhang et al. 2017; no "
        "seed report)",
    ),
    "tiny": Preset(
        tiny,
        "an 8-filter 2-level U-Net on 32 px CIFAR-10, for tests and smoke runs "
        "(no report)",
    ),
}


def preset_lines() -> list[str]:
    """One line per preset: its name and what it trains (the report it mirrors)."""
    width = max(map(len, PRESETS))
    return [f"{name:<{width}}  {preset.summary}" for name, preset in PRESETS.items()]


# The hint fields a hinted generator gets, where its model has them.
HINT_FIELDS = {"hint_gain": HINT_GAIN, "decoder_hints": True}


def resolve_config(preset: str, overrides: dict[str, Any] | None = None):
    """A preset with overrides applied, resolved and validated.

    Args:
        preset: A key of `PRESETS`.
        overrides: Dotted keys of `overrides.schema()` ("train.lr") or their
            shortcuts ("lr", "dataset"), with typed values (`overrides.parse_value`
            parses text), or a dict of fields for a section ("generator": {...}).
            Some settings carry others along unless those are given too: a new
            generator or discriminator name resets its other fields to that
            model's defaults; a new data source reads its "train" split with no
            data_dir; data.image_size drops the preset's scales; data.scales sets
            data.image_size to its largest side; train.seed is data.seed too;
            loss.recon sets the generator's head where it has one; data.hints
            (true: the preset's or the default HintConfig) sets the generator's
            input channels and hint fields; val_data follows data (with
            val_data.data_dir, "val_dir", its folder), then val_data.* apply.

    Returns:
        The ExperimentConfig, its models resolved.

    Raises:
        ValueError: One line naming the unknown preset or key, or the contradiction.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
    sets = overrides_lib.expand(overrides)
    return overrides_lib.apply(PRESETS[preset](), sets, HINT_FIELDS)
