"""Colour constants and the scaling between CIE Lab and model tensors.

Pure Python and NumPy-free arithmetic, so the same functions serve TensorFlow tensors,
NumPy arrays and the multiprocessing generator's worker processes (which never import
TensorFlow).

Model tensors:
    L_norm  = L / 50 - 1      (L in [0, 100]   -> [-1, 1])
    ab_norm = ab / 128        (a, b in [-128, 127] -> [-1, 1))

The Studienarbeit scaled OpenCV's 8-bit Lab as ``x / 128 - 1``; on real Lab units that
is exactly the two lines above. Padding is black: L_norm = -1 and ab_norm = 0 (never the
saturated ab = -1 of the original code).
"""

# sRGB (IEC 61966-2-1) primaries to CIE XYZ, D65, as scikit-image uses them.
XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# CIE D65 reference white, 2 degree observer (scikit-image's default).
D65_WHITE = (0.95047, 1.0, 1.08883)

# sRGB transfer function.
SRGB_LINEAR_THRESHOLD = 0.04045  # on the encoded value
SRGB_ENCODE_THRESHOLD = 0.0031308  # on the linear value
SRGB_LINEAR_SLOPE = 12.92
SRGB_GAMMA = 2.4
SRGB_OFFSET = 0.055

# CIE Lab companding f(t) = t^(1/3) above EPSILON, linear below.
LAB_EPSILON = 0.008856
LAB_KAPPA_SLOPE = 7.787
LAB_OFFSET = 16.0 / 116.0

# Model scaling.
L_MAX = 100.0
L_SCALE = 50.0
AB_SCALE = 128.0

# Padding value of the model tensors (black, no chroma).
PAD_L_NORM = -1.0
PAD_AB_NORM = 0.0


def normalize_l(lightness):
    """Scales CIE L in [0, 100] to [-1, 1]."""
    return lightness / L_SCALE - 1.0


def denormalize_l(l_norm):
    """Inverse of `normalize_l`."""
    return (l_norm + 1.0) * L_SCALE


def normalize_ab(ab):
    """Scales CIE a and b (about [-128, 127]) to [-1, 1]."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm):
    """Inverse of `normalize_ab`."""
    return ab_norm * AB_SCALE
