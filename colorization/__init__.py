"""Automatic colorization of black-and-white photos with Keras.

Subpackages are imported explicitly (``colorization.models``,
``colorization.losses``) so that importing this package stays cheap and does not
start TensorFlow.
"""
