"""The typed-dataclass machinery of the configs: a field's annotation is its type
check, its description in an error, and (`colorization.config.overrides`) the parser
of its value given as text.

    check_value("train.epochs", 1.5, int)  # ValueError: train.epochs has the wrong ...
    config = from_dict(ExperimentConfig, json.loads(text), "")

Annotations understood: int, float (an int is one too), bool, str, `X | None`,
`Literal[...]` choices, `tuple[T, ...]` and fixed tuples, and config dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Literal

from colorization.models.config import ModelConfig
from data_pipeline.config import DataSourceError


def _union_args(hint):
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def dataclass_in(hint):
    """The dataclass a field annotation names (alone or in an Optional), or None."""
    return next((a for a in _union_args(hint) if dataclasses.is_dataclass(a)), None)


def type_ok(value, hint) -> bool:
    """Whether `value` has the annotated type: unions, Literal choices, fixed and
    variadic tuples, dataclasses; an int is a float, a bool is not an int."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return isinstance(value, str) and value in typing.get_args(hint)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(type_ok(v, args[0]) for v in value)
        return len(value) == len(args) and all(map(type_ok, value, args))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def describe(hint) -> str:
    """A field annotation in words, for error messages."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return "one of " + ", ".join(typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a comma-separated list of {describe(args[0])}"
        return f"{len(args)} comma-separated {describe(args[0])}s"
    if hint is type(None):
        return "none"
    return getattr(hint, "__name__", str(hint))


def check_value(where, value, hint):
    """Raises a one-line ValueError naming `where` unless `value` has type `hint`."""
    if not type_ok(value, hint):
        if typing.get_origin(hint) is Literal or any(
            typing.get_origin(a) is Literal for a in _union_args(hint)
        ):
            raise ValueError(f"{where} must be {describe(hint)}, got {value!r}")
        raise ValueError(
            f"{where} has the wrong type: {value!r} (expected {describe(hint)})"
        )


def check_fields(obj, where):
    """Raises ValueError if a field of the dataclass `obj` has the wrong type."""
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        check_value(
            f"{where}.{field.name}", getattr(obj, field.name), hints[field.name]
        )


def close_keys(key, keys, n=4):
    """The keys of `keys` that look like the misspelt `key`: similar spelling, the
    same last part, or an abbreviation of it ("learning_rate" -> "lr")."""
    leaf = key.rsplit(".", 1)[-1].lower()
    initials = "".join(part[:1] for part in leaf.split("_") if part)
    by_leaf = [
        k
        for k in keys
        if k.rsplit(".", 1)[-1] in (leaf, initials)
        or (len(leaf) > 3 and leaf in k.rsplit(".", 1)[-1])
    ]
    spelt = difflib.get_close_matches(key, keys, n=n, cutoff=0.6)
    return list(dict.fromkeys(by_leaf + spelt))[:n]


def _as_tuples(value, hint):
    """JSON lists as the tuples a field of type `hint` holds (other values as given)."""
    if isinstance(value, list) and any(
        typing.get_origin(a) is tuple for a in _union_args(hint)
    ):
        return tuple(value)
    return value


def from_dict(cls, values, where):
    """A `cls` (a config dataclass) from plain values as JSON holds them, checking
    keys and types first; one-line ValueError on the first problem."""
    if not isinstance(values, dict):
        raise ValueError(f"{where or 'config'} must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        close = close_keys(unknown[0], list(fields))
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown keys in {where or 'config'}: {unknown}{hint}")
    if cls is ModelConfig:
        return ModelConfig.from_dict(values).resolved()
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        target = dataclass_in(hints[name])
        if target is not None and isinstance(value, dict):
            value = from_dict(target, value, _join(where, name))
        value = _as_tuples(value, hints[name])
        check_value(_join(where, name), value, hints[name])
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (DataSourceError, TypeError) as error:
        raise ValueError(str(error)) from None


def _join(where, name):
    return f"{where}.{name}" if where else name
