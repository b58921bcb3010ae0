"""Spread each colour hint over the region it lies on, along the photo's own edges.

A hinted network learns to follow hints from simulated ones (`data_pipeline.hints`),
but a fine-tune of a pretrained automatic model learns it slowly: the encoder was
never taught to carry colour. This layer does the spreading without learning, in the
spirit of Levin et al. 2004 ("Colorization using optimization": neighbours of similar
lightness get similar colour): the correction a hint asks for (its ab minus the
network's ab there) grows outward from the hint, step by step, to neighbours of
similar L, and fades with every step and across every edge. Where two hints' regions
meet, the one that reaches with more confidence wins (a geodesic Voronoi partition).
The network's own colour stays wherever no hint reaches; with no hint the output is
exactly the network's.

    model = add_hint_propagation(load_model("runs/hints/model.keras"))
"""

import keras

# The 8 neighbours (row, column offsets) a step looks at.
_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)


@keras.saving.register_keras_serializable(package="colorization")
class HintPropagation(keras.layers.Layer):
    """ab_out = ab + the hints' corrections, spread edge-aware over their regions.

    Works at 1 / `factor` of the network's resolution: each of `steps` steps, every
    cell takes the most confident of its own correction and its 8 neighbours'; a
    neighbour's confidence is multiplied by `decay` (per pixel of distance) and by
    exp(-(dL / `edge`)**2), dL their L_norm difference. A hinted cell starts at
    confidence 1. The corrections, times their confidence, are upsampled and added.

    Args:
        steps: Propagation steps; the reach is `steps * factor` network pixels.
        edge: L_norm difference (L_norm = L / 50 - 1) at which a step keeps
            exp(-1) of the confidence.
        decay: Confidence kept per network pixel of distance, in (0, 1].
        factor: Downsampling of the propagation grid; the network's H and W are
            multiples of it.
        **kwargs: Base layer keyword arguments such as `name`.

    Call args:
        inputs: [x, ab]: x the hinted network's input (L_norm, hint a, hint b, hint
            mask), ab its output (ab_norm), both (batch, H, W, ...).
    """

    def __init__(self, steps=48, edge=0.1, decay=0.99, factor=2, **kwargs):
        super().__init__(**kwargs)
        _check("steps", steps, int, lambda v: v >= 1)
        _check("factor", factor, int, lambda v: v >= 1)
        _check("edge", edge, (int, float), lambda v: v > 0)
        _check("decay", decay, (int, float), lambda v: 0 < v <= 1)
        self.steps, self.factor = steps, factor
        self.edge, self.decay = float(edge), float(decay)

    def call(self, inputs):
        import tensorflow as tf  # the package runs on the TensorFlow backend

        x, ab = inputs
        x, ab = tf.cast(x, tf.float32), tf.cast(ab, tf.float32)
        pool = lambda t: tf.nn.avg_pool2d(t, self.factor, self.factor, "VALID")  # noqa: E731
        mask = x[..., 3:4]
        covered = pool(mask)
        correction = pool((x[..., 1:3] - ab) * mask) / tf.maximum(covered, 1e-6)
        confidence = tf.cast(covered > 0, tf.float32)
        l_small = pool(x[..., :1])
        # Each neighbour's step factor (edge x distance decay) depends on L only.
        padded_l = tf.pad(l_small, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC")
        size = tf.shape(l_small)
        gains = []
        for dy, dx in _NEIGHBOURS:
            shifted = padded_l[:, 1 + dy :, 1 + dx :][:, : size[1], : size[2]]
            distance = self.factor * (dy * dy + dx * dx) ** 0.5
            gains.append(
                tf.exp(-tf.square((l_small - shifted) / self.edge))
                * self.decay**distance
            )
        gains = tf.stack(gains)  # (8, batch, h, w, 1)

        def neighbours(t):
            padded = tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]])  # zeros: no hint
            return tf.stack(
                [
                    padded[:, 1 + dy :, 1 + dx :][:, : size[1], : size[2]]
                    for dy, dx in _NEIGHBOURS
                ]
            )

        def step(_, state):
            conf, corr = state
            candidates = tf.concat([conf[tf.newaxis], gains * neighbours(conf)], 0)
            corrections = tf.concat([corr[tf.newaxis], neighbours(corr)], 0)
            best = tf.one_hot(tf.argmax(candidates[..., 0], axis=0), 9, axis=0)
            return (
                tf.reduce_max(candidates, axis=0),
                tf.reduce_sum(best[..., tf.newaxis] * corrections, axis=0),
            )

        confidence, correction = keras.ops.fori_loop(
            0, self.steps, step, (confidence, correction)
        )
        spread = tf.image.resize(
            correction * confidence, tf.shape(ab)[1:3], method="bilinear"
        )
        return tf.clip_by_value(ab + spread, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        config = super().get_config()
        config.update(
            steps=self.steps, edge=self.edge, decay=self.decay, factor=self.factor
        )
        return config


def _check(name, value, types, ok):
    if isinstance(value, bool) or not isinstance(value, types) or not ok(value):
        raise ValueError(f"HintPropagation {name} out of range: {value!r}")


def add_hint_propagation(model, **options):
    """`model` (a hinted generator) followed by `HintPropagation(**options)`: the
    same inputs, and the same output wherever no hint is given.

    Raises:
        ValueError: `model` takes no hints, or already ends with the propagation.
    """
    from colorization.models.registry import is_hinted

    if not is_hinted(model):
        raise ValueError(f"model {model.name!r} takes no hints: nothing to propagate")
    if isinstance(model.layers[-1], HintPropagation):
        raise ValueError(f"model {model.name!r} already propagates its hints")
    inputs = keras.Input(model.inputs[0].shape[1:], name="L")
    ab = model(inputs)
    out = HintPropagation(name="hint_propagation", **options)([inputs, ab])
    return keras.Model(inputs, out, name=model.name)
