"""Spectral normalization (Miyato et al. 2018) as a Keras layer wrapper.

Why not `keras.layers.SpectralNormalization` (Keras 3.15)? It works under
tf.distribute and serializes, but it writes the normalized kernel back into the
trainable kernel on every training call. Under `mixed_bfloat16` that write goes
through the layer's autocast, so the float32 master kernel is rounded to bfloat16 on
every step and small optimizer updates are lost. It also lets no gradient through the
division by sigma. This wrapper leaves the kernel alone: it divides it by the spectral
norm estimate in float32 on every call (gradients flow through W / sigma(W), with u
and v held constant as in the paper) and only updates the power-iteration vector `u`.
"""

import keras
from keras import ops


def _l2_normalize(x, epsilon):
    return x * ops.rsqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


@keras.saving.register_keras_serializable(package="colorization")
class SpectralNormalization(keras.layers.Wrapper):
    """Divides the kernel of a wrapped `Conv2D` or `Dense` by its spectral norm.

    The largest singular value of the kernel, reshaped to (fan_in, filters), is
    estimated by power iteration from a persistent vector `u`, which is updated only
    when `training=True`. Inference uses the stored `u` without updating it, so a saved
    and reloaded model gives the same outputs.

    Args:
        layer: A channels-last `keras.layers.Conv2D` or `keras.layers.Dense`.
        power_iterations: Power-iteration steps per call.
        epsilon: Lower bound of squared norms, to avoid dividing by zero.
        **kwargs: Base layer keyword arguments such as `name`.
    """

    def __init__(self, layer, power_iterations=1, epsilon=1e-12, **kwargs):
        super().__init__(layer, **kwargs)
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            raise TypeError(
                "SpectralNormalization wraps a Conv2D or Dense layer, got "
                f"{type(layer).__name__}."
            )
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError("SpectralNormalization needs a channels_last Conv2D.")
        if power_iterations < 1:
            raise ValueError(
                f"power_iterations must be at least 1, got {power_iterations}."
            )
        self.power_iterations = power_iterations
        self.epsilon = epsilon

    def build(self, input_shape):
        super().build(input_shape)
        # float32 and not autocast: the estimate must not lose precision under
        # mixed precision.
        self.vector_u = self.add_weight(
            shape=(1, self.layer.kernel.shape[-1]),
            initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False,
            name="vector_u",
            dtype="float32",
            autocast=False,
        )

    def normalized_kernel(self, training=False):
        """Returns the kernel divided by its estimated spectral norm, in float32.

        Args:
            training: If true, store the power-iteration vector for the next call.
        """
        kernel = ops.cast(self.layer.kernel, "float32")
        weights = ops.reshape(kernel, (-1, kernel.shape[-1]))  # (fan_in, filters)
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(u, ops.transpose(weights)), self.epsilon)
            u = _l2_normalize(ops.matmul(v, weights), self.epsilon)
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(v)
        sigma = ops.matmul(ops.matmul(v, weights), ops.transpose(u))  # (1, 1)
        if training:
            self.vector_u.assign(u)
        return kernel / ops.maximum(sigma, self.epsilon)

    def call(self, inputs, training=None):
        kernel = ops.cast(self.normalized_kernel(bool(training)), inputs.dtype)
        if isinstance(self.layer, keras.layers.Conv2D):
            outputs = self.layer.convolution_op(inputs, kernel)
        else:
            outputs = ops.matmul(inputs, kernel)
        if self.layer.use_bias:
            outputs = outputs + ops.cast(self.layer.bias, outputs.dtype)
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(power_iterations=self.power_iterations, epsilon=self.epsilon)
        return config
