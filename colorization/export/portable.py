"""ONNX and TFLite exports of the whole colorizer: uint8 RGB in, uint8 RGB out.

The exported graph is everything `Colorizer` does (colorization.export.portable_graph), so a
user needs only a runtime (onnxruntime, LiteRT) and an image library, no Lab maths:

    images uint8 [N, H, W, 3] (any H and W) -> rgb uint8 [N, H, W, 3], the L of the input

Each model file gets a JSON beside it (`colorizer.onnx.json`) with its inputs, outputs,
network size and stride, and the steps inside the graph.

Routes, as found with TensorFlow 2.21 and Keras 3.15:
- ONNX: `tf2onnx.convert.from_function` (tf2onnx 1.17, opset 17) on a `tf.function`
  of the whole graph. Keras' own `model.export(path, format="onnx")` works for the
  network (it calls the same tf2onnx function; the shipped model came out within
  3e-7 of Keras) but converts only its `call`, L_norm -> ab_norm, so every user would
  have to rewrite the resizing, Lab and recombination. Colorizer's own graph does not
  convert as it is (see colorization/export/portable_graph.py for what was changed and why).
  After conversion, softmaxes that tf2onnx moved to the channels-first axis are put
  back on the last axis (onnxruntime is 40 times slower on any other axis).
- TFLite: `tf.lite.TFLiteConverter.from_concrete_functions` of the same graph, builtin
  ops only (no TF Select), float32 or float16 weights. Two converter problems are
  worked around: with the Keras model as the `trackable_obj` the weights come out
  as garbage (255 levels off), so a module holding the captured variables is passed;
  and the converter loses the channel count of Keras' `UpSampling2D` (nearest, a
  `tf.repeat`) when H and W are unknown, failing with "'tf.Conv2D' op is neither a
  custom op nor a flex op", so the converted copy uses a `ResizeNearestNeighbor`
  there. `tf.lite.Interpreter` still runs the result in TF 2.21 but is deprecated
  for LiteRT (`ai_edge_litert.interpreter.Interpreter`).
"""

import importlib.metadata
import os

import keras
import tensorflow as tf

from colorization.export.portable_graph import portable_colorize
from colorization.models.layers import nested_layers
from data_pipeline import files

ONNX_OPSET = 17
TFLITE_DTYPES = ("float32", "float16")
_INPUT, _OUTPUT = "images", "rgb"


def _graph(models, size, stride):
    @tf.function(
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name=_INPUT)],
        autograph=False,  # no Python control flow; saves seconds of tracing
    )
    def colorize(images):
        return {_OUTPUT: portable_colorize(models, images, size, stride)}

    return colorize


class _NearestUpSampling2D(keras.layers.Layer):
    """`UpSampling2D` (nearest, channels last) as one `ResizeNearestNeighbor`, whose
    output keeps its channel count in the TFLite converter. Export use only."""

    def __init__(self, factors, **kwargs):
        super().__init__(**kwargs)
        self.factors = tuple(factors)

    def call(self, inputs):
        size = tf.shape(inputs)[1:3] * tf.constant(self.factors, tf.int32)
        return tf.image.resize(inputs, size, method="nearest")


def _is_nearest_upsampling(layer):
    return (
        isinstance(layer, keras.layers.UpSampling2D)
        and layer.interpolation == "nearest"
        and layer.data_format == "channels_last"
    )


def _tflite_network(model):
    """`model`, or a copy sharing its weights with `_NearestUpSampling2D` layers."""
    if not any(_is_nearest_upsampling(layer) for layer in nested_layers(model)):
        return model

    def swap(layer):
        if _is_nearest_upsampling(layer):
            return _NearestUpSampling2D(layer.size, name=layer.name)
        return layer  # shared, weights and all

    return keras.models.clone_model(model, clone_function=swap, recursive=True)


def _spec(colorizer, fmt, model_file, source, **extra):
    """The JSON written beside an export: what its graph does, inputs, outputs."""
    return {
        "format": fmt,
        "file": model_file,
        "source_model": source,
        "models_averaged": len(colorizer.models),
        **extra,
        "inputs": {
            _INPUT: {
                "dtype": "uint8",
                "shape": ["N", "H", "W", 3],
                "meaning": "sRGB photos of any size; only their CIE L is used (a grey "
                "photo is three equal channels)",
            }
        },
        "outputs": {
            _OUTPUT: {
                "dtype": "uint8",
                "shape": ["N", "H", "W", 3],
                "meaning": "colorized sRGB, same size, with the L of the input",
            }
        },
        "network": {
            "size": colorizer.size,
            "stride": colorizer.stride,
            "input": _network_input_text(colorizer),
            "output": "ab_norm = ab / 128, float32 (N, h', w', 2)",
        },
        "in_graph": [
            "copy with the longer side = size, sides round(side * size / max(H, W)) "
            "and at least 1: area resize when max(H, W) > size, else bicubic "
            "(Keys a = -0.5, half-pixel centres)",
            "CIE L (sRGB, D65) of the copy, L_norm = L / 50 - 1, padded at the bottom "
            "and right to a multiple of stride with L_norm = -1",
            "the network(s); predictions averaged, padding cropped, ab = 128 * ab_norm",
            "ab resized bilinearly (half-pixel centres) to H x W",
            "joined with the full-resolution L of the input, to sRGB; colours outside "
            "the gamut lose chroma at constant L; rounded to uint8",
        ],
    }


