"""`frontier run | list | reproduce | report`.

frontier run configs/classic/digits_softmax.py --set train.steps=500 --workdir runs/sm
frontier run configs/classic/digits_softmax.py:smoke --seeds 3
frontier list
frontier reproduce classic/digits
frontier report runs/sm
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

DEFAULT_RUNS = Path("runs")


def _default_workdir(spec: str) -> Path:
    from frontier.config import split_config_arg

    path, arg = split_config_arg(spec)
    parts = path.with_suffix("").parts
    tail = parts[parts.index("configs") + 1 :] if "configs" in parts else parts[-1:]
    name = "/".join(tail) + (f"_{arg}" if arg else "")
    return DEFAULT_RUNS / name


def cmd_run(args) -> int:
    from frontier import loop
    from frontier.config import flatten, load_config

    overrides = list(args.set or []) + ([f"seeds={args.seeds}"] if args.seeds is not None else [])
    cfg = load_config(args.config, overrides)
    if args.print_config:
        for k, v in sorted(flatten(cfg).items()):
            print(f"{k} = {v!r}")
        return 0
    workdir = Path(args.workdir) if args.workdir else _default_workdir(args.config)
    result = loop.train(
        cfg, workdir, allow_config_change=args.allow_config_change, progress=not args.no_progress
    )
    from frontier.metrics import format_ci, mean_ci95

    print(f"run directory: {result.run_dir}")
    for name, values in sorted(result.final.items()):
        m, h = mean_ci95(values)
        print(f"  eval {name}: {format_ci(m, h, 4)}  ({len(values)} seed(s))")
    return 0


def cmd_list(args) -> int:
    from frontier import registry
    from frontier.config import configs_root, describe

    print("Experiments:")
    for name, e in registry.experiments().items():
        print(f"  {name:32s} {e.description}")
    print("\nReproductions (frontier reproduce NAME):")
    for name, e in registry.reproductions().items():
        print(f"  {name:32s} {e.description}")
    root = configs_root()
    print(f"\nConfigs ({root}; add :smoke for the quick variant):")
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("_"):
            continue
        print(f"  {str(path):48s} {describe(str(path))}")
    errors = registry.import_errors()
    for name, err in errors.items():
        print(
            f"frontier: error: could not import research module {name!r}: {err}. If it lives "
            "outside this repository, put its directory on PYTHONPATH",
            file=sys.stderr,
        )
    return 2 if errors else 0


def cmd_reproduce(args) -> int:
    from frontier import registry

    entry = registry.get_reproduction(args.name)
    from frontier.workdir import ensure_dir

    kwargs = {"smoke": args.smoke, "seeds": args.seeds}
    if args.set:
        import inspect

        if "overrides" not in inspect.signature(entry.obj).parameters:
            print(f"{args.name} takes no --set overrides", file=sys.stderr)
            return 2
        kwargs["overrides"] = list(args.set)
    workdir = ensure_dir(args.workdir or DEFAULT_RUNS / "reproduce" / args.name)
    tables = entry.obj(workdir, **kwargs)
    if not isinstance(tables, list | tuple):
        tables = [tables]
    text = "\n".join(t.to_markdown() for t in tables)
    from frontier.config import write_atomic

    write_atomic(workdir / "table.md", f"# Reproduction: {args.name}\n\n{text}")
    print(text)
    print(f"table: {workdir / 'table.md'}")
    plots = sorted((workdir / "plots").glob("*.png")) if (workdir / "plots").is_dir() else []
    for p in plots:
        print(f"plot:  {p}")
    return 0


def cmd_report(args) -> int:
    from frontier.report import write_run_report

    path = write_run_report(Path(args.workdir))
    print(path.read_text())
    print(f"report: {path}")
    return 0


def _seed_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of seeds, got {text!r}"
        ) from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"frontier: warning: {message}\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="frontier", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="train or resume one config")
    r.add_argument("config", help="config file, optionally with a variant: path.py[:smoke]")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field")
    r.add_argument("--workdir", help="run directory (default runs/<module>/<config>)")
    r.add_argument("--seeds", type=_seed_count, help="number of seeds (mean and 95%% CI reported)")
    r.add_argument(
        "--allow-config-change",
        action="store_true",
        help="resume a run even though its config differs from the saved one",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--print-config", action="store_true", help="print the resolved config")
    r.set_defaults(func=cmd_run)

    sub.add_parser("list", help="experiments, reproductions and configs").set_defaults(
        func=cmd_list
    )

    rp = sub.add_parser("reproduce", help="run the configs behind a paper table")
    rp.add_argument("name", help="reproduction name, e.g. classic/digits (see frontier list)")
    rp.add_argument("--workdir", help="default runs/reproduce/<name>")
    rp.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a field of the reproduction's config (those that take overrides)",
    )
    rp.add_argument(
        "--seeds", type=_seed_count, help="seeds per config (default: the reproduction's)"
    )
    rp.add_argument("--smoke", action="store_true", help="tiny settings, to check the plumbing")
    rp.set_defaults(func=cmd_reproduce)

    rep = sub.add_parser("report", help="markdown tables and plots from a run directory")
    rep.add_argument("workdir")
    rep.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.formatwarning = _format_warning  # one line per warning, no source excerpt
    from frontier.checkpoint import CheckpointError
    from frontier.config import ConfigError
    from frontier.loop import NonFiniteError, Preempted
    from frontier.registry import RegistryError

    try:
        return args.func(args)
    except (ConfigError, RegistryError, CheckpointError, FileNotFoundError, ValueError) as e:
        print(f"frontier: error: {e}", file=sys.stderr)
        return 2
    except NonFiniteError as e:
        print(f"frontier: stopped: {e}", file=sys.stderr)
        return 3
    except Preempted:
        print(
            "frontier: SIGTERM: checkpoint saved; run the same command to resume", file=sys.stderr
        )
        return 143
    except KeyboardInterrupt:
        print("frontier: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
