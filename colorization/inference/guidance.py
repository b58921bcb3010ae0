"""Guided colorization: a reference photo or a palette as a prior over the ab bins.

A model with a bins head (Zhang et al.'s 262 ab bins, `colorization.models.ab_bins`)
predicts a colour distribution p(q) at every pixel. A reference photo, or a palette of
a few colours, says which colours the photo should have; as a prior r(q) it is
multiplied into every pixel's distribution with a strength s in [0, 1],

    p'(q) ∝ p(q) * (r_L(q) / m(q)) ** (s * GAIN),

and the annealed mean of p' is the pixel's colour (no retraining). m is what the
model paints in this photo, its distributions averaged over the photo: dividing by it
makes the guide a correction of the photo's colours towards the guide's (a colour
the model already uses everywhere is not pushed further; one the guide has and the
model lacks is), which measured better than the plain product on every guide
(docs/guidance.md). The prior is
conditioned on lightness: r_L is the reference's colour distribution among its pixels
of about the same L (`BANDS` bands of L, interpolated), so a bright sky in the
reference colours what is bright in the photo, and dark foliage what is dark; a band
the reference has few pixels in falls back to the reference's whole distribution. A
palette colour counts in the bands near its own L. Every prior is mixed with a little
of the uniform distribution (`FLOOR`): a colour the reference lacks is made rarer,
never impossible.

A two-head model (the shipped one) blends the bins head with an L1 regression head;
the L1 head follows the guided result: it is moved by the change the guidance made to
the bins head, so the blended output moves by that whole change. A strength of 0 is
exactly the automatic result (the graph is not guided at all).

While a guided graph is traced, `traced_guide` gives each `AnnealedMean` and
`HeadBlend` layer a `TracedGuide`, which they call in place of their own arithmetic
(the same swap `colorization.inference.options` does for temperature and blend); it
also keeps each pixel's distribution, which the uncertainty map and the suggested hints
read (`colorization.inference.suggestions`).
"""

import contextlib
import dataclasses
import functools
import os

import numpy as np

from colorization.hints import user_hints
from colorization.models import ab_gamut

BANDS = 10  # bands of L for the prior, centred on 5, 15, ..., 95
BAND_SPACING = 100.0 / BANDS
GAIN = 1.0  # the prior's exponent at strength 1
PAINTED_FLOOR = 1e-4  # added to the share of each bin the model paints, before its log
FLOOR = 0.02  # weight of the uniform distribution mixed into every prior
BACKOFF = 0.25  # pseudo-count of the whole-photo prior in each band, in band shares
SIGMA = 5.0  # Gaussian of a reference pixel's soft bin assignment, Lab units
PALETTE_SIGMA = 8.0  # Gaussian around a palette colour, Lab units
PALETTE_L_SIGMA = 20.0  # how far in L a palette colour reaches, Lab units
PALETTE_NEUTRAL = 0.25  # share of the near-grey colours beside a palette's own
REFERENCE_SIDE = 96  # longer side of the copy of a reference that is counted
# A reference photo is a looser suggestion than colours chosen one by one: the
# defaults, chosen on 58 validation photos (docs/guidance.md).
DEFAULT_STRENGTHS = {"reference": 0.3, "palette": 0.8}
PRIOR_SHAPE = (BANDS, ab_gamut.BINS)  # what a graph's prior input is
NO_BINS = (
    "the model has no bins head: a reference or palette guides the colour "
    "distribution of a model trained with --loss bins (the shipped model has one)"
)

NO_DISTRIBUTION = (
    "the model has no bins head, so no colour distribution: uncertainty, suggested "
    "hints and variants need a model trained with --loss bins (the shipped model has one)"
)


class GuideError(ValueError):
    """A reference or palette that cannot be used (one line)."""


