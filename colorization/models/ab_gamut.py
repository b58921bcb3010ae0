"""The ab bins of Zhang et al.'s classification head, as constants.

The centres of the 10-unit ab bins that some sRGB colour falls in (Q = 262), in model
units (ab / 128). `colorization.models.ab_bins.measure_gamut` derives them with the package's
Lab conversion of a 128^3 RGB lattice, and a test checks that both agree; the table
keeps building a bins model free of that two-million-colour conversion.
"""

import numpy as np

from data_pipeline.constants import AB_SCALE

GRID = 10.0  # bin size in Lab units (Zhang et al.)
TEMPERATURE = 0.38  # of the annealed mean at inference (Zhang et al.)

# a bin index -> (first, last) b bin index of the in-gamut bins; index i is ab = i * GRID.
_ROWS = {
    -9: (8, 8),
    -8: (4, 8),
    -7: (2, 9),
    -6: (0, 9),
    -5: (-2, 9),
    -4: (-3, 9),
    -3: (-4, 9),
    -2: (-4, 9),
    -1: (-5, 9),
    0: (-6, 9),
    1: (-7, 8),
    2: (-8, 8),
    3: (-8, 8),
    4: (-9, 8),
    5: (-9, 7),
    6: (-10, 7),
    7: (-11, 7),
    8: (-11, 7),
    9: (-9, 0),
    10: (-7, -5),
}
BINS = sum(last - first + 1 for first, last in _ROWS.values())  # Q = 262


def gamut_centres():
    """(Q, 2) float32 bin centres (a, b) in model units, sorted by a, then b."""
    bins = [
        (a, b) for a, (first, last) in _ROWS.items() for b in range(first, last + 1)
    ]
    return (np.array(bins, np.float32) * GRID / AB_SCALE).astype(np.float32)
