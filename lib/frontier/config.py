"""Config files: load a Python `get_config()`, apply typed `--set` overrides, lock, snapshot.

A config file is a Python file defining `get_config(arg: str | None = None)` that returns an
`ml_collections.ConfigDict`. `path.py:smoke` passes `"smoke"` as `arg`: every config in this
repository has a `smoke` variant that the tests run end to end.

Every config names the registered experiment it runs (`config.experiment`) and carries a
`seed`, a `seeds` count and a `train` block (`steps`, `log_every`, `eval_every`,
`checkpoint_every`, `keep_checkpoints`, `steps_per_call`).
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import ml_collections

ConfigDict = ml_collections.ConfigDict

TRAIN_DEFAULTS = {
    "steps": 1000,
    "log_every": 100,
    "eval_every": 500,
    "checkpoint_every": 500,
    "keep_checkpoints": 2,
    # Steps per compiled call (a lax.scan): amortises dispatch for very small steps.
    "steps_per_call": 1,
    # Log the health metrics (l2_grads, l2_params, l2_updates) a step returns; when False they
    # are dropped inside the compiled step, so XLA does not compute them at all.
    "health_metrics": True,
}


class ConfigError(ValueError):
    """A config file, an override or a resumed run's config is not usable."""


def smoke_variant(arg: str | None) -> bool:
    """`get_config(arg)`'s variant: True for "smoke", False for None, ConfigError otherwise."""
    if arg not in (None, "smoke"):
        raise ConfigError(f"unknown variant {arg!r}; the variants are: smoke")
    return arg == "smoke"


def base_config(experiment: str, **train: Any) -> ConfigDict:
    """The fields every config has; an experiment's config adds its own on top."""
    unknown = set(train) - set(TRAIN_DEFAULTS)
    if unknown:
        raise ConfigError(
            f"unknown train fields {sorted(unknown)}; valid: {sorted(TRAIN_DEFAULTS)}"
        )
    cfg = ConfigDict()
    cfg.experiment = experiment
    cfg.seed = 0
    cfg.seeds = 1
    cfg.train = ConfigDict({**TRAIN_DEFAULTS, **train})
    return cfg


def split_config_arg(spec: str) -> tuple[Path, str | None]:
    """`configs/a/b.py:smoke` -> (Path('configs/a/b.py'), 'smoke')."""
    path, sep, arg = spec.partition(":")
    return Path(path), (arg if sep else None)


def load_config_file(spec: str) -> ConfigDict:
    """Import a config file and call its `get_config`; errors say what is wrong with the file."""
    path, arg = split_config_arg(spec)
    if not path.exists():
        raise ConfigError(
            f"config file {str(path)!r} does not exist; `frontier list` shows the available configs"
        )
    if path.suffix != ".py":
        raise ConfigError(f"config file {str(path)!r} must be a Python file defining get_config()")
    module_name = f"_frontier_config_{abs(hash(str(path.resolve())))}"
    spec_ = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec_)
    try:
        spec_.loader.exec_module(module)
    except Exception as e:  # a broken file: name it and the error inside it
        raise ConfigError(
            f"config file {str(path)!r} failed to import: {type(e).__name__}: {e}"
        ) from e
    if not hasattr(module, "get_config"):
        raise ConfigError(f"config file {str(path)!r} defines no get_config() function")
    try:
        cfg = module.get_config(arg) if arg is not None else module.get_config()
    except TypeError as e:
        raise ConfigError(
            f"get_config() in {str(path)!r} could not take the variant {arg!r}: {e}"
        ) from e
    except ValueError as e:
        raise ConfigError(f"config file {str(path)!r}, variant {arg!r}: {e}") from e
    if not isinstance(cfg, ConfigDict):
        raise ConfigError(
            f"get_config() in {str(path)!r} returned {type(cfg).__name__}, expected a ConfigDict"
        )
    for field in ("experiment", "seed", "seeds", "train"):
        if field not in cfg:
            raise ConfigError(
                f"config {str(path)!r} has no {field!r} field; "
                "start from frontier.config.base_config"
            )
    return cfg


def flatten(cfg: ConfigDict | dict, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}."""
    out = {}
    items = cfg.items() if isinstance(cfg, dict) else cfg.to_dict().items()
    for k, v in items:
        key = f"{prefix}{k}"
        if isinstance(v, dict | ConfigDict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word is a string: --set model.act=relu


def _coerce(key: str, current: Any, value: Any) -> Any:
    """Check an override against the type the config declares; ints widen to floats."""
    if current is None:
        return value
    expected = type(current)
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif (
        isinstance(current, float)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return float(value)
    elif isinstance(current, tuple | list) and isinstance(value, tuple | list):
        return expected(value)
    elif isinstance(value, expected) and not isinstance(value, bool):
        return value
    raise ConfigError(
        f"--set {key}={value!r}: expected {expected.__name__} (the config's value is "
        f"{current!r}), got {type(value).__name__}"
    )


def apply_overrides(cfg: ConfigDict, overrides: list[str]) -> ConfigDict:
    """Apply `a.b=value` overrides; unknown keys name the closest valid keys."""
    cfg = ConfigDict(cfg.to_dict())  # work on a copy
    valid = flatten(cfg)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"override {item!r} is not of the form key=value (e.g. train.steps=100)"
            )
        if key not in valid:
            close = difflib.get_close_matches(key, list(valid), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"unknown config key {key!r}{hint} "
                "(`frontier run CONFIG --print-config` lists all keys)"
            )
        value = _coerce(key, valid[key], _parse_value(text))
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = value
        valid[key] = value
    return cfg


def load_config(spec: str, overrides: list[str] | tuple[str, ...] = ()) -> ConfigDict:
    """Load, override, validate and lock a config."""
    cfg = apply_overrides(load_config_file(spec), list(overrides))
    train = cfg.train
    for name in ("steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints"):
        if name not in train:
            raise ConfigError(f"config has no train.{name}")
    if train.steps < 0:
        raise ConfigError(f"train.steps must be >= 0, got {train.steps}")
    for name in ("log_every", "eval_every", "checkpoint_every", "keep_checkpoints"):
        if train[name] < 1:
            raise ConfigError(f"train.{name} must be >= 1, got {train[name]}")
    if cfg.seeds < 1:
        raise ConfigError(f"seeds must be >= 1, got {cfg.seeds}")
    cfg.lock()
    return cfg


def to_json(cfg: ConfigDict) -> str:
    return json.dumps(cfg.to_dict(), indent=2, sort_keys=True, default=repr)


def config_diff(old: dict, new: dict) -> list[str]:
    """Keys whose values differ between two configs (as plain dicts)."""
    a, b = flatten(old), flatten(json.loads(json.dumps(new, default=repr)))
    keys = sorted(set(a) | set(b))
    return [k for k in keys if a.get(k, "<absent>") != b.get(k, "<absent>")]


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a file so that a crash leaves either the old or the new content, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def describe(spec: str) -> str:
    """First line of a config file's docstring (for `frontier list`)."""
    path, _ = split_config_arg(spec)
    try:
        doc = ast.get_docstring(ast.parse(Path(path).read_text()))
    except (OSError, SyntaxError):
        return "(unreadable)"
    return (doc or "").strip().splitlines()[0] if doc else ""


def configs_root() -> Path:
    """Where `configs/` lives: $FRONTIER_CONFIGS, ./configs, or beside the source tree."""
    env = os.environ.get("FRONTIER_CONFIGS")
    if env:
        return Path(env)
    if Path("configs").is_dir():
        return Path("configs")
    return Path(__file__).resolve().parents[2] / "configs"
