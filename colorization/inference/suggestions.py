"""Where a colour hint would help most, what to click there, and variants.

The bins head gives a colour distribution per cell of the photo
(`Colorizer.predict_distribution`). Its expected colour error, the mean distance in
Lab units of the distribution's colours from the colour the model paints, weighted by
L (an error of chroma shows in RGB about in proportion to lightness), is what a
correct hint there could remove. A hint is spread to the pixels near it of similar
lightness (the hint propagation), so a spot counts the error of the region it would
reach, and a spot on a flat patch counts more than one on an edge or a texture (its
colour is one colour, and its lightness is the region's). The best spot is taken,
the error of its region and of the regions of the hints given already is discounted,
and so on (greedy). At each spot the colours offered are the most likely distinct
colours of the distribution there.

Variants draw a colour at each of a few such spots from the (annealed) distribution
and give them as hints: every variant is one coherent colouring the model finds
plausible, made by the same propagation as a user's hints, never per-pixel noise.

    spots = colorizer.suggest_hints("photo.jpg", k=5)
    spots[0].x, spots[0].y, spots[0].colours  # 212, 96, ['#4d6e2e', '#7a5a3a', ...]
"""

import dataclasses

import numpy as np

from colorization.hints import user_hints
from colorization.models import ab_gamut
from data_pipeline import constants as C

REACH = 96.0  # network pixels: a hint's spatial reach (`HintPropagation.reach`)
EDGE = 0.2  # L_norm: how alike in lightness it spreads (`HintPropagation.edge`)
NEAR = 48.0  # network pixels around a spot taken as covered by its hint, whatever L
FLAT_WINDOW = 9  # network pixels: the window the spread of L around a spot is taken in
FLAT_SCALE = 3.0  # Lab L: a spread of L at which a spot counts exp(-1) as much
PATCH = 1  # cells around a spot whose distributions are averaged (3 x 3)
DISTINCT = 20.0  # Lab units between the colours offered at one spot
COLOURS = 3  # colours offered per spot
MAX_CELLS = 4096  # the grid suggestions are chosen on (a coarser one if needed)
SHOWN_L = (30.0, 85.0)  # the range of L the offered colours are shown at
VARIANT_SPOTS = 3  # spots each variant draws a colour at
VARIANT_TEMPERATURE = 0.38  # of the distribution a variant draws from (the annealing)


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A spot to click: `x`, `y` pixels of the photo, the `colours` ("#rrggbb") most
    likely there with their `probabilities`, its `uncertainty` (the entropy of the
    distribution there over log Q, 0..1) and `expected_error` (Lab units)."""

    x: int
    y: int
    colours: list
    probabilities: list
    uncertainty: float
    expected_error: float

    def to_json(self):
        return dataclasses.asdict(self)


def expected_error(cells, ab_cells):
    """The distribution's mean distance (Lab units) from the painted colour, per
    cell: (hc, wc, Q), (hc, wc, 2) ab_norm -> (hc, wc)."""
    centres = ab_gamut.gamut_centres() * C.AB_SCALE  # (Q, 2)
    painted = ab_cells * C.AB_SCALE
    distance = np.linalg.norm(centres[None, None] - painted[..., None, :], axis=-1)
    return (cells * distance).sum(-1)


def _cells_of(ab_norm, factor, shape):
    """ab_norm (h, w, 2) averaged over `factor` x `factor` cells -> `shape` cells."""
    hc, wc = shape
    height, width = ab_norm.shape[:2]
    padded = np.zeros((hc * factor, wc * factor, 2), np.float32)
    weight = np.zeros((hc * factor, wc * factor, 1), np.float32)
    padded[:height, :width] = ab_norm
    weight[:height, :width] = 1
    pool = lambda x: x.reshape(hc, factor, wc, factor, -1).sum((1, 3))  # noqa: E731
    return pool(padded) / np.maximum(pool(weight), 1e-6)


class _Grid:
    """Maps between the cells of the distribution and the photo's pixels."""

    def __init__(self, lightness, factor, photo_shape):
        self.small_h, self.small_w = lightness.shape
        self.factor = factor
        self.height, self.width = photo_shape

    def to_photo(self, row, column):
        """A cell's centre -> (x, y) pixel of the photo."""
        y_small = min((row + 0.5) * self.factor - 0.5, self.small_h - 1)
        x_small = min((column + 0.5) * self.factor - 0.5, self.small_w - 1)
        x = (x_small + 0.5) * self.width / self.small_w - 0.5
        y = (y_small + 0.5) * self.height / self.small_h - 0.5
        return (
            int(np.clip(round(x), 0, self.width - 1)),
            int(np.clip(round(y), 0, self.height - 1)),
        )

    def to_cells(self, x, y):
        """An (x, y) pixel of the photo -> (row, column) in cells (fractional)."""
        x_small = (x + 0.5) * self.small_w / self.width - 0.5
        y_small = (y + 0.5) * self.small_h / self.height - 0.5
        return (y_small + 0.5) / self.factor - 0.5, (x_small + 0.5) / self.factor - 0.5


