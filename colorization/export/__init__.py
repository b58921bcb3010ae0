"""Exports of a colorizer: a SavedModel (`saved_model`), ONNX and TFLite
(`portable`, `portable_graph`), and several models packed into one (`ensemble`)."""
