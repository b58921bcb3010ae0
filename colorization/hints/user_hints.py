"""User colour hints at inference: reading and checking them, and their JSON
file.

    colorizer.colorize("photo.jpg", hints=[(120, 80, "#d04020"), (30, 200, (40, 90, 160))])
    hints = read_hints_file("hints.json")  # [{"x": 120, "y": 80, "color": "#d04020"}]
    hints = parse_hints_json(request_text)  # the same, from JSON text
    hints = read_hints_file("film.json")  # [{"x": 120, "y": 80, "color": "#d04020", "frame": 0}]

JSON text is parsed by `parse_hints_json` only: whatever it holds (huge numbers, deep
nesting, megabytes), the answer is `Hints` or a one-line `HintError`.

A hint is a point of the photo as the user sees it (x the column, y the row, (0, 0)
the top-left pixel, after the EXIF orientation) and a colour: an (r, g, b) of 0-255
integers or a "#rrggbb" string. Only the colour's chroma, its Lab a and b, is used:
its lightness is ignored, because the photo keeps its own L everywhere. For a video, a
hint may also name the 0-based index of the frame it was placed on ("frame"; frame 0
without it), from where `colorization.inference.video_hints` carries it through the shot.

This module is plain Python and NumPy (entry points check hints before TensorFlow
starts); `colorization.hints.hint_graph` turns checked hints into the network's hint channels.
"""

import dataclasses
import json
import math
import numbers
import os
import re

import numpy as np

MAX_HINTS = 1000
MAX_JSON_BYTES = 1 << 18  # 1,000 hints written with indentation take under 100 kB
MAX_JSON_DEPTH = 8  # hints need 3: [{"color": [r, g, b]}]
_MAX_NUMBER_CHARS = 40  # JavaScript writes any double in under 25
NOT_HINTED = (
    "this model takes no hints; colour hints need a hinted model "
    "(one trained with train.py --hints, e.g. --preset default-hints)"
)
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
_KEYS = ("x", "y", "color")
_FRAME = "frame"  # the optional key of a video's hints
MAX_FRAME = 2**31 - 1
_NO_FRAME = object()  # a hint that names no frame


class HintError(ValueError):
    """Hints that cannot be used; the message (one line) says which and why."""


@dataclasses.dataclass(frozen=True)
class Hints:
    """Checked hints: `points` float32 (K, 2) as (x, y) pixels of the photo, and
    `colours` uint8 (K, 3) sRGB; for a video, `frames` int64 (K,), the frame each
    hint was placed on (None when no hint names one: all on frame 0)."""

    points: np.ndarray
    colours: np.ndarray
    frames: np.ndarray = None

    def __len__(self):
        return len(self.points)

    def frame_of_each(self):
        """The frame of each hint, int64 (K,) (zeros when none names one)."""
        if self.frames is None:
            return np.zeros(len(self), np.int64)
        return self.frames

    def on_frame(self, frame):
        """The hints placed on `frame`, without frames (the `Hints` of one photo)."""
        chosen = self.frame_of_each() == frame
        return Hints(self.points[chosen], self.colours[chosen])

    def to_json(self):
        """The hints as the JSON list of infer.py --hints and the web app."""
        items = [
            {"x": _plain(x), "y": _plain(y), "color": hex_colour(rgb)}
            for (x, y), rgb in zip(self.points.tolist(), self.colours.tolist())
        ]
        if self.frames is not None:
            for item, frame in zip(items, self.frames.tolist()):
                item[_FRAME] = frame
        return items


