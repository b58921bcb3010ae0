"""scripts/compare_recipes.py: the README's recipe table from trained workdirs."""

import pytest

from colorization.training.loop import train
from tests.train_data import load_script, tiny_config, write_photos


@pytest.mark.slow
def test_compare_recipes_scores_a_workdir(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", copies=1)
    config = tiny_config(photos)
    workdir = tmp_path / "tiny-run"
    train(config, str(workdir))
    script = load_script("scripts/compare_recipes.py")

    assert script.main([str(workdir), "--val", photos]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0].startswith("| recipe |") and len(table) == 4
    assert table[2].startswith("| tiny-run |") and "| 2 |" in table[2]
    assert table[3].startswith("| colourless (ab = 0) |")
    assert (workdir / "last.keras").is_file()  # its facts inside: no last.json
    cached = workdir / "val_metrics.json"
    stamp = cached.stat().st_mtime_ns
    assert script.main([str(workdir), "--val", photos]) == 0
    assert cached.stat().st_mtime_ns == stamp  # the figures are reused
    assert capsys.readouterr().out.strip().splitlines()[2] == table[2]


def test_compare_recipes_refuses_a_non_workdir(tmp_path, capsys):
    assert (
        load_script("scripts/compare_recipes.py").main(
            [str(tmp_path), "--val", str(tmp_path)]
        )
        == 2
    )
    assert "config.json" in capsys.readouterr().err
