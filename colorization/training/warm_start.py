"""Start a training run from the weights of a trained model (`--init-from`).

A long schedule outlives sessions and workdirs: when a workdir is lost, the next run
starts from the last model that was committed (the shipped default) instead of from
scratch. It also grows a one-head model into a two-head one: the layers of the new
generator are matched by name and weight shapes, so the trunk and the head that
exist keep their weights and the new head starts fresh. And it grows an automatic
model into a hinted one (`data_pipeline.hints`): a convolution whose kernel has more
input channels than the source's (the first one, which now also takes the hint
channels) keeps the source's kernel on the first channels and gets zeros on the new
ones, so the new model starts as exactly the old one, whatever the new inputs hold.
The other way, a hinted model narrows into an automatic one: that convolution keeps
the kernel of its first (L) channel only, so the new model is exactly the hinted one
given no hint (zeros in the hint channels, whatever their gain).

    generator = build_generator(config.generator)
    report = copy_weights(generator, load_model("colorization/assets/default.keras"))
    print(report.summary())
"""

import dataclasses

import keras
import numpy as np

from colorization.models.layers import nested_layers


@dataclasses.dataclass
class CopyReport:
    """Which of the target's layers with weights got them, and which did not."""

    copied: list
    missing: list  # no source layer of that name
    mismatched: list  # a source layer of that name, with other weight shapes
    widened: list = dataclasses.field(default_factory=list)  # new input channels at 0
    narrowed: list = dataclasses.field(default_factory=list)  # first channels kept

    def summary(self):
        """One line for the log."""
        line = f"{len(self.copied)} layers initialised"
        if self.widened:
            line += f"; new input channels at zero: {', '.join(self.widened)}"
        if self.narrowed:
            line += f"; first input channels only: {', '.join(self.narrowed)}"
        if self.missing:
            line += f"; new: {', '.join(self.missing)}"
        if self.mismatched:
            line += f"; other shapes (kept new): {', '.join(self.mismatched)}"
        return line


def _layers_with_weights(model):
    """{name: layer} of the leaf layers that hold weights, nested models included."""
    found = {}
    for layer in nested_layers(model):
        if isinstance(layer, keras.Model) or not layer.weights:
            continue
        found[layer.name] = layer
    return found


def _source_model(model):
    """The model whose layers are copied: `model`, or the last member of an ensemble
    (`colorization.export.ensemble`). Members were trained apart, so a head of one does
    not fit the trunk of another; a layer without a match starts new."""
    from colorization.models.layers import ChromaPreservingMean

    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    means = (keras.layers.Average, ChromaPreservingMean)
    is_ensemble = len(members) > 1 and any(
        isinstance(layer, means) for layer in model.layers
    )
    return members[-1] if is_ensemble else model


def _resized_input(layer, values, shapes):
    """The source weights `values` of a convolution for `layer`, whose kernel takes
    another number of input channels (shapes as `shapes`): the source kernel on the
    first channels and zeros on the others when it has more, the source kernel's
    first channels when it has fewer. None if the shapes differ otherwise."""
    if type(layer) is not keras.layers.Conv2D or len(values) != len(shapes):
        return None
    kernel, *rest = values
    target = shapes[0]  # (height, width, input channels, filters)
    same_rest = [w.shape for w in rest] == shapes[1:]
    if kernel.shape[:2] + kernel.shape[3:] != target[:2] + target[3:] or not same_rest:
        return None
    extra = np.zeros((*target[:2], max(target[2] - kernel.shape[2], 0), target[3]))
    kernel = np.concatenate([kernel, extra.astype(kernel.dtype)], axis=2)
    return [kernel[:, :, : target[2]], *rest]


def copy_weights(target, source):
    """Copies into `target` the weights of every `source` layer of the same name and
    weight shapes, or of a convolution that takes more or fewer input channels in
    `target` (see `_resized_input`). From an ensemble, only its last member is read
    (the order `colorization.export.ensemble` was given its members).

    Returns:
        A CopyReport.

    Raises:
        ValueError: Not a single layer matched (the source is some other model).
    """
    available = _layers_with_weights(_source_model(source))
    report = CopyReport([], [], [])
    for name, layer in _layers_with_weights(target).items():
        origin = available.get(name)
        if origin is None:
            report.missing.append(name)
            continue
        values = origin.get_weights()
        shapes = [tuple(w.shape) for w in layer.weights]
        if [w.shape for w in values] != shapes:
            resized = _resized_input(layer, values, shapes)
            if resized is None:
                report.mismatched.append(name)
                continue
            grows = values[0].shape[2] < shapes[0][2]  # kernel input channels
            (report.widened if grows else report.narrowed).append(name)
            values = resized
        layer.set_weights(values)
        report.copied.append(name)
    if not report.copied:
        raise ValueError(
            f"no layer of model {source.name!r} matches the generator "
            f"{target.name!r}: --init-from needs a model of the same architecture"
        )
    return report