@dataclasses.dataclass(frozen=True)
class Guide:
    """A prior over the ab bins, conditioned on L, and how strongly it counts.

    Attributes:
        prior: float32 (BANDS, Q): per band of L, a distribution over the bins.
        strength: in [0, 1]; 0 is the automatic result.
        source: what it was made from, for the record in the output files
            ({"reference": name, "reference_sha256": ...} or {"palette": [...]}).
    """

    prior: np.ndarray
    strength: float
    source: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_strength(self.strength)
        prior = np.asarray(self.prior, np.float32)
        if prior.shape != PRIOR_SHAPE:
            raise ValueError(f"a prior is (BANDS, Q), got shape {prior.shape}")
        object.__setattr__(self, "prior", prior)

    def with_strength(self, strength):
        return dataclasses.replace(self, strength=strength)

    def describe(self):
        """What the record of an output file says of this guide."""
        return {**self.source, "strength": float(self.strength)}


def check_strength(strength):
    """Raises GuideError unless 0 <= strength <= 1."""
    if isinstance(strength, bool) or not (
        isinstance(strength, (int, float, np.floating)) and 0.0 <= strength <= 1.0
    ):
        raise GuideError(f"the guide strength must be in [0, 1], got {strength!r}")


def _centres_lab():
    """The bin centres in Lab units, (Q, 2) float64."""
    from data_pipeline import constants

    return ab_gamut.gamut_centres().astype(np.float64) * constants.AB_SCALE


def band_weights(lightness):
    """Linear interpolation weights of L (Lab units, any shape) over the band
    centres -> (..., BANDS), each row summing to 1 (L beyond the outer centres
    belongs to the outer band)."""
    centres = (np.arange(BANDS) + 0.5) * BAND_SPACING
    lightness = np.clip(np.asarray(lightness, np.float64), centres[0], centres[-1])
    return np.maximum(0.0, 1.0 - np.abs(lightness[..., None] - centres) / BAND_SPACING)


def _soft_bins(ab, sigma):
    """Each ab (P, 2), Lab units, spread over the bins by a Gaussian, rows sum to 1."""
    distance = ((ab[:, None, :] - _centres_lab()[None]) ** 2).sum(-1)
    weights = np.exp(-(distance - distance.min(1, keepdims=True)) / (2 * sigma**2))
    return weights / weights.sum(1, keepdims=True)


@functools.cache
def _bin_lookup():
    """(table, offset): table[i + offset, j + offset] is the bin nearest to the grid
    cell (a, b) = (i, j) * GRID, for every cell of the square around the gamut."""
    cells = np.round(_centres_lab() / ab_gamut.GRID).astype(np.int64)
    offset = int(np.abs(cells).max()) + 1
    axis = np.arange(-offset, offset + 1) * ab_gamut.GRID
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    nearest = ((grid[:, None] - _centres_lab()[None]) ** 2).sum(-1).argmin(1)
    return nearest.reshape(len(axis), len(axis)), offset


@functools.cache
def _smoothing(sigma):
    """(Q, Q): bin q's count spread over the bins by a Gaussian of `sigma` (rows
    sum to 1)."""
    return _soft_bins(_centres_lab(), sigma)


def _histogram(lightness, ab, sigma):
    """Counts per band of L over the bins (BANDS, Q) of pixels with `lightness` (P,)
    and `ab` (P, 2), Lab units: each pixel in its nearest bin (the regular grid),
    the counts then spread by a Gaussian of `sigma`."""
    table, offset = _bin_lookup()
    cells = np.clip(
        np.round(ab / ab_gamut.GRID).astype(np.int64) + offset, 0, 2 * offset
    )
    bins = table[cells[:, 0], cells[:, 1]]
    weights = band_weights(lightness)  # (P, BANDS)
    counts = np.stack(
        [
            np.bincount(bins, weights[:, b], minlength=ab_gamut.BINS)
            for b in range(BANDS)
        ]
    )
    return counts @ _smoothing(sigma)


def _finish(counts):
    """(BANDS, Q) counts -> a prior: each band backed off towards the whole, and
    mixed with the uniform distribution."""
    total = counts.sum()
    if not total > 0:
        raise GuideError("the guide has no colour to count")
    whole = counts.sum(0) / total
    per_band = counts.sum(1, keepdims=True)
    pseudo = BACKOFF * total / BANDS
    prior = (counts + pseudo * whole) / (per_band + pseudo)
    prior = (1 - FLOOR) * prior + FLOOR / counts.shape[1]
    return (prior / prior.sum(1, keepdims=True)).astype(np.float32)


