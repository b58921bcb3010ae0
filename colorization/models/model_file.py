"""A `.keras` file that carries its own facts: one file is the whole model.

    from colorization.models.model_file import ModelFacts, load_model, model_facts
    save_model(generator, "colorizer.keras", ModelFacts(image_size=224, training=cfg))
    model = load_model("colorizer.keras")
    model_facts(model).image_size                # 224, wherever the file was copied

The facts (the network input size, and where known the training config and an
ensemble's members and mean) are the configuration of a `ModelFactsLayer`, an identity
layer right after the model's input. Keras writes and reads it like any other layer,
so the facts survive `model.save` and `keras.saving.load_model` as well. Blend,
temperature and hint support are already layers of the network, and the stride is
computed (`colorization.inference.graph.infer_stride`): they are not facts here.

Models written before the facts moved inside read them, with a deprecation line, from
the `.json` sidecar beside them (`MODEL.json`, or the `config.json` of a train.py
workdir). Re-saving such a model embeds them:

    colorization-embed-facts runs/old/model.keras
    colorization-embed-facts old.keras --size 256   # no sidecar at all
"""

import dataclasses
import json
import os
import sys

import keras

from data_pipeline import files

LAYER_NAME = "model_facts"
_WARNED = set()  # sidecars whose deprecation line was printed


class ModelNotFoundError(FileNotFoundError):
    """No model at the given path, or no default model installed."""


class NoSizeError(ValueError):
    """A model records no network input size and none was given."""


@dataclasses.dataclass(frozen=True)
class ModelFacts:
    """What a model file says about its network.

    Attributes:
        image_size: The longer side of the copy the network sees (its training size).
        training: The resolved training config (`ExperimentConfig` as a dict), if known.
        ensemble: For an ensemble, {"mean": "ab" or "chroma", "members": [the members'
            facts as dicts]}.
    """

    image_size: int
    training: dict | None = None
    ensemble: dict | None = None

    def __post_init__(self):
        size = self.image_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"image_size must be a positive integer, got {size!r}")

    def to_dict(self):
        return dataclasses.asdict(self)


@keras.saving.register_keras_serializable(package="colorization")
class ModelFactsLayer(keras.layers.Layer):
    """An identity layer whose configuration is the model's `ModelFacts`.

    Args:
        image_size: See `ModelFacts`.
        training: See `ModelFacts`.
        ensemble: See `ModelFacts`.
    """

    def __init__(self, image_size, training=None, ensemble=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(autocast=False, **kwargs)  # the input passes unchanged
        self.image_size = image_size
        self.training = training
        self.ensemble = ensemble

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "training": self.training,
            "ensemble": self.ensemble,
        }

    @property
    def facts(self):
        return ModelFacts(self.image_size, self.training, self.ensemble)


def _top_facts_layers(model):
    return [
        layer
        for layer in getattr(model, "layers", [])
        if isinstance(layer, ModelFactsLayer)
    ]


def model_facts(model):
    """The `ModelFacts` inside `model`, or None if it carries none.

    An ensemble's own facts win over its members'; a model nested in another (as
    `add_hint_propagation` does) lends the outer one its facts.
    """
    from colorization.models.layers import nested_layers

    if not hasattr(model, "layers"):  # a plain callable
        return None
    found = _top_facts_layers(model)
    if not found:
        found = [
            layer
            for layer in nested_layers(model)
            if isinstance(layer, ModelFactsLayer)
        ]
        if len(found) != 1:
            return None
    return found[0].facts


def with_facts(model, facts):
    """`model` (functional, one input) with `facts` inside; its layers are shared.

    A model that already carries facts has them replaced; any other gets a
    `ModelFactsLayer` right after its input, so that its own layers keep their order
    (a `HintPropagation` stays last) and its output is unchanged.
    """
    layer = ModelFactsLayer(**facts.to_dict(), name=LAYER_NAME)
    if _top_facts_layers(model):
        return _replace_facts(model, layer)
    return _insert_facts(model, layer)


def _replace_facts(model, layer):
    def swap(old):
        return layer if isinstance(old, ModelFactsLayer) else old  # others shared

    return keras.models.clone_model(model, clone_function=swap)


