"""scripts/biased_ensemble.py: Klefbom-Mjoberg's recipe end to end on tiny data."""

import json

import pytest

from colorization.training import checkpoints
from colorization.training.loop import train
from tests.train_data import load_script, tiny_config, write_photos


@pytest.mark.slow
def test_biased_ensemble_recipe(tmp_path, capsys):
    photos = write_photos(tmp_path / "photos", copies=2)
    start_run = tmp_path / "start-run"
    train(tiny_config(photos), str(start_run))
    start = str(tmp_path / "start.keras")
    checkpoints.write_model(str(start_run), start, "last")
    work = tmp_path / "klefbom"
    script = load_script("scripts/biased_ensemble.py")
    # The sample photos' measured groups: members for two of them and the control.
    from colorization.cli import subsets

    subsets.main([photos, str(work / "subsets"), "--groups", script.SUBSETS])
    counts = json.loads((work / "subsets" / "summary.json").read_text())["groups"]
    groups = [g for g in ("red", "yellow", "green", "blue") if counts[g]["count"]][:2]
    assert len(groups) == 2, counts

    argv = ["--train", photos, "--val", photos, "--workdir", str(work)]
    argv += ["--start", start, "--groups", ",".join(groups), "--control"]
    argv += ["--steps", "2", "--combos", "+".join(groups)]
    capsys.readouterr()  # drop what the start model's training printed
    assert script.main(argv) == 0
    *table, last = capsys.readouterr().out.strip().splitlines()
    names = [line.split("|")[1].strip() for line in table[2:]]
    combo = "+".join(groups)
    assert names == ["start", *groups, "all", f"{combo} (ab mean)"] + [
        f"{combo} (chroma mean)",
        "colourless (ab = 0)",
    ]
    assert set(json.loads(last)) == set(names[:-1])
    for name in groups + ["all"]:
        assert (work / f"{name}.keras").is_file()  # its facts inside: no .json
        assert (
            json.loads((work / name / "config.json").read_text())["train"][
                "steps_per_epoch"
            ]
            == 2
        )
    listed = json.loads((work / groups[0] / "config.json").read_text())["data"]
    assert listed["file_list"].endswith(f"{groups[0]}.txt")
    # Run again: every member, ensemble and score is reused, nothing retrained.
    stamps = {p: p.stat().st_mtime_ns for p in work.glob("*.keras")}
    assert script.main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in work.glob("*.keras")} == stamps