def reference_prior(rgb):
    """The colour distribution of a reference photo, per band of L.

    Args:
        rgb: (H, W, 3) uint8, or float in [0, 1].

    Returns:
        float32 (BANDS, Q).
    """
    import tensorflow as tf

    from data_pipeline import image_ops, lab

    rgb = np.asarray(rgb)
    scale = 255.0 if rgb.dtype == np.uint8 else 1.0
    height, width = rgb.shape[:2]
    small = image_ops.fit_size(height, width, REFERENCE_SIDE)
    image = tf.convert_to_tensor(rgb.astype(np.float32) / scale)
    if max(height, width) > REFERENCE_SIDE:
        image = tf.image.resize(image, [int(small[0]), int(small[1])], method="area")
    pixels = lab.rgb_to_lab(tf.clip_by_value(image, 0.0, 1.0)).numpy().reshape(-1, 3)
    return _finish(_histogram(pixels[:, 0], pixels[:, 1:].astype(np.float64), SIGMA))


def parse_palette(palette):
    """A palette: "#rrggbb,#rrggbb,..." or a list of colours ("#rrggbb" or (r, g, b))
    -> a list of (r, g, b).

    Raises:
        GuideError: an empty palette, or an entry that is not a colour.
    """
    if isinstance(palette, str):
        palette = [part.strip() for part in palette.split(",") if part.strip()]
    colours = []
    for entry in list(palette):
        try:
            colours.append(user_hints.parse_colour(entry))
        except user_hints.HintError:
            raise GuideError(
                f'palette entry {entry!r} is not a colour: give "#rrggbb" colours '
                "separated by commas"
            ) from None
    if not colours:
        raise GuideError('the palette is empty: give "#rrggbb" colours')
    return colours


def palette_prior(colours):
    """The prior of a palette: each colour's neighbourhood of bins, in the bands of L
    near its own, and a share of the near-grey colours (a palette says which hues,
    not that nothing is grey).

    Args:
        colours: (r, g, b) 0-255 colours (`parse_palette`).

    Returns:
        float32 (BANDS, Q).
    """
    import tensorflow as tf

    from data_pipeline import lab

    rgb = np.asarray(colours, np.float32).reshape(-1, 3) / 255.0
    colour_lab = lab.rgb_to_lab(tf.constant(rgb)).numpy().astype(np.float64)
    centres = (np.arange(BANDS) + 0.5) * BAND_SPACING
    reach = np.exp(
        -((centres[None] - colour_lab[:, :1]) ** 2) / (2 * PALETTE_L_SIGMA**2)
    )  # (K, BANDS)
    soft = _soft_bins(colour_lab[:, 1:], PALETTE_SIGMA)  # (K, Q)
    counts = reach.T @ soft  # (BANDS, Q)
    counts /= counts.sum(1, keepdims=True)
    grey = _soft_bins(np.zeros((1, 2)), PALETTE_SIGMA)[0]
    counts = (1 - PALETTE_NEUTRAL) * counts + PALETTE_NEUTRAL * grey
    return _finish(counts)