def _reach(lightness, factor, reach, edge):
    """The propagation weights between cells, (n, n) for the n = hc * wc cells: near
    and of similar lightness, as `HintPropagation` weighs a hint's spread."""
    hc, wc = lightness.shape
    rows, columns = np.mgrid[0:hc, 0:wc].reshape(2, -1).astype(np.float32)
    spatial = (rows[:, None] - rows[None]) ** 2 + (
        columns[:, None] - columns[None]
    ) ** 2
    scale = 2 * (reach / factor) ** 2
    l_norm = (lightness.reshape(-1) / C.L_SCALE - 1.0).astype(np.float32)
    alike = (l_norm[:, None] - l_norm[None]) ** 2 / (2 * edge**2)
    return np.exp(-spatial / scale - alike)


def _coarse(predicted):
    """`predicted` with its distribution on cells `factor` times larger, by an
    integer factor, so that there are at most `MAX_CELLS` (the propagation weights
    are (cells x cells))."""
    lightness, ab_norm, cells, factor = predicted
    hc, wc, q = cells.shape
    pool = int(np.ceil(np.sqrt(hc * wc / MAX_CELLS)))
    if pool <= 1:
        return predicted
    ph, pw = -(-hc // pool), -(-wc // pool)
    padded = np.zeros((ph * pool, pw * pool, q), np.float32)
    weight = np.zeros((ph * pool, pw * pool, 1), np.float32)
    padded[:hc, :wc], weight[:hc, :wc] = cells, 1
    total = padded.reshape(ph, pool, pw, pool, q).sum((1, 3))
    count = weight.reshape(ph, pool, pw, pool, 1).sum((1, 3))
    return lightness, ab_norm, total / np.maximum(count, 1), factor * pool


def _local_spread(lightness, window=FLAT_WINDOW):
    """The standard deviation of L (h, w) in a `window` x `window` box around each
    pixel (the box cut at the edges)."""
    pad = window // 2
    values = np.pad(lightness.astype(np.float64), pad, mode="edge")

    def box(x):
        total = np.cumsum(np.cumsum(np.pad(x, ((1, 0), (1, 0))), 0), 1)
        return (
            total[window:, window:]
            - total[:-window, window:]
            - total[window:, :-window]
            + total[:-window, :-window]
        ) / window**2

    mean = box(values)
    return np.sqrt(np.maximum(box(values**2) - mean**2, 0.0)).astype(np.float32)


def _spots(predicted, photo_shape, k, given, reach=REACH, edge=EDGE):
    """The greedy choice of `k` cells: [(row, column)], best first, and the grid.

    A hint at cell s is taken to correct the expected error of every cell p in
    proportion to the propagation weight w(s, p); each step takes the cell whose
    hint would remove the most error, of the error that neither it nor the hints
    given already reach."""
    lightness, ab_norm, cells, factor = _coarse(predicted)
    grid = _Grid(lightness, factor, photo_shape)
    hc, wc = cells.shape[:2]
    cell_l = _cells_of(lightness[..., None], factor, (hc, wc))[..., 0]
    error = expected_error(cells, _cells_of(ab_norm, factor, (hc, wc)))
    # An error of chroma shows in RGB about in proportion to L: little in the dark.
    error = (error * cell_l / C.L_MAX).reshape(-1)
    weights = _reach(cell_l, factor, reach, edge)  # (n, n): how a hint spreads
    # A hint on a flat patch has one colour to give and its lightness to spread by;
    # one on an edge or a texture has neither (measured: docs/guidance.md).
    spread = _cells_of(_local_spread(lightness)[..., None], factor, (hc, wc))
    flat = np.exp(-((spread[..., 0] / FLAT_SCALE) ** 2)).reshape(-1)
    # What a hint takes care of: its spread, and at least its near surroundings
    # (the network spreads a hint further than the propagation's lightness test).
    near = _reach(np.zeros_like(cell_l), factor, NEAR, edge)
    covered = np.maximum(weights, near)
    inside = np.zeros((hc, wc), bool)  # cells wholly inside the photo
    inside[: max(1, grid.small_h // factor), : max(1, grid.small_w // factor)] = True
    inside = inside.reshape(-1)
    for x, y in given.points.tolist() if given is not None else []:
        row, column = (int(round(v)) for v in grid.to_cells(x, y))
        cell = min(max(row, 0), hc - 1) * wc + min(max(column, 0), wc - 1)
        error = error * (1.0 - covered[cell])
    chosen = []
    for _ in range(min(k, int(inside.sum()))):
        cell = int(np.argmax(np.where(inside, (weights @ error) * flat, -np.inf)))
        chosen.append(divmod(cell, wc))
        error = error * (1.0 - covered[cell])
    return chosen, grid


def _patch(cells, row, column):
    """The mean distribution of the cells within `PATCH` of (row, column)."""
    patch = cells[
        max(0, row - PATCH) : row + PATCH + 1,
        max(0, column - PATCH) : column + PATCH + 1,
    ]
    mean = patch.reshape(-1, patch.shape[-1]).mean(0)
    return mean / mean.sum()


def _distinct_modes(distribution, count=COLOURS):
    """Indices of the `count` most likely bins at least `DISTINCT` apart."""
    centres = ab_gamut.gamut_centres() * C.AB_SCALE
    chosen = []
    for index in np.argsort(-distribution):
        if all(np.linalg.norm(centres[index] - centres[j]) >= DISTINCT for j in chosen):
            chosen.append(int(index))
        if len(chosen) == count:
            break
    return chosen


def _hex_colours(lightness, bins):
    """sRGB "#rrggbb" of the bins' ab at lightness `lightness` (Lab units), kept
    within `SHOWN_L` so that the colours of a black or white spot can be told apart
    (a hint's lightness is not used: only its chroma)."""
    lightness = float(np.clip(lightness, *SHOWN_L))
    import tensorflow as tf

    from data_pipeline import lab

    ab = ab_gamut.gamut_centres()[bins] * C.AB_SCALE
    colour_lab = np.concatenate([np.full((len(bins), 1), lightness), ab], -1)
    rgb = lab.to_uint8(lab.lab_to_rgb(tf.constant(colour_lab, tf.float32))).numpy()
    return [user_hints.hex_colour(c) for c in rgb]


def _lightness_at(lightness, grid, row, column):
    y = min(int((row + 0.5) * grid.factor), grid.small_h - 1)
    x = min(int((column + 0.5) * grid.factor), grid.small_w - 1)
    return float(lightness[y, x])


def suggest(predicted, photo_shape, k, given=None):
    """The `k` best spots for a hint (see the module docstring).

    Args:
        predicted: `Colorizer.predict_distribution`'s (lightness, ab_norm,
            distribution, factor) of the photo.
        photo_shape: (H, W) of the photo.
        k: how many spots (fewer if the photo has fewer cells).
        given: `user_hints.Hints` given already, or None.

    Returns:
        a list of `Suggestion`, best first.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the number of suggested spots must be at least 1, got {k!r}")
    lightness, ab_norm, cells, factor = predicted
    spots, grid = _spots(predicted, photo_shape, k, given)
    error = expected_error(cells, _cells_of(ab_norm, factor, cells.shape[:2]))
    entropy = -(cells * np.log(np.maximum(cells, 1e-12))).sum(-1) / np.log(
        cells.shape[-1]
    )
    result = []
    for row, column in spots:
        distribution = _patch(cells, row, column)
        bins = _distinct_modes(distribution)
        x, y = grid.to_photo(row, column)
        result.append(
            Suggestion(
                x=x,
                y=y,
                colours=_hex_colours(_lightness_at(lightness, grid, row, column), bins),
                probabilities=[round(float(distribution[b]), 4) for b in bins],
                uncertainty=round(float(entropy[row, column]), 4),
                expected_error=round(float(error[row, column]), 2),
            )
        )
    return result


def variant_hints(predicted, photo_shape, n, given=None, seed=0):
    """The hints of `n` variants: the given hints, and at each of `VARIANT_SPOTS`
    suggested spots a colour drawn from the annealed distribution there (at the
    first spot, variant i takes the i-th most likely distinct colour while there
    are distinct ones, so the variants differ where the model is least sure).

    Returns:
        a list of `n` `user_hints.Hints`.
    """
    lightness, _, cells, _ = predicted
    spots, grid = _spots(predicted, photo_shape, VARIANT_SPOTS, given)
    rng = np.random.default_rng(seed)
    base = (
        []
        if given is None
        else [
            (x, y, tuple(int(v) for v in c))
            for (x, y), c in zip(given.points.tolist(), given.colours.tolist())
        ]
    )
    distributions = []
    for row, column in spots:
        p = _patch(cells, row, column) ** (1.0 / VARIANT_TEMPERATURE)
        distributions.append(p / p.sum())
    first_modes = _distinct_modes(distributions[0]) if spots else []
    variants = []
    for number in range(n):
        hints = list(base)
        for index, ((row, column), p) in enumerate(zip(spots, distributions)):
            if index == 0 and number < len(first_modes):
                chosen = first_modes[number]
            else:
                chosen = int(rng.choice(len(p), p=p))
            (colour,) = _hex_colours(
                _lightness_at(lightness, grid, row, column), [chosen]
            )
            hints.append((*grid.to_photo(row, column), colour))
        variants.append(user_hints.parse_hints(hints))
    return variants


def heat_map(uncertainty, colormap="magma"):
    """An uncertainty map (H, W) in [0, 1] as uint8 RGB (H, W, 3): dark where the
    model is sure, bright where it is not (matplotlib's `colormap`)."""
    import matplotlib

    table = (
        matplotlib.colormaps[colormap](np.linspace(0, 1, 256))[:, :3] * 255
    ).round()
    index = np.clip(np.round(np.asarray(uncertainty) * 255), 0, 255).astype(np.int64)
    return table.astype(np.uint8)[index]
