"""Overrides of a config, driven by its schema: every field of `ExperimentConfig` is
a dotted key, and a value given as text is parsed by the field's type.

    key, value = parse_assignment("train.lr=3e-5")  # ("train.lr", 3e-05)
    sets = expand({"batch_size": 8, "data.image_size": 192})
    # {"train.batch_size": 8, "data.image_size": 192}

The keys are not listed by hand: `schema()` walks the dataclass fields, and a
field of the `train`, `loss` or `data` section is also a bare shortcut (its first
section in that order: "seed" is "train.seed"). `ALIASES` holds the few shortcuts
named otherwise than their field ("dataset" for "data.source"). `apply` sets them on
a preset's config (`colorization.config.presets.resolve_config` calls it).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any, Literal

from colorization.config.experiment import (
    BINS,
    BINS_L1,
    ExperimentConfig,
    field_values,
    make_data_config,
    val_data_for,
)
from colorization.config.schema import close_keys, dataclass_in, describe
from colorization.models.config import ModelConfig
from data_pipeline.config import HINT_CHANNELS, HintConfig

SHORTCUT_SECTIONS = ("train", "loss", "data")
# Shortcuts whose name is not that of their field (train.py's older flags).
ALIASES = {
    "dataset": "data.source",
    "model": "generator.name",
    "loss": "loss.recon",
    "val_dir": "val_data.data_dir",
    "encoder_weights": "generator.encoder_weights",
}
TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
NONE = ("none", "null")


@functools.cache
def schema() -> dict[str, Any]:
    """Every settable dotted key of `ExperimentConfig` and its field's annotation.

    A dataclass field is a section ("data", "generator") whose fields are keys; an
    optional dataclass field ("data.hints") is also a key itself, to switch it off
    (none) or on (true).
    """
    keys = {}

    def walk(cls, prefix):
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            key, hint = prefix + field.name, hints[field.name]
            inner = dataclass_in(hint)
            if inner is None or (prefix and type(None) in typing.get_args(hint)):
                keys[key] = hint
            if inner is not None:
                walk(inner, key + ".")

    walk(ExperimentConfig, "")
    return keys


@functools.cache
def shortcuts() -> dict[str, str]:
    """Bare names -> dotted keys: each field of the `SHORTCUT_SECTIONS`, and
    `ALIASES`."""
    names = {}
    for section in SHORTCUT_SECTIONS:
        for key in schema():
            head, _, leaf = key.partition(".")
            if head == section and "." not in leaf:
                names.setdefault(leaf, key)
    return names | ALIASES


def canonical(key: str) -> str:
    """The dotted key that `key` (dotted or a shortcut) names.

    Raises:
        ValueError: One line naming the unknown key and the close valid ones.
    """
    if key in schema():
        return key
    if key in shortcuts():
        return shortcuts()[key]
    close = close_keys(key, [*schema(), *shortcuts()])
    hint = f"; close keys: {', '.join(close)}" if close else ""
    raise ValueError(f"unknown key {key!r}{hint} (train.py --list-keys lists all)")


def expand(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """`overrides` with every key made a dotted key of `schema()`.

    A dict given for a section ("generator": {"base_filters": 4}) becomes one key
    per field; a shortcut set to None is left out (an unset flag), a dotted key set
    to None sets its field to None.
    """
    sets = {}
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and _is_section(key):
            sets |= expand({f"{key}.{k}": v for k, v in value.items()})
        elif value is not None or key in schema():
            sets[canonical(key)] = value
    return sets


def key_lines() -> list[str]:
    """One line per key of `schema()`: the key, its type and its shortcuts."""
    names = {}
    for name, key in shortcuts().items():
        names.setdefault(key, []).append(name)
    width = max(map(len, schema()))
    lines = []
    for key, hint in schema().items():
        line = f"{key:<{width}}  {describe(hint)}"
        if key in names:
            line += f" (shortcut: {', '.join(names[key])})"
        lines.append(line)
    return lines


def _is_section(key):
    return any(k.startswith(key + ".") for k in schema())


def parse_assignment(text: str) -> tuple[str, Any]:
    """ "KEY=VALUE" -> (dotted key, the value parsed by the field's type).

    Raises:
        ValueError: One line naming the bad key or value.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected KEY=VALUE, e.g. train.lr=3e-5")
    key = canonical(key.strip())
    return key, parse_value(key, raw.strip())


def parse_value(key: str, text: str) -> Any:
    """`text` parsed as the type of field `key` (a dotted key of `schema()`).

    int, float, bool (true/false, yes/no, on/off, 1/0), str, a choice of a Literal,
    comma-separated tuples ("128,160,192"), "none" for an optional field, and
    true/false for an optional section (data.hints: true starts the default one).
    """
    hint = schema()[key]
    try:
        return _parse(text, hint)
    except ValueError:
        raise ValueError(f"--set {key}={text}: expected {describe(hint)}") from None


def _parse(text, hint):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        if text in args:
            return text
        raise ValueError(text)
    if dataclasses.is_dataclass(hint):
        if text.lower() in TRUE:
            return True  # `resolve_config` starts the section from its defaults
        if text.lower() in FALSE:
            return None
        raise ValueError(text)
    if len(args) > 1 and origin is not tuple:  # a union
        if type(None) in args and text.lower() in NONE:
            return None
        # A comma means a tuple; otherwise the first type that parses it.
        ordered = sorted(
            (a for a in args if a is not type(None)),
            key=lambda a: (typing.get_origin(a) is not tuple) == ("," in text),
        )
        for arg in ordered:
            try:
                return _parse(text, arg)
            except ValueError:
                continue
        raise ValueError(text)
    if origin is tuple:
        items = [t.strip() for t in text.strip("[]()").split(",") if t.strip()]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse(t, args[0]) for t in items)
        if len(items) != len(args):
            raise ValueError(text)
        return tuple(_parse(t, a) for t, a in zip(items, args))
    if hint is bool:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ValueError(text)
    if hint is int:
        return int(text)
    if hint is float:
        return float(text)
    if hint is str:
        if not text:
            raise ValueError(text)
        return text
    raise ValueError(text)


