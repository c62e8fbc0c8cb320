"""Per-assignment ``options:`` checked at load time by the schema the assignment declares.

An assignment entry names its schema in grader.yaml (``options_schema: package.module:function``).
The function takes the ``options`` mapping and returns the resolved, typed settings, or raises
OptionError whose message starts with the key path (``options.perturbation.max_shift: ...``),
so grader.yaml can name the line of the bad value.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Schema = Callable[[dict], Any]


class OptionError(ValueError):
    """An invalid option; the message is ``options.<key path>: <problem>``."""

    @property
    def key(self) -> str:
        return str(self).split(":", 1)[0]


def load_schema(spec: str) -> Schema:
    """The function named by ``package.module:function``; ValueError saying what is wrong."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"expected 'package.module:function', got {spec!r}")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load {spec!r}: {exc}") from None
    if not callable(found):
        raise ValueError(f"{spec!r} is not a function")
    return found


def reject_unknown(options: dict, known: dict, prefix: str = "options") -> None:
    """OptionError for the first key of ``options`` (nested mappings too) not in ``known``:
    a typo would otherwise silently fall back to the default."""
    for key, value in options.items():
        where = f"{prefix}.{key}"
        if key not in known:
            raise OptionError(f"{where}: unknown key (expected one of "
                              f"{', '.join(sorted(map(str, known)))})")
        if isinstance(value, dict) and isinstance(known[key], dict):
            reject_unknown(value, known[key], where)
