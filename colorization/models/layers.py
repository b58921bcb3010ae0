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