def _insert_facts(model, layer):
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} must have one input to carry facts")
    source = model.inputs[0]
    (input_layer,) = [
        old for old in model.layers if isinstance(old, keras.layers.InputLayer)
    ]
    inputs = keras.Input(
        batch_shape=source.shape, dtype=source.dtype, name=input_layer.name
    )
    checked = layer(inputs)
    # Functional.call on a symbolic tensor adds the model's layers to this graph
    # (shared, unnested), where calling the model would nest it as one layer.
    outputs = model.call([checked] if isinstance(model.input, list) else checked)
    return keras.Model(inputs, outputs, name=model.name)


def save_model(model, path, facts):
    """Writes `model` with `facts` inside to the `.keras` file `path`, whole or not at
    all (no sidecar is written)."""
    with files.atomic_path(os.fspath(path)) as temporary:
        with_facts(model, facts).save(temporary)


def load_model(path):
    """Loads a `.keras` colorizer with its facts.

    A model without facts inside gets them from a `.json` sidecar beside it (one
    deprecation line on stderr per path); `model_facts` of the result is None when
    there is none.

    Raises:
        ModelNotFoundError: No file at `path`.
        ValueError: The file is not a model (one line).
    """
    # The package's own layers register themselves with Keras when imported.
    from colorization.models import hint_propagation, layers, spectral_norm  # noqa: F401

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelNotFoundError(f"model file {path!r} does not exist")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:
        raise ValueError(f"cannot load model {path!r}: {error}") from error
    if model_facts(model) is None:
        facts = sidecar_facts(path)
        if facts is not None:
            model = with_facts(model, facts)
    return model


def _sidecars(path):
    return (
        os.path.splitext(path)[0] + ".json",
        os.path.join(os.path.dirname(path), "config.json"),
    )


def sidecar_facts(path):
    """The facts of an old model at `path` from its sidecar, or None; the first time
    for a path, one deprecation line on stderr says how to embed them."""
    for sidecar in _sidecars(path):
        if not os.path.isfile(sidecar):
            continue
        with open(sidecar, encoding="utf-8") as f:
            values = json.load(f)
        size = values.get("image_size") or values.get("data", {}).get("image_size")
        if not isinstance(size, int):
            continue
        _warn_once(path, sidecar)
        if "members" in values:
            ensemble = {"mean": values.get("mean", "ab"), "members": values["members"]}
            return ModelFacts(size, ensemble=ensemble)
        training = {key: value for key, value in values.items() if key != "image_size"}
        return ModelFacts(size, training=training)
    return None


def _warn_once(path, sidecar):
    key = os.path.abspath(path)
    if key in _WARNED:
        return
    _WARNED.add(key)
    print(
        f"warning: {path}: reading its facts from the sidecar {sidecar} is deprecated; "
        f"embed them in the model file: colorization-embed-facts {path}",
        file=sys.stderr,
    )


def model_size(model, name):
    """The network input size `model` (called `name` in the error) records.

    Raises:
        NoSizeError: It records none (one line).
    """
    facts = model_facts(model)
    if facts is None:
        raise NoSizeError(
            f"model {name} records no input size (no facts inside, no .json sidecar "
            "beside it): give the size it was trained at (--size N)"
        )
    return facts.image_size


def portable_config(values):
    """A run's config (a dict) without paths of the machine it was trained on: the
    encoder weights are inside the model file, and an absolute path keeps only its
    name."""
    if isinstance(values, dict):
        values = {key: portable_config(value) for key, value in values.items()}
        if "encoder_weights" in values:
            values["encoder_weights"] = None
        return values
    if isinstance(values, list):
        return [portable_config(value) for value in values]
    if isinstance(values, str) and os.path.isabs(values):
        return os.path.basename(values)
    return values


def embed_facts(path, size=None):
    """Re-saves the model at `path` with its facts inside: those of its sidecar, or
    `size` (which wins). Returns the facts written.

    Raises:
        NoSizeError: No sidecar and no `size`.
    """
    model = load_model(path)
    facts = model_facts(model)
    if size is not None and facts is not None:
        facts = dataclasses.replace(facts, image_size=size)
    elif size is not None:
        facts = ModelFacts(size)
    else:
        model_size(model, repr(path))  # raises NoSizeError without facts
    save_model(model, path, facts)
    return facts
