"""The command line a newcomer meets: fast --help, a quiet start-up, a progress bar
that counts finished files, per-file errors, one walker and one atomic writer."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from colorization.inference import batch_inference, planning
from data_pipeline import files, sources
from tests.conftest import encode, photo
from tests.inference_helpers import constant_ab_model
from tests.train_data import run_python


def _python(code_or_args, env=None):
    """Runs Python as a user would: no TF_CPP_MIN_LOG_LEVEL unless `env` sets it."""
    return run_python(code_or_args, env={"TF_CPP_MIN_LOG_LEVEL": None, **(env or {})})


@pytest.mark.parametrize(
    "command",
    [
        "train",
        "infer",
        "evaluate",
        "export",
        "app",
        "checkpoints",
        "ensemble",
        "survey_set",
        "survey_report",
        "subsets",
        "tfrecords",
    ],
)
def test_parsing_flags_does_not_load_tensorflow(command):
    code = (
        "import sys\n"
        f"from colorization.cli import {command} as c\n"
        "try:\n"
        "    c.parser().parse_args(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow' in sys.modules)\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_bad_flag_is_one_line_and_status_2():
    result = _python(["infer.py", "photo.jpg", "--size", "4"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "infer.py: error: --size must be at least 8"
    ]


@pytest.mark.parametrize(
    "args,name",
    [
        (["infer.py"], "infer.py"),
        (["-m", "colorization.cli.infer"], "python -m colorization.cli.infer"),
        (["-m", "colorization.app"], "python -m colorization.app"),
    ],
)
def test_errors_name_the_program_run(args, name):
    result = _python([*args, "--size", "4"])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"{name}: error: ")


CONSOLE_SCRIPTS = [
    "colorize",
    "colorization-train",
    "colorization-evaluate",
    "colorization-export",
    "colorization-app",
    "colorization-checkpoints",
    "colorization-ensemble",
    "colorization-survey-set",
    "colorization-survey-report",
    "colorization-subsets",
    "colorization-tfrecords",
]


@pytest.mark.parametrize("script", CONSOLE_SCRIPTS)
def test_console_scripts_name_themselves(script):
    path = os.path.join(os.path.dirname(sys.executable), script)
    if not os.path.isfile(path):
        pytest.skip(f"{script} is not installed: pip install -e .")
    result = subprocess.run(
        [path, "--no-such-flag"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"{script}: error: ")


def test_colorize_says_colorize():
    path = os.path.join(os.path.dirname(sys.executable), "colorize")
    if not os.path.isfile(path):
        pytest.skip("colorize is not installed: pip install -e .")
    result = subprocess.run(
        [path, "photo.jpg", "--size", "4"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "colorize: error: --size must be at least 8"
    ]


def test_start_up_is_quiet_unless_asked(tmp_path):
    constant_ab_model(0.1, 0.2).save(tmp_path / "m.keras")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode(photo("coffee", (40, 30))))
    args = ["infer.py", str(tmp_path / "in"), "--model", str(tmp_path / "m.keras")]
    quiet = _python(args + ["--quiet", "--size", "32"])
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip().splitlines() == [
        f"colorized 1 of 1 images into {tmp_path / 'in_colorized'}"
    ]
    # The user's own TF_CPP_MIN_LOG_LEVEL wins: everything TensorFlow says is shown.
    loud = _python(
        args + ["--quiet", "--size", "32", "--output", str(tmp_path / "o2")],
        env={"TF_CPP_MIN_LOG_LEVEL": "0"},
    )
    assert loud.returncode == 0, loud.stderr
    assert len(loud.stderr.strip().splitlines()) >= 1


class _Recorder:
    """A colorizer whose output is grey, recording the progress bar at each call;
    it fails on images `fail_width` wide, like a model out of memory."""

    def __init__(self, bars, fail_width=None):
        self.bars, self.fail_width, self.seen = bars, fail_width, []

    def colorize_array(self, rgb, hints=None, **options):
        self.seen.append((len(rgb), self.bars[-1].n))
        if self.fail_width and rgb.shape[2] == self.fail_width:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")
        return np.asarray(rgb, np.uint8)


@pytest.fixture
def bars(monkeypatch):
    import tqdm

    made = []

    class Bar(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    return made


def _jobs(tmp_path, widths):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, width in enumerate(widths):
        (folder / f"{i}.png").write_bytes(encode(photo("coffee", (width, 20))))
    return planning.plan_jobs([str(folder)], str(tmp_path / "out"))[0]


def test_progress_counts_files_written_not_files_read(tmp_path, bars):
    jobs = _jobs(tmp_path, [30, 30, 30])
    colorizer = _Recorder(bars)
    report = batch_inference.colorize_files(colorizer, jobs, batch_size=4, record=False)
    assert len(report.done) == 3
    assert colorizer.seen == [(3, 0)]  # all three read, none finished yet
    assert bars[-1].n == bars[-1].total == 3


def test_a_model_error_fails_only_its_file(tmp_path, bars, capsys):
    jobs = _jobs(tmp_path, [30, 44, 30, 30])
    colorizer = _Recorder(bars, fail_width=44)
    report = batch_inference.colorize_files(colorizer, jobs, batch_size=2, record=False)
    assert sorted(os.path.basename(p) for p in report.done) == [
        "0.png",
        "2.png",
        "3.png",
    ]
    [(source, reason)] = report.failed
    assert source.endswith("1.png") and reason.startswith("cannot colorize: ")
    assert "OOM" in capsys.readouterr().err
    assert bars[-1].n == 4
    assert not (tmp_path / "out" / "1.png").exists()


def test_training_and_inference_find_the_same_images(tmp_path):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for name in ("a.JPG", "b.tiff", "sub/c.webp", ".hidden.png", "notes.txt"):
        (root / name).write_bytes(b"x")
    linked = tmp_path / "elsewhere"
    linked.mkdir()
    (linked / "d.png").write_bytes(b"x")
    os.symlink(linked, root / "link")
    os.symlink(root, root / "sub" / "loop")  # a cycle is walked once
    expected = ["a.JPG", "b.tiff", "link/d.png", "sub/c.webp"]
    trained = [os.path.relpath(p, root) for p in sources.list_image_files(str(root))]
    inferred = [relative for _, relative in planning.find_images([str(root)])]
    assert trained == inferred == expected


def test_atomic_path_leaves_the_old_file_on_error(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(str(target)) as temporary:
            assert (
                temporary.endswith(".keras") and os.path.basename(temporary)[0] == "."
            )
            with open(temporary, "w") as f:
                f.write("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.keras"]
    files.write_json(str(target), {"a": 1})
    assert target.read_text() == '{\n "a": 1\n}\n'
    assert os.listdir(tmp_path) == ["model.keras"]
