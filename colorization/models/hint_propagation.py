"""Spread each colour hint to the pixels near it of similar lightness.

A hinted network learns to follow hints from simulated ones (`data_pipeline.hints`),
but a fine-tune of a pretrained automatic model learns it slowly: the encoder was
never taught to carry colour. This layer does the spreading without learning, on the
assumption of Levin et al. 2004 ("Colorization using optimization"): pixels near each
other with similar lightness have similar colour. The correction a hint asks for (its
ab minus the network's ab there) is given to the cells around it, weighted by
closeness and by likeness of L, as a joint bilateral filter guided by L weighs. The
network's own colour stays wherever no hint reaches; with no hint the output is
exactly the network's.

The defaults (reach 96 px, edge 0.2) were chosen with `scripts/hint_table.py` on
validation photos against other reaches and an edge-aware geodesic spread; the figures
are in docs/experiments.md.

    model = add_hint_propagation(load_model("runs/hints/model.keras"))
"""

import keras


@keras.saving.register_keras_serializable(package="colorization")
class HintPropagation(keras.layers.Layer):
    """ab_out = ab + the hints' corrections, spread to near cells of similar L.

    On a grid of `factor` x `factor` pixel cells, every hinted cell i (the mean of
    its hinted pixels) gives its correction c_i (hint ab minus the network's ab) to
    every cell p of its image with the weight
    w_i(p) = exp(-|p - p_i|**2 / (2 reach**2)) * exp(-(L_p - L_i)**2 / (2 edge**2)),
    near and of similar lightness, as a bilateral filter weighs. A cell takes the
    w-weighted mean of the corrections, times its largest w (1 at a hint, 0 far from
    every hint). The corrections are upsampled bilinearly and added.

    Args:
        reach: Distance (network pixels) at which a hint's weight falls to exp(-1/2).
        edge: L_norm difference (L_norm = L / 50 - 1) at which it falls to exp(-1/2).
        factor: Cell side in pixels; the network's H and W are multiples of it.
        **kwargs: Base layer keyword arguments such as `name`.

    Call args:
        inputs: [x, ab]: x the hinted network's input (L_norm, hint a, hint b, hint
            mask), ab its output (ab_norm), both (batch, H, W, ...).
    """

    def __init__(self, reach=96.0, edge=0.2, factor=4, **kwargs):
        super().__init__(**kwargs)
        _check("reach", reach, (int, float), lambda v: v > 0)
        _check("edge", edge, (int, float), lambda v: v > 0)
        _check("factor", factor, int, lambda v: v >= 1)
        self.reach, self.edge, self.factor = float(reach), float(edge), factor

    def call(self, inputs):
        import tensorflow as tf  # the package runs on the TensorFlow backend

        x, ab = inputs
        x, ab = tf.cast(x, tf.float32), tf.cast(ab, tf.float32)
        pool = lambda t: tf.nn.avg_pool2d(t, self.factor, self.factor, "VALID")  # noqa: E731
        mask = x[..., 3:4]
        covered = pool(mask)[..., 0]  # (batch, h, w)
        corrections = pool((x[..., 1:3] - ab) * mask) / tf.maximum(
            covered[..., tf.newaxis], 1e-6
        )
        lightness = pool(x[..., :1])[..., 0]
        hinted = tf.where(covered > 0)  # (n, 3): image, row, column of each hint cell
        image = hinted[:, 0]
        rows = tf.cast(tf.range(tf.shape(covered)[1]), tf.float32)
        columns = tf.cast(tf.range(tf.shape(covered)[2]), tf.float32)
        row_of, column_of = (tf.cast(hinted[:, k], tf.float32) for k in (1, 2))
        scale = 2 * (self.reach / self.factor) ** 2
        spatial = tf.exp(
            -tf.square(rows - row_of[:, tf.newaxis])[:, :, tf.newaxis] / scale
            - tf.square(columns - column_of[:, tf.newaxis])[:, tf.newaxis, :] / scale
        )  # (n, h, w)
        own_lightness = tf.gather_nd(lightness, hinted)[:, tf.newaxis, tf.newaxis]
        weights = spatial * tf.exp(
            -tf.square(tf.gather(lightness, image) - own_lightness) / (2 * self.edge**2)
        )
        count = tf.shape(covered, out_type=tf.int64)[0]
        total = tf.math.unsorted_segment_sum(weights, image, count)
        mean = (
            tf.math.unsorted_segment_sum(
                weights[..., tf.newaxis]
                * tf.gather_nd(corrections, hinted)[:, tf.newaxis, tf.newaxis],
                image,
                count,
            )
            / tf.maximum(total, 1e-12)[..., tf.newaxis]
        )
        strength = tf.maximum(tf.math.unsorted_segment_max(weights, image, count), 0.0)
        spread = tf.image.resize(
            mean * strength[..., tf.newaxis], tf.shape(ab)[1:3], method="bilinear"
        )
        return tf.clip_by_value(ab + spread, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        config = super().get_config()
        config.update(reach=self.reach, edge=self.edge, factor=self.factor)
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


def without_hint_propagation(model):
    """The network inside a model `add_hint_propagation` made (the same output
    without hints, and no data-dependent shapes: what ONNX and TFLite exports take);
    any other model as it is."""
    layers = getattr(model, "layers", None)  # plain callables pass through
    if not layers or not isinstance(layers[-1], HintPropagation):
        return model
    (network,) = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return network
