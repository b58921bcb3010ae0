"""The web app's answers about a photo other than its colours (a model with a bins
head): where the model is unsure, where a colour hint would help most, and variants.

    result = answer("suggest", runner, rgb, Options(count=5), guide)  # a JSON `Result`

Each works on a copy of the photo whose longer side is at most `DISPLAY_SIDE`
(`VARIANT_SIDE` for the variants): the network sees a smaller copy still, so little
is lost, and the memory and the size of the answer stay bounded whatever the photo's
size. Hints are taken, and positions given, in pixels of the photo itself.

- "uncertainty": a PNG heat map (`suggestions.heat_map`: dark where the model is
  sure, bright where it is not) at the size of that copy, to be laid over the photo.
- "suggest": JSON `{"width", "height", "suggestions": [Suggestion.to_json(), ...]}`,
  best first.
- "variants": JSON `{"width", "height", "variants": [{"image": data URL of a JPEG,
  "hints": [{"x", "y", "color"}, ...]}, ...]}`; colorizing the photo with a
  variant's hints gives that variant at full size.
"""

import base64
import io
import json

import numpy as np

from colorization.hints import user_hints

DISPLAY_SIDE = 1024  # longer side of the uncertainty map, and of the suggestions' copy
VARIANT_SIDE = 512  # longer side of the variants' images
VARIANT_QUALITY = 85  # their JPEG quality
DEFAULT_SUGGESTIONS = 5
MAX_SUGGESTIONS = 20
MAX_VARIANTS = 8


def answer(task, runner, rgb, options, guide=None):
    """The answer to `task` ("uncertainty", "suggest" or "variants") about one photo.

    Args:
        task: What to answer.
        runner: The `colorize.ModelRunner`.
        rgb: The photo, (H, W, 3) uint8 or float32 in [0, 1].
        options: The `colorize.Options` (`hints`, `count`, `seed`).
        guide: A `guidance.Guide`, or None.

    Returns:
        a `colorize.Result`.

    Raises:
        user_hints.HintError: a hint outside the photo.
    """
    if options.hints is not None:
        user_hints.check_inside(options.hints, *rgb.shape[:2])
    handlers = {"uncertainty": _uncertainty, "suggest": _suggest, "variants": _variants}
    return handlers[task](runner, rgb, options, guide)


def shrink(rgb, hints, side):
    """A copy of `rgb` whose longer side is at most `side`, the hints in its pixels,
    and its (x, y) scale factors ((1, 1): `rgb` itself)."""
    import cv2

    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1.0:
        return rgb, hints, (1.0, 1.0)
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA)
    factors = (small_w / width, small_h / height)
    if hints is not None:
        points = (hints.points + 0.5) * np.float32(factors) - 0.5
        points = np.clip(points, 0, [small_w - 1, small_h - 1]).astype(np.float32)
        hints = user_hints.Hints(points, hints.colours)
    return small, hints, factors


def _to_photo(x, y, factors, shape):
    """A pixel of the copy -> (x, y) integer pixels of the photo of `shape`."""
    height, width = shape[:2]
    column = round((x + 0.5) / factors[0] - 0.5)
    row = round((y + 0.5) / factors[1] - 0.5)
    return int(np.clip(column, 0, width - 1)), int(np.clip(row, 0, height - 1))


def _json_result(body):
    from colorization.app.colorize import Result

    def plain(value):  # NumPy scalars
        return value.item() if isinstance(value, np.generic) else str(value)

    data = json.dumps(body, default=plain, separators=(",", ":")).encode()
    return Result(data, "application/json", ".json", 0, 0, 0.0)


def _uncertainty(runner, rgb, options, guide):
    from colorization.app import colorize
    from colorization.inference import suggestions

    small, hints, _ = shrink(rgb, options.hints, DISPLAY_SIDE)
    uncertain = runner.call("uncertainty", small, hints, guide=guide)  # (h, w)
    result = colorize.encode(suggestions.heat_map(uncertain))
    result.headers["X-Uncertainty-Mean"] = f"{float(np.mean(uncertain)):.4f}"
    return result


def _suggest(runner, rgb, options, guide):
    small, hints, factors = shrink(rgb, options.hints, DISPLAY_SIDE)
    count = options.count or DEFAULT_SUGGESTIONS
    found = runner.call("suggest_hints", small, count, hints, guide=guide)
    spots = []
    for suggestion in found:
        spot = suggestion.to_json()
        spot["x"], spot["y"] = _to_photo(spot["x"], spot["y"], factors, rgb.shape)
        spots.append(spot)
    height, width = rgb.shape[:2]
    return _json_result({"width": width, "height": height, "suggestions": spots})


def _jpeg_data_url(rgb):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(rgb, np.uint8), "RGB").save(
        buffer, "JPEG", quality=VARIANT_QUALITY, subsampling=0
    )  # 4:4:4: the colours are what a variant is about
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _variants(runner, rgb, options, guide):
    small, hints, factors = shrink(rgb, options.hints, VARIANT_SIDE)
    count = options.count or 1
    given = [] if options.hints is None else options.hints.to_json()
    made = runner.call("variants", small, count, hints, guide=guide, seed=options.seed)
    variants = []
    for image, hint_set in made:
        added = hint_set.to_json()[len(given) :]  # the given hints come first
        for hint in added:
            hint["x"], hint["y"] = _to_photo(hint["x"], hint["y"], factors, rgb.shape)
        variants.append({"image": _jpeg_data_url(image), "hints": given + added})
    height, width = rgb.shape[:2]
    return _json_result({"width": width, "height": height, "variants": variants})