def make_guide(reference=None, palette=None, strength=None):
    """A `Guide` from a reference photo (a path or an RGB array) or a palette, or
    None when neither is given; `strength` None is `DEFAULT_STRENGTHS` of the kind.

    Raises:
        GuideError: both given, an unreadable reference, a bad palette, or a
            strength outside [0, 1] (one line each).
    """
    if strength is not None:
        check_strength(strength)
    if reference is not None and palette is not None:
        raise GuideError("give a reference photo or a palette, not both")
    if reference is None and palette is None:
        return None
    if palette is not None:
        colours = parse_palette(palette)
        source = {"palette": [user_hints.hex_colour(c) for c in colours]}
        strength = DEFAULT_STRENGTHS["palette"] if strength is None else strength
        return Guide(palette_prior(colours), strength, source)
    if isinstance(reference, (str, os.PathLike)):
        from colorization.inference import image_io, record

        path = os.fspath(reference)
        try:
            rgb = image_io.read_image(path).rgb
        except (image_io.ImageError, OSError) as error:
            reason = getattr(error, "strerror", None) or error
            raise GuideError(f"cannot read the reference {path!r}: {reason}") from None
        source = {
            "reference": os.path.basename(path),
            "reference_sha256": record.file_sha256(path),
        }
    else:
        rgb, source = np.asarray(reference), {"reference": "array"}
    strength = DEFAULT_STRENGTHS["reference"] if strength is None else strength
    return Guide(reference_prior(rgb), strength, source)


# ---- in the graph ----------------------------------------------------------------


class TracedGuide:
    """What `AnnealedMean` and `HeadBlend` layers call while a guided graph is traced.

    Args:
        l_norm: the network's input L_norm (N, H, W, 1), for the pixels' bands.
        prior: (BANDS, Q) tensor, or None to leave the colours unguided (only keep
            the distributions).
        strength: scalar tensor.
    """

    def __init__(self, l_norm, prior=None, strength=None):
        self.l_norm, self.prior, self.strength = l_norm, prior, strength
        self.distributions = []  # per AnnealedMean call: p' (N, h, w, Q), T = 1
        self._changes = []  # per AnnealedMean call: guided minus automatic ab

    def _log_prior(self, grid):
        """log r_L (N, h, w, Q) for the pixels of a (h, w) grid of the input."""
        import tensorflow as tf

        lightness = (tf.image.resize(self.l_norm, grid, method="area") + 1.0) * 50.0
        centres = (tf.range(BANDS, dtype=tf.float32) + 0.5) * BAND_SPACING
        lightness = tf.clip_by_value(lightness, centres[0], centres[-1])
        weights = tf.nn.relu(1.0 - tf.abs(lightness - centres) / BAND_SPACING)
        prior = tf.cast(self.prior, tf.float32)
        return tf.math.log(tf.einsum("nhwb,bq->nhwq", weights, prior))

    def annealed_mean(self, layer, logits):
        """The layer's annealed mean of the guided distribution; records the
        distribution and the change from the automatic colour."""
        import tensorflow as tf

        centres = tf.constant(layer.centres, tf.float32)
        automatic = tf.matmul(tf.nn.softmax(logits / layer.temperature, -1), centres)
        if self.prior is not None:
            # The prior over what the model already paints in this photo: the
            # colours it overuses are made rarer, those it lacks more likely.
            painted = tf.reduce_mean(tf.nn.softmax(logits, -1), [1, 2], keepdims=True)
            ratio = self._log_prior(tf.shape(logits)[1:3]) - tf.math.log(
                painted + PAINTED_FLOOR
            )
            logits = logits + tf.cast(self.strength, tf.float32) * GAIN * ratio
            guided = tf.matmul(tf.nn.softmax(logits / layer.temperature, -1), centres)
        else:
            guided = automatic
        self.distributions.append(tf.nn.softmax(logits, -1))
        self._changes.append(guided - automatic)
        return guided

    def blend(self, layer, bins_ab, l1_ab):
        """The layer's blend, with the L1 head moved by the bins head's change."""
        import tensorflow as tf

        change = tf.image.resize(
            self._changes.pop(), tf.shape(l1_ab)[1:3], method="bilinear"
        )
        blended = layer.weight * bins_ab + (1.0 - layer.weight) * (l1_ab + change)
        return tf.clip_by_value(blended, -1.0, 1.0)


@contextlib.contextmanager
def traced_guide(bins_layers, blend_layers, guide):
    """While inside, the layers call `guide` (a `TracedGuide`) for their output."""
    layers = list(bins_layers) + list(blend_layers)
    try:
        for layer in layers:
            layer.guide = guide
        yield guide
    finally:
        for layer in layers:
            layer.guide = None
