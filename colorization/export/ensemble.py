"""Pack several colorizers into one `.keras` model that averages their ab.

    colorization-ensemble out.keras runs/effnet-l1/last.keras runs/default/last.keras

(the command is `colorization.cli.ensemble`; this module is the library it calls.)

`Colorizer.load([a, b])` averages models at run time (the Klefbom-Mjoberg ensemble);
this writes the same average as one model file, so it ships, loads and exports like any
other. `--mean chroma` keeps the members' mean hue with their mean chroma instead of
the plain mean, which desaturates where members disagree (`ChromaPreservingMean`).
A regression model (L1: right hue, washed out) and a classification model (bins:
vivid, sometimes the wrong hue) average to colour that is both: see README, "Choosing
the recipe". The members must have been trained at the same image size; the
ensemble's file carries that size, its mean and the members' facts
(`colorization.models.model_file`). A hinted member (L and three hint
channels in, `data_pipeline.hints`) is given no hint: the ensemble takes L only.
"""

MEANS = ("ab", "chroma")


def _member_input(inputs, member):
    """L_norm for a member taking L alone; for a member taking more channels (a hinted
    one: L and the hint channels), L_norm and zeros there (no hint)."""
    import keras

    extra = member.inputs[0].shape[-1] - 1
    if not extra:
        return inputs
    return keras.ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, extra]])


def build_ensemble(members, name="ensemble", mean="ab"):
    """A functional model L_norm -> mean of the members' ab_norm, in float32.

    Args:
        members: Keras models mapping L_norm (batch, H, W, 1) to ab_norm
            (batch, H, W, 2), or hinted ones (L_norm and the hint channels, which
            get zeros); their layers are shared, not copied.
        name: The ensemble's name.
        mean: "ab", the plain mean of the ab vectors (the report's), or "chroma",
            their mean hue with their mean chroma (`ChromaPreservingMean`).
    """
    import keras

    from colorization.models.layers import ChromaPreservingMean

    if mean not in MEANS:
        raise ValueError(f"mean must be one of {MEANS}, got {mean!r}")

    if len(members) < 2:
        raise ValueError("an ensemble needs at least two models")
    inputs = keras.Input((None, None, 1), name="L")
    outputs = [
        # A uniquely named view of each member (two runs often share a model name).
        keras.Model(m.input, m.output, name=f"member{i + 1}_{m.name}")(
            _member_input(inputs, m)
        )
        for i, m in enumerate(members)
    ]
    if mean == "chroma":
        ab = ChromaPreservingMean(dtype="float32", name="ab")(outputs)
    else:
        ab = keras.layers.Average(dtype="float32", name="ab")(outputs)
    return keras.Model(inputs, ab, name=name)


def write_ensemble(output, paths, mean="ab"):
    """Loads the `.keras` models at `paths` and writes their ensemble to `output`
    (whole or not at all) with its facts inside: the members' input size, `mean` (how
    their ab are combined, see `build_ensemble`) and the members' facts.

    Returns:
        The ensemble's `ModelFacts`.

    Raises:
        ModelNotFoundError: a member is missing.
        ValueError: fewer than two members, a member that records no input size, or
            members trained at different sizes.
    """
    from colorization.models.model_file import (
        ModelFacts,
        load_model,
        model_facts,
        model_size,
        save_model,
    )

    members = [load_model(path) for path in paths]
    sizes = {model_size(model, repr(path)) for model, path in zip(members, paths)}
    if len(sizes) != 1:
        raise ValueError(f"the members were trained at different sizes {sorted(sizes)}")
    model = build_ensemble(members, mean=mean)
    facts = ModelFacts(
        image_size=sizes.pop(),
        ensemble={
            "mean": mean,
            "members": [model_facts(member).to_dict() for member in members],
        },
    )
    save_model(model, output, facts)
    return facts
