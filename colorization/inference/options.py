"""Option values (temperature, blend) as inputs of a traced graph, not constants in it.

`AnnealedMean.temperature` and `HeadBlend.weight` are Python floats that a layer bakes
into the graph it is traced in, so every new value would trace the network again. While
the `Colorizer` traces its options graph, `traced_options` puts a `GraphFloat` in their
place: a graph input that does the layer's float arithmetic as Python would, so the
graph computes what a model loaded with the value computes, bit for bit.
"""

import contextlib
import threading

import keras
import numpy as np
import tensorflow as tf

from colorization.models import layers
from colorization.models.layers import nested_layers

# Held while a graph of the models is traced: option values are swapped into their
# layers for the trace, and no other trace may see them.
_TRACE_LOCK = threading.RLock()


class GraphFloat:
    """A graph input standing in for a layer's Python float option while a graph is
    traced (`AnnealedMean.temperature`, `HeadBlend.weight`), so that a new value needs
    no new trace.

    Arithmetic with Python numbers is done in float64, as Python does it, and the
    result is converted to a tensor's dtype only when it meets one, as a float is:
    the graph computes what the float would have given, bit for bit (`1 - weight`
    rounded from float64, not subtracted in float32).

    Args:
        value: A float64 scalar tensor.
    """

    def __init__(self, value):
        self.value = value

    def __tf_tensor__(self, dtype=None, name=None):
        return tf.cast(self.value, dtype or tf.float32, name=name)

    def _apply(self, other, op, reflected=False):
        if isinstance(other, GraphFloat):
            other = other.value
        elif isinstance(other, (int, float, np.number)) and not isinstance(other, bool):
            other = tf.constant(float(other), tf.float64)
        else:  # a tensor: the float meets its dtype
            other = tf.convert_to_tensor(other)
            mine = tf.cast(self.value, other.dtype)
            return op(other, mine) if reflected else op(mine, other)
        return GraphFloat(op(other, self.value) if reflected else op(self.value, other))

    def __add__(self, other):
        return self._apply(other, tf.add)

    def __radd__(self, other):
        return self._apply(other, tf.add, True)

    def __sub__(self, other):
        return self._apply(other, tf.subtract)

    def __rsub__(self, other):
        return self._apply(other, tf.subtract, True)

    def __mul__(self, other):
        return self._apply(other, tf.multiply)

    def __rmul__(self, other):
        return self._apply(other, tf.multiply, True)

    def __truediv__(self, other):
        return self._apply(other, tf.truediv)

    def __rtruediv__(self, other):
        return self._apply(other, tf.truediv, True)

    def __neg__(self):
        return GraphFloat(-self.value)


def option_layers(models):
    """The models' (AnnealedMean layers, HeadBlend layers): what a temperature and a
    blend set."""
    found = {layers.AnnealedMean: [], layers.HeadBlend: []}
    for model in models:
        for layer in nested_layers(model) if isinstance(model, keras.Model) else []:
            for cls, kept in found.items():
                if isinstance(layer, cls) and layer not in kept:
                    kept.append(layer)
    return found[layers.AnnealedMean], found[layers.HeadBlend]


@contextlib.contextmanager
def traced_options(bins, blends, temperatures, weights):
    """While a graph is traced: the layers read their temperature and blend weight from
    the graph inputs `temperatures` and `weights` (float64, one per layer)."""
    swaps = [(layer, "temperature", temperatures[i]) for i, layer in enumerate(bins)]
    swaps += [(layer, "weight", weights[i]) for i, layer in enumerate(blends)]
    saved = [(layer, name, getattr(layer, name)) for layer, name, _ in swaps]
    try:
        for layer, name, value in swaps:
            setattr(layer, name, GraphFloat(value))
        yield
    finally:
        for layer, name, value in saved:
            setattr(layer, name, value)


def locked(fn):
    """`fn` holding `_TRACE_LOCK`: a graph's Python code runs only while it is traced."""

    def traced(*args):
        with _TRACE_LOCK:
            return fn(*args)

    return traced
