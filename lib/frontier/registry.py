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


def discover() -> None:
    """Import every module that may register experiments (idempotent)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    names: list[str] = []
    try:
        import research

        names += [f"research.{m.name}" for m in pkgutil.iter_modules(research.__path__) if m.ispkg]
    except ImportError:
        pass
    names += [n.strip() for n in os.environ.get("FRONTIER_MODULES", "").split(",") if n.strip()]
    for ep in importlib.metadata.entry_points(group="frontier.modules"):
        names.append(ep.value)
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise RegistryError(
                f"could not import research module {name!r}: {e}. If it lives outside this "
                "repository, put its directory on PYTHONPATH"
            ) from e


def _lookup(table: dict[str, Entry], kind: str, name: str) -> Entry:
    discover()
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise RegistryError(
            f"no {kind} named {name!r}{hint} (`frontier list` shows the registered ones)"
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
