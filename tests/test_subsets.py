"""The colour-group subset builder and train.py's --file-list."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from colorization.cli import subsets as subsets_cli
from data_pipeline import sources, subsets
from data_pipeline.config import DataConfig, DataSourceError
from data_pipeline.lab import rgb_to_lab

COLOURS = {
    "red": (200, 30, 30),
    "yellow": (230, 210, 40),
    "green": (40, 170, 60),
    "blue": (40, 60, 200),
}


def _hue(rgb):
    lab = rgb_to_lab(np.array(rgb, np.uint8)).numpy()
    return float(np.degrees(np.arctan2(lab[2], lab[1])) % 360)


def _write(path, rgb, stripes=None, step=3, size=(40, 30)):
    image = np.empty((size[1], size[0], 3), np.uint8)
    image[:] = rgb
    if stripes is not None:
        image[::step] = stripes  # every step-th row in another colour
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    for name, rgb in COLOURS.items():
        _write(str(root / f"{name}.png"), rgb)
        _write(str(root / "striped" / f"{name}.png"), rgb, stripes=(128, 128, 128))
    _write(str(root / "grey.png"), (120, 120, 120))
    _write(str(root / "pale.png"), (128, 128, 128), stripes=(150, 128, 128), step=20)
    (root / "broken.jpg").write_bytes(b"not a jpeg at all")
    return str(root)


@pytest.fixture(scope="module")
def built(photos, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("subsets"))
    status = subsets_cli.main([photos, out, "--groups", ",".join(subsets.GROUPS)])
    assert status == 0
    return out


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def test_photos_go_to_their_colour_group(built):
    for name in COLOURS:
        assert _lines(os.path.join(built, f"{name}.txt")) == sorted(
            [f"{name}.png", os.path.join("striped", f"{name}.png")]
        )
        assert os.path.getsize(os.path.join(built, f"{name}_hues.png")) > 0
    # a few faint pink stripes: coloured, but too few pixels for a hue group
    assert _lines(os.path.join(built, "neutral.txt")) == ["pale.png"]


def test_summary_counts_mean_hues_and_skips(built):
    with open(os.path.join(built, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    for name, rgb in COLOURS.items():
        group = summary["groups"][name]
        assert group["count"] == 2
        assert group["mean_hue"] == pytest.approx(_hue(rgb), abs=0.5)
        assert group["mean_chroma"] > 20
    assert summary["groups"]["neutral"]["count"] == 1
    assert summary["skipped"] == {"unreadable": 1, "black_and_white": 1}
    assert summary["unassigned"] == 0
    assert summary["thresholds"]["min_share"] == 0.5


def test_unrequested_groups_are_unassigned(photos, tmp_path):
    assert subsets_cli.main([photos, str(tmp_path), "--groups", "red"]) == 0
    assert sorted(os.listdir(tmp_path)) == ["red.txt", "red_hues.png", "summary.json"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["unassigned"] == 7  # 6 other colours + the pale one


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--groups", "red,purple"], "unknown ['purple']"),
        (["--min-share", "1.5"], "--min-share must be in [0, 1]"),
        (["--min-chroma", "-1"], "--min-chroma"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(photos, tmp_path, capsys, flags, message):
    assert subsets_cli.main([photos, str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("colorization-subsets: error:")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_bad_src_and_out_exit_2(photos, tmp_path, capsys):
    assert subsets_cli.main([str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    (tmp_path / "file").write_text("x")
    assert subsets_cli.main([photos, str(tmp_path / "file")]) == 2
    assert subsets_cli.main([str(tmp_path), str(tmp_path / "out")]) == 2  # no images
    assert capsys.readouterr().err.count("colorization-subsets: error:") == 3


def test_file_list_reads_good_lines(photos, tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("# reds\n\nred.png\n  striped/red.png  \n")
    paths = sources.read_file_list(str(listed), photos)
    assert paths == [
        os.path.join(photos, "red.png"),
        os.path.join(photos, "striped", "red.png"),
    ]
    _, count, _ = sources.folder_source(photos, file_list=str(listed))
    assert count == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("missing.png", "no such file"),
        ("striped", "no such file"),  # a folder
        ("notes.txt", "not an image"),
        ("/etc/passwd", "not inside"),
        ("../outside.png", "not inside"),
        ("striped/../../outside.png", "not inside"),
    ],
)
def test_file_list_bad_lines_name_the_line(photos, tmp_path, line, message):
    with open(os.path.join(photos, "notes.txt"), "w") as f:
        f.write("not an image")
    listed = tmp_path / "list.txt"
    listed.write_text(f"red.png\n# comment\n{line}\n")
    with pytest.raises(DataSourceError, match=f"list.txt', line 3: .*{message}"):
        sources.read_file_list(str(listed), photos)


def test_file_list_only_with_folder_source():
    with pytest.raises(DataSourceError, match="only with the folder source"):
        DataConfig(source="tfrecord", data_dir="x", file_list="list.txt")


def test_val_data_does_not_inherit_the_file_list(photos, tmp_path):
    from colorization.config.presets import resolve_config

    overrides = {"dataset": "folder", "data_dir": photos, "val_dir": photos}
    config = resolve_config("tiny", overrides | {"file_list": "list.txt"})
    assert config.data.file_list == "list.txt"
    assert config.val_data.file_list is None


def test_train_on_a_file_list(photos, tmp_path, capsys):
    from colorization.cli import train

    bad, good = tmp_path / "bad.txt", tmp_path / "good.txt"
    bad.write_text("red.png\nmissing.png\n")
    good.write_text("red.png\nblue.png\n")
    flags = ["--preset", "tiny", "--dataset", "folder", "--data-dir", photos]
    flags += ["--epochs", "1", "--steps-per-epoch", "1", "--mixed-precision", "off"]
    assert train.main([*flags, "--file-list", str(tmp_path / "nope.txt")]) == 2
    assert "--file-list: no such file" in capsys.readouterr().err
    assert (
        train.main([*flags, "--file-list", str(bad), "--workdir", str(tmp_path / "b")])
        == 1
    )
    assert "bad.txt', line 2: no such file 'missing.png'" in capsys.readouterr().err
    workdir = tmp_path / "run"
    assert (
        train.main([*flags, "--file-list", str(good), "--workdir", str(workdir)]) == 0
    )
    assert (workdir / "model.keras").is_file()
