"""Automatic colorization of black-and-white photos with Keras.

Subpackages are imported explicitly (``colorization.models``,
``colorization.training.losses``) so that importing this package stays cheap and does not
start TensorFlow.
"""


def __getattr__(name):
    """`from colorization import Colorizer` without importing TensorFlow at import."""
    if name == "Colorizer":
        from colorization.inference.colorizer import Colorizer

        return Colorizer
    raise AttributeError(f"module 'colorization' has no attribute {name!r}")
