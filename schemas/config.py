"""One config mechanism for every part of m6: typed, frozen dataclasses to and from JSON, and
``--set part.field=value`` overrides.

The corpus (``corpus/config.py``) and the trainer (``model/config.py``) both describe a run by a
tree of keyword-only frozen dataclasses, write it as ``config.json`` next to their output and read
it back. This module is the one implementation of that round trip, so the two cannot drift: a
value from JSON or from the command line is converted to the field's declared type (``int``,
``float``, ``str``, ``bool``, optionals, ``tuple[X, ...]`` and fixed-length tuples), an unknown key
is an error that lists the known ones, and a missing key keeps the field's default (STYLE.md,
"Config and CLI"; torchtitan's and cc_net's typed configs).

A setting that moves (``run.dedup`` -> ``dedup.enabled``) keeps working for one version: a config
names its moves (old dotted name -> new), and ``move_keys`` (JSON files) and ``move_override``
(``--set``) put the value at its new place with a ``FutureWarning`` that names both, so old
``config.json`` files and scripts still run while they say what to change.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import types
import typing
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.version import VERSION_KEY


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild config dataclass ``cls`` from ``to_dict`` output; unknown keys are an error."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key == VERSION_KEY:  # which m6 wrote the file: provenance, not a setting
            continue
        if key not in names:
            raise ValueError(f"{cls.__name__} has no field {key!r} (fields: {sorted(names)})")
        kwargs[key] = coerce(hints[key], value, f"{cls.__name__}.{key}")
    return cls(**kwargs)


def coerce(tp: Any, value: Any, where: str) -> Any:
    """Convert a JSON or command-line value to the field's declared type ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return from_dict(tp, value)
        if isinstance(value, tp):
            return value
        # a part given as null or a number: an error here, not an AttributeError far away
        raise ValueError(f"{where}: expected an object ({tp.__name__}), got {value!r}")
    if origin in (typing.Union, types.UnionType):
        if value is None or value == "None":
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value, where)
            except (TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValueError(f"{where}: cannot read {value!r} as {tp}: {'; '.join(errors)}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.split(",") if v] if value else []
        if args and (len(args) != 2 or args[1] is not Ellipsis):
            # a fixed-length tuple such as tuple[str, float]
            if isinstance(value, str | bytes) or len(value) != len(args):
                raise ValueError(f"{where}: expected {len(args)} values, got {value!r}")
            return tuple(coerce(a, v, where) for a, v in zip(args, value))
        inner = args[0] if args else str
        return tuple(coerce(inner, v, where) for v in value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if tp in (int, float, str):
        if isinstance(value, bool) and tp is not bool:
            value = int(value)
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected {tp.__name__}, got {value!r}") from None
    return value


def apply_overrides(cfg: Any, overrides: list[str]) -> Any:
    """Apply ``part.field=value`` overrides (e.g. ``dedup.threshold=0.7``) to ``cfg``."""
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form part.field=value")
        dotted, value = item.split("=", 1)
        cfg = _set_path(cfg, dotted.strip().split("."), value.strip(), dotted)
    return cfg


def _set_path(obj: Any, path: list[str], value: str, dotted: str) -> Any:
    name = path[0]
    if not dataclasses.is_dataclass(obj):
        raise ValueError(f"unknown setting {dotted!r}: {name!r} is not a part")
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if name not in fields:
        raise ValueError(f"unknown setting {dotted!r}: {type(obj).__name__} has "
                         f"{', '.join(sorted(fields))}")
    if len(path) == 1:
        tp = typing.get_type_hints(type(obj))[name]
        return dataclasses.replace(obj, **{name: coerce(tp, value, dotted)})
    return dataclasses.replace(obj, **{name: _set_path(getattr(obj, name), path[1:], value,
                                                       dotted)})


def save_json(cfg: Any, path: str | Path) -> None:
    Path(path).write_text(json.dumps(to_dict(cfg), indent=2, ensure_ascii=False) + "\n")


def load_json(cls: type, path: str | Path) -> Any:
    return from_dict(cls, json.loads(Path(path).read_text()))


def move_keys(data: dict[str, Any], moved: Mapping[str, str], where: str,
              note: str = "") -> dict[str, Any]:
    """A copy of the nested dict ``data`` in which every setting named by a key of ``moved``
    (a dotted name) sits at its new dotted name instead, with a ``FutureWarning`` each. Setting
    a moved name and its new name to different values is an error."""
    out = copy.deepcopy(data)
    for old, new in moved.items():
        *old_path, old_leaf = old.split(".")
        parent = _part(out, old_path, create=False)
        if parent is None or old_leaf not in parent:
            continue
        value = parent.pop(old_leaf)
        *new_path, new_leaf = new.split(".")
        target = _part(out, new_path, create=True)
        if target is None:
            raise ValueError(f"{where}: {old!r} moved to {new!r}, but "
                             f"{'.'.join(new_path)!r} is not an object")
        if new_leaf in target and target[new_leaf] != value:
            raise ValueError(f"{where}: {old!r} (the old name of {new!r}) and {new!r} are both "
                             "set, to different values; keep only the new one")
        target[new_leaf] = value
        warn_moved(old, new, where, note)
    return out


def drop_keys(data: dict[str, Any], dropped: Mapping[str, str], where: str) -> dict[str, Any]:
    """A copy of the nested dict ``data`` without the settings named by the keys of ``dropped``
    (dotted names of settings that no longer exist), with a ``FutureWarning`` each saying why: a
    ``config.json`` written before keeps being read."""
    out = copy.deepcopy(data)
    for name, why in dropped.items():
        *path, leaf = name.split(".")
        parent = _part(out, path, create=False)
        if parent is None or leaf not in parent:
            continue
        parent.pop(leaf)
        warnings.warn(f"{where}: {name!r} is no longer read: {why}", FutureWarning, stacklevel=3)
    return out


def move_override(item: str, moved: Mapping[str, str], note: str = "") -> str:
    """``item`` (``part.field=value``) with a moved setting's name replaced by its new one; a
    moved part moves the settings inside it too (``images.fetch`` -> ``fetch`` turns
    ``images.fetch.batch_size=8`` into ``fetch.batch_size=8``)."""
    dotted, sep, value = item.partition("=")
    name = dotted.strip()
    if not sep:
        return item
    for old, new in moved.items():
        if name == old or name.startswith(old + "."):
            warn_moved(old, new, "--set", note)
            return f"{new}{name[len(old):]}={value}"
    return item


def warn_moved(old: str, new: str, where: str, note: str = "") -> None:
    warnings.warn(f"{where}: {old!r} is now {new!r}{'; ' + note if note else ''}",
                  FutureWarning, stacklevel=3)


def _part(data: dict[str, Any], path: list[str], *, create: bool) -> dict[str, Any] | None:
    """The nested dict at ``path`` in ``data`` (made when ``create``), or None."""
    for name in path:
        if name not in data and create:
            data[name] = {}
        data = data.get(name)
        if not isinstance(data, dict):
            return None
    return data
