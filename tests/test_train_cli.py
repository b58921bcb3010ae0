"""train.py's command line: bad or contradictory flags give one line and exit 2."""

import pytest

from colorization.cli import train
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
