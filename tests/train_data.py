"""Helpers for the training tests: a folder of small real photos, run scripts."""

import importlib.util
import os
import socket
import subprocess
import sys

from PIL import Image

from tests.conftest import photo

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def load_script(relative_path):
    """Imports a script of the repository (e.g. "scripts/compare_recipes.py"), which
    is not a package module, so that a test can call its `main`."""
    name = os.path.splitext(os.path.basename(relative_path))[0]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(REPO, relative_path)
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_photos(root, copies=2, size=(48, 40)):
    """Writes len(PHOTOS) * copies small PNGs (each copy flipped and resized
    differently) into `root` and returns its path as a str."""
    os.makedirs(root, exist_ok=True)
    for name in PHOTOS:
        image = photo(name)
        for i in range(copies):
            flipped = image[:, ::-1] if i % 2 else image
            w, h = size if i % 2 == 0 else size[::-1]
            Image.fromarray(flipped).resize((w, h), Image.BICUBIC).save(
                os.path.join(root, f"{name}_{i}.png")
            )
    return str(root)


def tiny_config(photos, **overrides):
    """The tiny preset on the folder `photos` (also its validation set), float32,
    2 steps per epoch unless overridden."""
    from colorization.config.presets import resolve_config

    return resolve_config(
        "tiny",
        {
            "dataset": "folder",
            "data_dir": photos,
            "val_dir": photos,
            "mixed_precision": "off",
            "steps_per_epoch": 2,
            **overrides,
        },
    )


def free_port():
    """A TCP port on localhost that is free right now."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_python(code_or_args, env=None, timeout=300, **kwargs):
    """Runs `python -c code` (a str) or `python *args` (a list) from the repo root;
    `env` entries override the environment (None removes a variable)."""
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    full_env = {key: value for key, value in full_env.items() if value is not None}
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