def _network_input_text(colorizer):
    if not colorizer.hinted:
        return "L_norm = L / 50 - 1, float32 (N, h', w', 1)"
    return (
        "L_norm = L / 50 - 1 and three hint channels (hint a, hint b, hint mask), "
        "float32 (N, h', w', 4); this graph feeds zeros there (no hint: automatic "
        "colorization); hints are in the SavedModel's 'hinted' signature"
    )


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _softmax_on_last_axis(model):
    """Rewrites each Softmax over another axis than the last of `model` (in place).

    tf2onnx's layout optimizer moves the bins head's softmax to axis 1 (channels
    first), and onnxruntime computes a softmax over any but the last axis about 40
    times slower (75 ms instead of 2 ms for the default model at 640 x 480). Each is
    replaced by transpose, flatten, softmax over the last axis, reshape and transpose
    back; the reshape stops onnxruntime's optimizer from moving the transposes back.
    """
    import onnx
    from onnx import helper

    inferred = onnx.shape_inference.infer_shapes(model).graph
    ranks = {
        value.name: len(value.type.tensor_type.shape.dim)
        for value in list(inferred.value_info) + list(inferred.input)
        if value.type.tensor_type.HasField("shape")
    }
    nodes = []
    for node in model.graph.node:
        rank = ranks.get(node.input[0]) if node.op_type == "Softmax" else None
        axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
        if not rank or axis % rank == rank - 1:
            nodes.append(node)
            continue
        perm = [i for i in range(rank) if i != axis % rank] + [axis % rank]
        name = node.name
        nodes += [
            helper.make_node("Transpose", node.input[:1], [name + "_t"], perm=perm),
            helper.make_node("Shape", [name + "_t"], [name + "_shape"]),
            helper.make_node("Flatten", [name + "_t"], [name + "_2d"], axis=rank - 1),
            helper.make_node("Softmax", [name + "_2d"], [name + "_p"], axis=1),
            helper.make_node("Reshape", [name + "_p", name + "_shape"], [name + "_r"]),
            helper.make_node(
                "Transpose",
                [name + "_r"],
                list(node.output),
                perm=[perm.index(i) for i in range(rank)],
                name=name,
            ),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def export_onnx(colorizer, path, source=None):
    """Writes `colorizer` as an ONNX model at `path` and its JSON at `path + ".json"`.

    Raises:
        ImportError: tf2onnx or onnx are not installed.
    """
    try:
        import onnx
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "ONNX export needs tf2onnx and onnx: pip install 'keras-colorization[onnx]'"
        ) from error
    graph = _graph(colorizer.models, colorizer.size, colorizer.stride)
    spec = _spec(
        colorizer,
        "onnx",
        os.path.basename(path),
        source,
        converter={"tf2onnx": _version("tf2onnx"), "opset": ONNX_OPSET},
    )
    model, _ = tf2onnx.convert.from_function(
        graph, input_signature=graph.input_signature, opset=ONNX_OPSET
    )
    with files.atomic_path(path) as temporary:
        onnx.save(_softmax_on_last_axis(model), temporary)
        files.write_json(path + ".json", spec)
    return path


def export_tflite(colorizer, path, dtype="float32", source=None):
    """Writes `colorizer` as a TFLite model (builtin ops only) at `path` and its JSON
    at `path + ".json"`.

    Args:
        dtype: "float32", or "float16" for weights stored in half precision (half the
            file; TFLite computes in float32 on CPUs without fp16 arithmetic).
    """
    if dtype not in TFLITE_DTYPES:
        raise ValueError(f"TFLite weights are one of {TFLITE_DTYPES}, not {dtype!r}")
    networks = [_tflite_network(model) for model in colorizer.models]
    graph = _graph(networks, colorizer.size, colorizer.stride)
    concrete = graph.get_concrete_function()
    # The converter saves the function and `holder` as a SavedModel and converts that.
    # Given the Keras model as the holder, the weights came out as garbage (255 levels
    # off); holding the variables the function captures, as Keras' ExportArchive does,
    # saves them correctly.
    holder = tf.Module()
    holder.captured = list(concrete.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if dtype == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    spec = _spec(
        colorizer,
        "tflite",
        os.path.basename(path),
        source,
        weights=dtype,
        signature="serving_default",
        converter={"tensorflow": tf.__version__},
    )
    with files.atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            f.write(flatbuffer)
        files.write_json(path + ".json", spec)
    return path
