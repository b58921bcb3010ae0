"""Small custom layers the generators need and Keras does not have."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="colorization")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring the border (without repeating it).

    Used before the 'valid' convolutions of the ResNet generator so that every
    convolution keeps the spatial size without the dark frame zero padding adds.

    Args:
        padding: Rows and columns added on each side.
        **kwargs: Base layer keyword arguments such as `name`.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ValueError(f"padding must be a non-negative int, got {padding!r}.")
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (
            batch,
            None if height is None else height + grow,
            None if width is None else width + grow,
            channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding)
        return config


@keras.saving.register_keras_serializable(package="colorization")
class BilinearUpSampling2D(keras.layers.Layer):
    """Bilinear upsampling by an integer factor, for any (also unknown) H and W.

    Keras' `UpSampling2D(interpolation="bilinear")` needs static sizes and fails inside
    a `tf.function` whose input height and width are unknown, which is how inference
    runs on photos of every size.

    Args:
        factor: Integer scale of height and width.
        **kwargs: Base layer keyword arguments such as `name`.
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValueError(f"factor must be a positive int, got {factor!r}.")
        self.factor = factor

    def call(self, inputs):
        import tensorflow as tf  # the package runs on the TensorFlow backend

        size = tf.shape(inputs)[1:3] * self.factor
        resized = tf.image.resize(inputs, size, method="bilinear")
        return tf.cast(resized, inputs.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        scale = self.factor
        return (
            batch,
            None if height is None else height * scale,
            None if width is None else width * scale,
            channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


@keras.saving.register_keras_serializable(package="colorization")
class HintGain(keras.layers.Layer):
    """Multiplies every channel but the first (L) by a constant `gain`.

    A reparametrisation for fine-tuning an automatic model with hints: the hint
    channels' weights in the next convolution start at zero, and with Adam each weight
    moves by about the learning rate per step whatever its gradient's scale, so the
    gain is their learning rate multiplied by `gain`. Zero weights still give exactly
    the automatic model.

    Args:
        gain: Positive factor on channels 1 and up.
        **kwargs: Base layer keyword arguments such as `name`.
    """

    def __init__(self, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or gain <= 0:
            raise ValueError(f"gain must be a positive number, got {gain!r}.")
        self.gain = float(gain)

    def call(self, inputs):
        first, rest = inputs[..., :1], inputs[..., 1:]
        return keras.ops.concatenate([first, rest * self.gain], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(gain=self.gain)
        return config


@keras.saving.register_keras_serializable(package="colorization")
class PooledHints(keras.layers.Layer):
    """The hints of a hinted input, at 1 / `stride` of its resolution, for a decoder.

    Takes the generator's input (L, hint a, hint b, hint mask) and gives, per cell of
    `stride` x `stride` pixels, the mean hint ab over the cell's hinted pixels and
    whether the cell holds a hint (1 or 0), both multiplied by `gain` (see
    `HintGain`). A point hint covers a fraction of a coarse cell; the mean over its
    own pixels keeps its colour whole instead of diluting it by the cell's area.

    Args:
        stride: Cell side in pixels; the input's H and W are multiples of it.
        gain: Positive factor on the outputs.
        **kwargs: Base layer keyword arguments such as `name`.
    """

    def __init__(self, stride=2, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}.")
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or gain <= 0:
            raise ValueError(f"gain must be a positive number, got {gain!r}.")
        self.stride = stride
        self.gain = float(gain)

    def call(self, inputs):
        ab, mask = inputs[..., 1:3], inputs[..., 3:4]
        pool = lambda x: keras.ops.average_pool(x, self.stride, self.stride, "valid")  # noqa: E731
        covered = pool(mask)
        mean_ab = pool(ab * mask) / keras.ops.maximum(covered, 1e-6)
        has_hint = keras.ops.cast(covered > 0, inputs.dtype)
        return keras.ops.concatenate([mean_ab * has_hint, has_hint], -1) * self.gain

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        cell = self.stride
        return (
            batch,
            None if height is None else height // cell,
            None if width is None else width // cell,
            3,
        )

    def get_config(self):
        config = super().get_config()
        config.update(stride=self.stride, gain=self.gain)
        return config


@keras.saving.register_keras_serializable(package="colorization")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras' BatchNormalization whose training pass is TensorFlow's fused kernel.

    Keras 3 normalises with a dozen element-wise ops (moments, then the affine
    transform) and their gradients; TensorFlow's fused batch norm (oneDNN's on a
    CPU) does the same in one op each way, 2-2.5x faster on the decoder's maps here
    (`benchmarks/train_step.py`). Same weights, same moving-average update, the
    same values up to float rounding; inference, a synchronised layer, a mask and
    anything but a 4-D channels-last map take Keras' own path.
    """

    def call(self, inputs, training=None, mask=None):
        import tensorflow as tf  # the package runs on the TensorFlow backend

        fused = (
            training
            and self.trainable
            and mask is None
            and not self.synchronized
            and not self.renorm
            and self.center
            and self.scale
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )
        if not fused:
            return super().call(inputs, training=training, mask=mask)
        x = tf.cast(inputs, tf.float32)
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            x,
            tf.cast(self.gamma, tf.float32),
            tf.cast(self.beta, tf.float32),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        # The kernel returns the unbiased variance; Keras keeps the biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), tf.float32)
        variance = variance * (count - 1.0) / tf.maximum(count, 2.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(
            self.moving_variance * momentum + variance * (1.0 - momentum)
        )
        return tf.cast(y, self.compute_dtype)


@keras.saving.register_keras_serializable(package="colorization")
class GlobalModulation(keras.layers.Layer):
    """Fuses an image-level vector into a feature map: `x * (1 + scale) + shift`.

    Iizuka et al. (SIGGRAPH 2016) fuse the global features of the whole image into
    every pixel's; here a per-channel scale and shift (FiLM), computed from the
    pooled top features, modulate each decoder level, so a level's colours can
    follow a decision made for the whole image (a warm interior, a cold sea). With
    zero parameters it is the identity.

    Call it on `[x, params]`: x (batch, H, W, C) and params (batch, 2 C), the scales
    first.
    """

    def call(self, inputs):
        x, params = inputs
        params = ops.cast(params, x.dtype)[:, None, None, :]
        scale, shift = ops.split(params, 2, axis=-1)
        return x * (1.0 + scale) + shift

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="colorization")
class AnnealedMean(keras.layers.Layer):
    """Zhang et al.'s annealed mean: logits over ab bins -> one ab per pixel.

    `softmax(logits / temperature)` re-sharpens the predicted distribution (T = 1 is
    its mean, which is desaturated; T -> 0 its mode, which is patchy; 0.38 in the
    paper) and its expectation over the bin centres is the ab. The centres are part
    of the layer's config, so a saved model does not depend on how they were found.

    Args:
        centres: (Q, 2) bin centres in model units (ab / 128), as nested lists or an
            array.
        temperature: The annealing temperature, > 0.
        **kwargs: Base layer keyword arguments such as `name` and `dtype`.
    """

    def __init__(self, centres, temperature=0.38, **kwargs):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}.")
        self.centres = [[float(a), float(b)] for a, b in centres]
        self.temperature = float(temperature)

    # While a guided graph is traced: a `colorization.inference.guidance.TracedGuide`
    # that gives the output in place of the arithmetic below.
    guide = None

    def call(self, logits):
        logits = ops.cast(logits, "float32")
        if self.guide is not None:
            return self.guide.annealed_mean(self, logits)
        probabilities = ops.softmax(logits / self.temperature, axis=-1)
        centres = ops.convert_to_tensor(self.centres, dtype="float32")
        return ops.cast(ops.matmul(probabilities, centres), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2)

    def get_config(self):
        config = super().get_config()
        config.update(centres=self.centres, temperature=self.temperature)
        return config


def set_temperature(model, temperature):
    """Sets the annealed-mean temperature of every `AnnealedMean` layer of `model`.

    Lower is more saturated, higher closer to the distribution's (greyer) mean. Call it
    before the model is traced (for example right after loading).

    Raises:
        ValueError: `model` has no bins head, or the temperature is not positive.
    """
    if not temperature > 0:
        raise ValueError(f"the temperature must be > 0, got {temperature!r}")
    _set_on_layers(
        model,
        AnnealedMean,
        "temperature",
        float(temperature),
        f"model {model.name!r} predicts ab directly: a temperature applies only to "
        "models trained with --loss bins",
    )


def nested_layers(model):
    """Every layer inside `model`, depth first: those of nested models and the layer
    a wrapper (`SpectralNormalization`) holds too; `model` itself is not included."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from nested_layers(layer)
        elif isinstance(layer, keras.layers.Wrapper):
            yield layer.layer


def _set_on_layers(model, layer_class, attribute, value, missing_message):
    """Sets `attribute` of every `layer_class` layer of `model` (nested ones too)."""
    layers = [layer for layer in nested_layers(model) if isinstance(layer, layer_class)]
    if not layers:
        raise ValueError(missing_message)
    for layer in layers:
        setattr(layer, attribute, value)


@keras.saving.register_keras_serializable(package="colorization")
class HeadBlend(keras.layers.Layer):
    """The output of a two-head model: `weight * bins_ab + (1 - weight) * l1_ab`.

    The classification head (annealed mean over ab bins) gives vivid colour that is
    sometimes the wrong hue; the L1 regression head gives the right hue, washed out.
    Blending them is what the two-model ensemble did, inside one network. `weight` is
    part of the layer's config and can be changed after training (`set_blend`).

    Args:
        weight: Weight of the bins head, in [0, 1].
        **kwargs: Base layer keyword arguments such as `name` and `dtype`.
    """

    def __init__(self, weight=0.5, **kwargs):
        super().__init__(**kwargs)
        _check_blend(weight)
        self.weight = float(weight)

    guide = None  # as `AnnealedMean.guide`

    def call(self, inputs):
        bins_ab, l1_ab = (ops.cast(x, "float32") for x in inputs)
        if self.guide is not None:
            return ops.cast(self.guide.blend(self, bins_ab, l1_ab), self.compute_dtype)
        blended = self.weight * bins_ab + (1.0 - self.weight) * l1_ab
        return ops.cast(blended, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(weight=self.weight)
        return config


def _check_blend(weight):
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ValueError(f"the blend weight must be a number, got {weight!r}")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the blend weight must be in [0, 1], got {weight!r}")


def set_blend(model, weight):
    """Sets the bins-head weight of every `HeadBlend` layer of `model` (1: the bins
    head alone, vivid; 0: the L1 head alone, accurate and washed out). Call it before
    the model is traced (for example right after loading).

    Raises:
        ValueError: `model` has no two-head output, or the weight is not in [0, 1].
    """
    _check_blend(weight)
    _set_on_layers(
        model,
        HeadBlend,
        "weight",
        float(weight),
        f"model {model.name!r} has one head: a blend weight applies only to "
        "two-head models (head 'dual')",
    )


@keras.saving.register_keras_serializable(package="colorization")
class ChromaPreservingMean(keras.layers.Layer):
    """The members' mean ab direction with their mean chroma: an ensemble average that
    does not desaturate.

    A plain mean of ab vectors that disagree in hue is shorter than any of them
    (blue + yellow average to grey). This keeps the mean's hue and gives it the mean
    of the members' chroma, `|mean_i ab_i|` scaled to `mean_i |ab_i|`. Where the
    members point nearly opposite ways the direction means little, so the gain is
    capped at `max_gain` (the output then stays paler, as the plain mean would).

    Args:
        max_gain: Largest factor by which the plain mean's chroma is raised.
        **kwargs: Base layer keyword arguments such as `name` and `dtype`.
    """

    def __init__(self, max_gain=2.0, **kwargs):
        super().__init__(**kwargs)
        if not max_gain >= 1.0:
            raise ValueError(f"max_gain must be >= 1, got {max_gain!r}")
        self.max_gain = float(max_gain)

    def call(self, inputs):
        stacked = ops.stack([ops.cast(x, "float32") for x in inputs], axis=0)
        mean = ops.mean(stacked, axis=0)
        mean_chroma = ops.mean(ops.norm(stacked, axis=-1, keepdims=True), axis=0)
        chroma = ops.norm(mean, axis=-1, keepdims=True)
        gain = ops.minimum(mean_chroma / ops.maximum(chroma, 1e-6), self.max_gain)
        return ops.cast(mean * gain, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(max_gain=self.max_gain)
        return config
