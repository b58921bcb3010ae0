"""train.py's command line: bad or contradictory flags give one line and exit 2."""

import re

import pytest

from colorization.cli import train
from colorization.config import overrides
from colorization.config.presets import PRESETS
from tests.train_data import write_photos


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return write_photos(tmp_path_factory.mktemp("photos"), copies=1)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--no-such-flag"], "unrecognized arguments"),
        (["--preset", "nope"], "invalid choice"),
        (["--dataset", "mnist"], "invalid dataset"),
        (["--dataset", "tfds:"], "invalid dataset"),
        (["--loss", "l3"], "invalid choice"),
        (["--batch-size", "0"], "positive"),
        (["--epochs", "two"], "invalid"),
        (["--lr", "-1"], "--lr must be positive"),
        (["--mixed-precision", "fp8"], "invalid choice"),
        (["--strategy", "cluster"], "invalid choice"),
        (["--preset", "tiny", "--image-size", "30"], "not a multiple"),
        (["--preset", "zhu-gan", "--image-size", "128"], "not a multiple"),
        (["--dataset", "folder"], "needs a data_dir"),
        (["--preset", "tiny", "--model", "patchgan"], "not a generator"),
        (["--preset", "tiny", "--model", "vgg"], "Unknown model name"),
        (["--preset", "tiny", "--resume"], "no checkpoint"),
        (["--steps-per-epoch"], "expected one argument"),
        (["--preset", "tiny", "--export", "."], "exists"),
        (["--preset", "tiny", "--encoder-weights", "nope.weights.h5"], "no such file"),
        (["--set", "train.learning_rate=3e-5"], "close keys: train.lr"),
        (["--set", "data.image_sise=192"], "close keys: data.image_size"),
        (["--set", "train.lr"], "expected KEY=VALUE"),
        (["--set", "train.epochs=two"], "--set train.epochs=two: expected int"),
        (["--set", "loss.recon=l3"], "expected one of l1, l2, huber, bins, bins_l1"),
        (["--set", "data.jit_lab=maybe"], "expected bool"),
        (["--set", "data.scales=1,x"], "expected a comma-separated list of int"),
        (["--preset", "tiny", "--set", "train.epochs=0"], "epochs must be >= 1"),
        (["--preset", "tiny", "--set", "data.image_size=30"], "not a multiple"),
        (["--preset", "tiny", "--set", "discriminator.norm=none"], "no discriminator"),
        (["--preset", "tiny", "--set", "data.file_list=nope.txt"], "no such file"),
        (["--set"], "expected one argument"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(flags, message, tmp_path, capsys):
    workdir = tmp_path / "run"
    assert train.main([*flags, "--workdir", str(workdir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("train.py: error:")
    assert message in err
    assert not workdir.exists()  # no work started


def test_flags_reach_the_config(photos):
    args = train.parser().parse_args(
        [
            "--preset=zhu-gan",
            "--dataset=folder",
            f"--data-dir={photos}",
            f"--val-dir={photos}",
            "--loss=huber",
            "--batch-size=6",
            "--epochs=30",
            "--lr=1e-3",
            "--seed=3",
            "--mixed-precision=bf16",
            "--strategy=one",
        ]
    )
    config = train.config_from_args(args)
    assert config.loss.recon == "huber" and config.loss.gan == "bce"
    assert (config.train.batch_size, config.train.epochs) == (6, 30)
    assert (config.train.lr, config.train.seed, config.data.seed) == (1e-3, 3, 3)
    assert config.train.mixed_precision == "bf16"
    assert config.val_data.data_dir == photos and config.val_data.augment == "none"


@pytest.mark.slow
@pytest.mark.parametrize("hints", [False, True])
def test_export_flag_writes_the_saved_model(photos, tmp_path, hints):
    workdir, exported = tmp_path / "run", tmp_path / "exported"
    flags = ["--preset", "tiny", "--dataset", "folder", "--data-dir", str(photos)]
    flags += [
        "--steps-per-epoch",
        "1",
        "--workdir",
        str(workdir),
        "--export",
        str(exported),
    ]
    assert train.main(flags + (["--hints"] if hints else [])) == 0
    assert (exported / "saved_model.pb").is_file() and (
        workdir / "model.keras"
    ).is_file()
    import tensorflow as tf

    signatures = tf.saved_model.load(str(exported)).signatures
    assert ("hinted" in signatures) == hints  # a hinted model takes hints there


def test_set_reaches_the_config_and_wins_over_a_shortcut(photos):
    flags = ["--preset=default", "--dataset=folder", f"--data-dir={photos}"]
    flags += ["--batch-size=4", "--set", "train.batch_size=6", "--lr=1e-3"]
    for assignment in (
        "train.lr=3e-5",
        "data.image_size=192",
        "train.steps_per_epoch=none",
        "data.jit_lab=false",
        "generator.base_filters=8",
        "loss.l1_weight=2",
        "train.mixed_precision=off",
    ):
        flags += ["--set", assignment]
    config = train.config_from_args(train.parser().parse_args(flags))
    assert (config.train.lr, config.train.batch_size) == (3e-5, 6)
    assert config.data.image_size == 192 and config.data.scales is None
    assert config.train.steps_per_epoch is None and config.data.jit_lab is False
    assert config.generator.base_filters == 8 and config.loss.l1_weight == 2.0
    assert config.train.mixed_precision == "off"


def test_shortcut_flags_and_set_give_the_same_config(photos):
    common = ["--preset=tiny", "--dataset=folder", f"--data-dir={photos}"]
    shortcuts = ["--batch-size=3", "--epochs=2", "--loss=l2", "--image-size=64"]
    dotted = ["train.batch_size=3", "train.epochs=2", "loss.recon=l2"]
    dotted += ["data.image_size=64"]
    by_set = [flag for a in dotted for flag in ("--set", a)]
    parse = train.parser().parse_args
    assert train.config_from_args(parse(common + shortcuts)) == (
        train.config_from_args(parse(common + by_set))
    )


def test_list_presets_names_every_preset_and_its_report(capsys):
    assert train.main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    for line in lines:
        assert "report" in line and len(line.split()) > 3
    for name in ("studienarbeit-l1", "zhu-gan", "group4-pix2pix", "klefbom-resnet18"):
        line = next(line for line in lines if line.startswith(name + " "))
        assert re.search(r"\(report 00[0-4]\)$", line), line


def test_list_keys_lists_every_set_key(capsys):
    assert train.main(["--list-keys"]) == 0
    out = capsys.readouterr().out
    keys = [line.split()[0] for line in out.splitlines()]
    assert keys == list(overrides.schema())
    assert "train.lr  " in out and "(shortcut: lr)" in out