def hex_colour(rgb):
    """(r, g, b) 0-255 -> "#rrggbb"."""
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
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _show(value):
    text = json.dumps(value) if isinstance(value, (str, list, dict)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_hint(item):
    """(x, y, (r, g, b), frame or None) of a tuple (x, y, colour[, frame]) or a dict
    {"x", "y", "color"[, "frame"]}."""
    frame = _NO_FRAME
    if isinstance(item, dict):
        unknown = sorted(set(item) - {*_KEYS, _FRAME}, key=str)
        missing = [key for key in _KEYS if key not in item]
        if unknown:
            raise HintError(
                f"unknown key {_show(unknown[0])} (keys: x, y, color, frame)"
            )
        if missing:
            raise HintError(f"no {_show(missing[0])} (keys: x, y, color)")
        x, y, colour = (item[key] for key in _KEYS)
        frame = item.get(_FRAME, _NO_FRAME)
    elif isinstance(item, (tuple, list)) and len(item) in (3, 4):
        x, y, colour, frame = (*item, _NO_FRAME)[:4]
    else:
        raise HintError(
            'each hint is (x, y, colour) or {"x": ..., "y": ..., "color": "#rrggbb"}, '
            f"not {_show(item)}"
        )
    for name, value in (("x", x), ("y", y)):
        if not _is_number(value):
            raise HintError(f"{name} must be a number of pixels, not {_show(value)}")
    if frame is _NO_FRAME:
        return float(x), float(y), parse_colour(colour), None
    if not (_is_int(frame) and 0 <= frame <= MAX_FRAME):
        raise HintError(
            f"frame must be a whole number from 0 (the first frame) to {MAX_FRAME}, "
            f"not {_show(frame)}"
        )
    return float(x), float(y), parse_colour(colour), int(frame)


def parse_hints(hints):
    """Checks user hints -> `Hints` (a `Hints` is returned as it is).

    Args:
        hints: a list of (x, y, colour) tuples or {"x", "y", "color"} dicts; for
            a video, (x, y, colour, frame) or a "frame" key too (the 0-based frame
            the hint was placed on; 0 for a hint without one).

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
    frames = None
    if any(p[3] is not None for p in parsed):
        frames = np.array([p[3] or 0 for p in parsed], np.int64)
    return Hints(points, colours, frames)


def check_inside(hints, height, width):
    """Raises HintError for the first point outside a `width` x `height` photo
    (pixel centres from (0, 0) to (width - 1, height - 1))."""
    for number, (x, y) in enumerate(hints.points.tolist(), 1):
        if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
            raise HintError(
                f"hint {number} at (x={_plain(x)}, y={_plain(y)}) is outside the "
                f"{width} x {height} photo (x 0..{width - 1}, y 0..{height - 1})"
            )


def _number(text, convert):
    """A JSON number, refused if it is too long to be a pixel position or a colour
    (Python would spend time on it, or refuse ints over 4,300 digits) or overflows."""
    if len(text) > _MAX_NUMBER_CHARS:
        raise HintError(
            f"a number of {len(text)} characters: at most {_MAX_NUMBER_CHARS}"
        )
    value = convert(text)
    if not _is_number(value):
        raise HintError(f"the number {_show(text)} is out of range")
    return value


def _refuse_constant(name):
    raise HintError(f"{name} is not a number JSON allows")


def _depth(text):
    """How deeply the lists and objects of JSON `text` nest (strings ignored)."""
    text = re.sub(r"\\.", "", text)  # escaped characters, such as \"
    text = re.sub(r'"[^"]*"', "", text)  # strings, with their brackets
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", text):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_hints_json(text):
    """Parses and checks the JSON text of hints, `[{"x": 12, "y": 34, "color":
    "#rrggbb"}]`, whatever it holds: the one parser of hints files and of the web
    app's hints field.

    Args:
        text: str, or bytes in UTF-8.

    Raises:
        HintError: one line saying why: too large, not UTF-8, not JSON, nested too
            deeply, a number too long or out of range, not a list, or a bad hint.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise HintError(f"hints must be JSON text, not {type(text).__name__}")
    if len(text) > MAX_JSON_BYTES:  # characters: at least as many bytes
        raise HintError(f"too large for hints: over {MAX_JSON_BYTES} bytes")
    if not isinstance(text, str):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HintError("not UTF-8 text") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise HintError(
            f"lists or objects nested more than {MAX_JSON_DEPTH} deep; hints are "
            '[{"x", "y", "color"}, ...]'
        )
    try:
        values = json.loads(
            text,
            parse_int=lambda s: _number(s, int),
            parse_float=lambda s: _number(s, float),
            parse_constant=_refuse_constant,
        )
    except HintError:
        raise
    except json.JSONDecodeError as error:
        raise HintError(f"not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:  # what the checks above missed
        raise HintError(f"not valid JSON: {' '.join(str(error).split())}") from None
    if not isinstance(values, list):
        what = "an object" if isinstance(values, dict) else type(values).__name__
        raise HintError(
            f'must be a JSON list of {{"x", "y", "color"}} objects, not {what}'
        )
    return parse_hints(values)


def read_hints_file(path):
    """Reads and checks a hints JSON file, `[{"x": 12, "y": 34, "color": "#rrggbb"}]`
    (`parse_hints_json`).

    Raises:
        HintError: the file is missing, unreadable or too large, not JSON, or a hint
            is bad; the message starts with the path.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError:
        raise HintError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise HintError(f"{path}: is a folder, not a hints file") from None
    except OSError as error:
        raise HintError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_JSON_BYTES:
        raise HintError(f"{path}: too large for hints: over {MAX_JSON_BYTES} bytes")
    try:
        return parse_hints_json(data)
    except HintError as error:
        raise HintError(f"{path}: {error}") from None


def write_hints_file(path, hints):
    """Writes hints as the JSON file `read_hints_file` reads (atomically)."""
    from data_pipeline import files

    files.write_json(os.fspath(path), parse_hints(hints).to_json())
