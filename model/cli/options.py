"""The run-config options that ``m6 pretrain`` and ``m6 finetune`` share with ``m6 corpus``:
``--config FILE`` (a JSON run config, whole -- a run's ``config.json`` -- or a part of one) and
``--set part.field=value`` (repeatable), through the one mechanism of ``schemas/config.py``.

Order of precedence, lowest first: the base (a preset, or the pretrained run's config), the
``--config`` file, the shortcut flags given on the command line (``--steps``, ``--lr``, ...),
then ``--set``. So a run's saved ``config.json`` reruns it, and a flag or ``--set`` changes one
thing on top. ``HelpFormatter`` shows each option's default after its help text.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from model.config import RunConfig, run_config_from_dict, run_config_to_dict
from schemas.config import apply_overrides

_FIELD = re.compile(r"\((\w+\.\w+)\)$")


class HelpFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to an option's help where it has a default; a shortcut flag
    whose help ends with its config field, ``(train.steps)``, defaults to the config's value
    and says so: ``(default: the config's train.steps)``."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if action.default is None and _FIELD.search(text):
            return _FIELD.sub(r"(default: the config's \1)", text)
        if ("%(default)" in text or default in (None, False, argparse.SUPPRESS, [])
                or not action.option_strings or isinstance(action, argparse._HelpAction)):
            return text
        return f"{text} (default: %(default)s)"


def add_config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="JSON run config, whole (a run's config.json) or a part of one, laid "
                        "over the base config; the flags below and --set override it")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PART.FIELD=V",
                   help="change one setting, e.g. --set train.lr=1e-4 or --set "
                        "model.dropout=0.1; repeatable, applied last")


def _merge(base: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``part`` laid over it, nested objects merged key by key."""
    out = dict(base)
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def with_config_file(cfg: RunConfig, path: Path | None) -> RunConfig:
    """``cfg`` with the JSON run config at ``path`` laid over it (``cfg`` itself if None)."""
    if path is None:
        return cfg
    try:
        part = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"--config {path}: cannot read it ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"--config {path}: not valid JSON ({e})") from None
    if not isinstance(part, dict):
        raise ValueError(f"--config {path}: a run config is a JSON object")
    base = run_config_to_dict(cfg)
    if "version" not in part:
        base.pop("version")  # an old (version 1) file: read it as one
    try:
        return run_config_from_dict(_merge(base, part))
    except ValueError as e:
        raise ValueError(f"--config {path}: {e}") from None


def with_overrides(cfg: RunConfig, overrides: list[str]) -> RunConfig:
    """``cfg`` with the ``--set part.field=value`` overrides applied, in order."""
    try:
        return apply_overrides(cfg, overrides)
    except ValueError as e:
        raise ValueError(f"--set: {e}") from None
