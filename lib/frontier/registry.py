"""Name -> experiment and name -> reproduction registries.

Research modules register with decorators when they are imported:

    @frontier.registry.experiment("classic/linear", "Linear classifier on digits")
    class LinearDigits(frontier.Experiment): ...

    @frontier.registry.reproduction("classic/digits", "Accuracy table on scikit-learn digits")
    def reproduce_digits(workdir, *, smoke, seeds): ...

`discover()` imports every module that may register something, without editing the library:
- every subpackage of the `research` package (this repository's modules),
- every module named in the `FRONTIER_MODULES` environment variable (comma separated,
  importable names: put the directory on PYTHONPATH),
- every entry point in the `frontier.modules` group of installed distributions.
Registering a name twice is an error.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import pkgutil
from collections.abc import Callable
from typing import Any


class RegistryError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; print it plainly
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    description: str
    module: str


_EXPERIMENTS: dict[str, Entry] = {}
_REPRODUCTIONS: dict[str, Entry] = {}
_DISCOVERED = False
_IMPORTED: set[str] = set()
_IMPORT_ERRORS: dict[str, str] = {}


def _register(table: dict[str, Entry], kind: str, name: str, description: str):
    def decorator(obj):
        if name in table:
            raise RegistryError(
                f"{kind} {name!r} is already registered by {table[name].module}; "
                f"{obj.__module__} tried to register it again: choose another name"
            )
        table[name] = Entry(name, obj, description, obj.__module__)
        return obj

    return decorator


def experiment(name: str, description: str = "") -> Callable:
    """Register an `Experiment` subclass under `name`."""
    return _register(_EXPERIMENTS, "experiment", name, description)


def reproduction(name: str, description: str = "") -> Callable:
    """Register `fn(workdir, *, smoke: bool, seeds: int) -> Table` under `name`."""
    return _register(_REPRODUCTIONS, "reproduction", name, description)


def _module_names() -> list[str]:
    names: list[str] = []
    try:
        import research

        names += [f"research.{m.name}" for m in pkgutil.iter_modules(research.__path__) if m.ispkg]
    except ImportError:
        pass
    names += [n.strip() for n in os.environ.get("FRONTIER_MODULES", "").split(",") if n.strip()]
    names += [ep.value for ep in importlib.metadata.entry_points(group="frontier.modules")]
    return names


def _import(name: str) -> None:
    if name in _IMPORTED:
        return
    _IMPORTED.add(name)
    try:
        importlib.import_module(name)
    except Exception as e:  # a broken module must not hide the others: report it by name
        _IMPORT_ERRORS[name] = f"{type(e).__name__}: {e}"


def discover() -> None:
    """Import every module that may register something (idempotent).

    A module that fails to import is recorded in `import_errors()` rather than stopping the
    others; looking up a name that is missing reports those errors.
    """
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for name in _module_names():
        _import(name)


def import_errors() -> dict[str, str]:
    return dict(_IMPORT_ERRORS)


def _lookup(table: dict[str, Entry], kind: str, name: str) -> Entry:
    if name not in table:
        # "meta/sinusoid" lives in research.meta: import just that module first, so that a
        # broken module elsewhere does not stop this run.
        prefix = name.split("/")[0]
        if prefix.isidentifier() and importlib.util.find_spec(f"research.{prefix}") is not None:
            _import(f"research.{prefix}")
    if name not in table:
        discover()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        broken = "".join(
            f"\n  could not import research module {m!r}: {err}. If it lives outside this "
            "repository, put its directory on PYTHONPATH"
            for m, err in _IMPORT_ERRORS.items()
        )
        raise RegistryError(
            f"no {kind} named {name!r}{hint} (`frontier list` shows the registered ones){broken}"
        )
    return table[name]


def get_experiment(name: str) -> Entry:
    return _lookup(_EXPERIMENTS, "experiment", name)


def get_reproduction(name: str) -> Entry:
    return _lookup(_REPRODUCTIONS, "reproduction", name)


def experiments() -> dict[str, Entry]:
    discover()
    return dict(sorted(_EXPERIMENTS.items()))


def reproductions() -> dict[str, Entry]:
    discover()
    return dict(sorted(_REPRODUCTIONS.items()))
