"""User colour hints at inference (issue 14): reading and checking them, and their JSON
file.

    colorizer.colorize("photo.jpg", hints=[(120, 80, "#d04020"), (30, 200, (40, 90, 160))])
    hints = read_hints_file("hints.json")  # [{"x": 120, "y": 80, "color": "#d04020"}]

A hint is a point of the photo as the user sees it (x the column, y the row, (0, 0)
the top-left pixel, after the EXIF orientation) and a colour: an (r, g, b) of 0-255
integers or a "#rrggbb" string. Only the colour's chroma, its Lab a and b, is used:
its lightness is ignored, because the photo keeps its own L everywhere.

This module is plain Python and NumPy (entry points check hints before TensorFlow
starts); `colorization.hint_graph` turns checked hints into the network's hint channels.
"""

import dataclasses
import json
import math
import numbers
import os
import re

import numpy as np

MAX_HINTS = 1000
NOT_HINTED = (
    "this model takes no hints; colour hints need a hinted model "
    "(one trained with train.py --hints, e.g. --preset default-hints)"
)
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_KEYS = ("x", "y", "color")


class HintError(ValueError):
    """Hints that cannot be used; the message (one line) says which and why."""


@dataclasses.dataclass(frozen=True)
class Hints:
    """Checked hints: `points` float32 (K, 2) as (x, y) pixels of the photo, and
    `colours` uint8 (K, 3) sRGB."""

    points: np.ndarray
    colours: np.ndarray

    def __len__(self):
        return len(self.points)

    def to_json(self):
        """The hints as the JSON list of infer.py --hints and the web app."""
        return [
            {"x": _plain(x), "y": _plain(y), "color": _hex(rgb)}
            for (x, y), rgb in zip(self.points.tolist(), self.colours.tolist())
        ]


def _hex(rgb):
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def _plain(value):
    return int(value) if float(value).is_integer() else value


def parse_colour(value):
    """An (r, g, b) of 0-255 integers or a "#rrggbb" string -> (r, g, b).

    Raises:
        HintError: anything else.
    """
    if isinstance(value, str) and _HEX.fullmatch(value):
        return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))
    if (
        isinstance(value, (tuple, list, np.ndarray))
        and len(value) == 3
        and all(_is_int(v) and 0 <= v <= 255 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise HintError(
        f'color must be "#rrggbb" or (r, g, b) with integers 0-255, not {_show(value)}'
    )


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _show(value):
    text = json.dumps(value) if isinstance(value, (str, list, dict)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_hint(item):
    """(x, y, (r, g, b)) of a tuple (x, y, colour) or a dict {"x", "y", "color"}."""
    if isinstance(item, dict):
        unknown = sorted(set(item) - set(_KEYS), key=str)
        missing = [key for key in _KEYS if key not in item]
        if unknown:
            raise HintError(f"unknown key {_show(unknown[0])} (keys: x, y, color)")
        if missing:
            raise HintError(f"no {_show(missing[0])} (keys: x, y, color)")
        x, y, colour = (item[key] for key in _KEYS)
    elif isinstance(item, (tuple, list)) and len(item) == 3:
        x, y, colour = item
    else:
        raise HintError(
            'each hint is (x, y, colour) or {"x": ..., "y": ..., "color": "#rrggbb"}, '
            f"not {_show(item)}"
        )
    for name, value in (("x", x), ("y", y)):
        if not _is_number(value):
            raise HintError(f"{name} must be a number of pixels, not {_show(value)}")
    return float(x), float(y), parse_colour(colour)


def parse_hints(hints):
    """Checks user hints -> `Hints` (a `Hints` is returned as it is).

    Args:
        hints: a list of (x, y, colour) tuples or {"x", "y", "color"} dicts.

    Raises:
        HintError: the first bad hint, by its number (from 1), and why.
    """
    if isinstance(hints, Hints):
        return hints
    if isinstance(hints, (str, bytes, dict)) or not hasattr(hints, "__iter__"):
        raise HintError(
            'hints must be a list of (x, y, colour) or {"x", "y", "color"}, '
            f"not {type(hints).__name__}"
        )
    hints = list(hints)
    if len(hints) > MAX_HINTS:
        raise HintError(f"{len(hints)} hints: at most {MAX_HINTS}")
    parsed = []
    for number, item in enumerate(hints, 1):
        try:
            parsed.append(_one_hint(item))
        except HintError as error:
            raise HintError(f"hint {number}: {error}") from None
    points = np.array([p[:2] for p in parsed], np.float32).reshape(-1, 2)
    colours = np.array([p[2] for p in parsed], np.uint8).reshape(-1, 3)
    return Hints(points, colours)


def check_inside(hints, height, width):
    """Raises HintError for the first point outside a `width` x `height` photo
    (pixel centres from (0, 0) to (width - 1, height - 1))."""
    for number, (x, y) in enumerate(hints.points.tolist(), 1):
        if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            raise HintError(
                f"hint {number} at (x={_plain(x)}, y={_plain(y)}) is outside the "
                f"{width} x {height} photo (x 0..{width - 1}, y 0..{height - 1})"
            )


def read_hints_file(path):
    """Reads and checks a hints JSON file, `[{"x": 12, "y": 34, "color": "#rrggbb"}]`.

    Raises:
        HintError: the file is missing or unreadable, not JSON, or a hint is bad; the
            message starts with the path.
    """
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except FileNotFoundError:
        raise HintError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise HintError(f"{path}: is a folder, not a hints file") from None
    except UnicodeDecodeError:
        raise HintError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise HintError(f"{path}: not valid JSON: {error}") from None
    except OSError as error:
        raise HintError(f"{path}: cannot read: {error.strerror or error}") from None
    if not isinstance(values, list):
        raise HintError(
            f'{path}: must be a JSON list of {{"x", "y", "color"}} objects, not '
            f"{type(values).__name__ if not isinstance(values, dict) else 'an object'}"
        )
    try:
        return parse_hints(values)
    except HintError as error:
        raise HintError(f"{path}: {error}") from None


def write_hints_file(path, hints):
    """Writes hints as the JSON file `read_hints_file` reads (atomically)."""
    from data_pipeline import files

    files.write_json(os.fspath(path), parse_hints(hints).to_json())