def apply(
    base: ExperimentConfig, sets: dict[str, Any], hint_fields: dict[str, Any]
) -> ExperimentConfig:
    """`base` with the dotted-key `sets` (`expand` output) applied, resolved and
    validated (the rules: `colorization.config.presets.resolve_config`).

    Args:
        base: A preset's config.
        sets: {dotted key: typed value}.
        hint_fields: The generator fields (and values) a newly hinted generator
            gets where its model has them.
    """
    values = base.to_dict()
    for part in ("generator", "discriminator"):
        if values[part] is None and any(k.startswith(part + ".") for k in sets):
            raise ValueError(f"preset {base.name!r} has no {part} to override")
        if f"{part}.name" in sets:  # a new model starts from its own defaults
            values[part] = {}
    if "data.source" in sets:
        values["data"] |= {"split": "train", "data_dir": None}
    val_sets = {}
    for key, value in sets.items():
        if key.startswith("val_data."):
            val_sets[key.partition(".")[2]] = value
        else:
            _assign(values, key, value, base)
    data = values["data"]
    if "data.image_size" in sets and "data.scales" not in sets:
        data["scales"] = None  # one size asked for: no multi-scale unless given
    if sets.get("data.scales") and "data.image_size" not in sets:
        data["image_size"] = max(data["scales"])
    if "data.seed" not in sets:
        data["seed"] = values["train"]["seed"]
    generator = values["generator"]
    if "loss.recon" in sets and "generator.head" not in sets:
        if "head" in ModelConfig(name=generator["name"]).spec.defaults:
            recon = values["loss"]["recon"]
            generator["head"] = {BINS: "bins", BINS_L1: "dual"}.get(recon, "tanh")
    _hint_inputs(generator, data["hints"] is not None, base, sets, hint_fields)
    data_config = make_data_config(**data)
    val_data = val_data_for(data_config, val_sets.pop("data_dir", None))
    if val_sets:
        if val_data is None:
            raise ValueError(
                f"{', '.join(f'val_data.{k}' for k in val_sets)}: no validation "
                "data to set (give val_data.data_dir)"
            )
        val_data = make_data_config(**field_values(val_data) | val_sets)
    values["val_data"] = None if val_data is None else dataclasses.asdict(val_data)
    return ExperimentConfig.from_dict(values)


def _assign(values, key, value, base):
    """Sets dotted `key` of the nested dict `values`; data.hints set to true starts
    from the preset's hints (or the default HintConfig), to false drops them."""
    *path, leaf = key.split(".")
    node = values
    for part in path:
        if node.get(part) is None:  # e.g. data.hints.p_none with no hints yet
            node[part] = {}
        node = node[part]
    if key == "data.hints" and isinstance(value, bool):
        value = dataclasses.asdict(base.data.hints or HintConfig()) if value else None
    elif dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    node[leaf] = value


def _hint_inputs(generator, hinted, base, sets, hint_fields):
    """A generator takes L and the hint channels when trained with hints, L alone
    otherwise; a generator newly hinted gets the `hint_fields` its model has."""
    given = {k.partition(".")[2] for k in sets if k.startswith("generator.")}
    uses = ModelConfig(name=generator["name"]).spec.defaults
    hinted_before = base.data.hints is not None and "generator.name" not in sets
    if hinted:
        if "input_channels" not in given:
            generator["input_channels"] = 1 + HINT_CHANNELS
        for field, value in hint_fields.items():
            if field in uses and field not in given and not hinted_before:
                generator[field] = value
    elif generator.get("input_channels") == 1 + HINT_CHANNELS:
        for field in ("input_channels", *hint_fields):
            if field not in given:
                generator[field] = None  # the model's default
