"""`frontier reproduce laws/feynman` and `frontier reproduce laws/conservation`.

laws/feynman (configs/laws/feynman.py): for the first `benchmark.num_equations` equations of
the bundled AI Feynman table, generate 10,000 points (noise `data.noise`), run our engine,
gplearn and Operon (pyoperon, C++) on the same training rows, and score all with SRBench's
criteria (symbolic solution; accuracy solution = test R^2 > 0.999). By default the peers get
the same wall time as ours on each equation (`benchmark.peer_budget="wall"`: gplearn evolves
generation by generation until the time is used, Operon gets it as its time limit);
`"generations"` gives gplearn our population and generations and Operon
`benchmark.operon_time_limit` seconds. Tables: solution rates beside SRBench's published
rates (context: other methods, other budgets), and per equation wall time and outcome.
gplearn and Operon are optional (`pip install -e '.[bench]'`): when one is missing the table
says so and its rows are absent. Quick variant: `--set benchmark.num_equations=12`.

laws/conservation (configs/laws/conservation.py): for each system, its config variant
(`conservation.py:<system>`) and the derivative-ratio search through `frontier.loop`
(resumable), then its Pareto front and whether a candidate is the energy (an affine function
of the true Hamiltonian on random states, |r| > 0.9999).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import frontier
from frontier.config import ConfigError, configs_root, load_config, write_atomic
from frontier.report import Row, Table
from research.laws.baselines import (
    fit_gplearn,
    fit_operon,
    gplearn_available,
    operon_available,
    operon_to_sympy,
    program_to_sympy,
)
from research.laws.feynman import (
    SRBENCH_SYMBOLIC_RATES,
    accuracy_solution,
    load_equations,
    make_dataset,
    r2,
    symbolic_solution,
)
from research.laws.regressor import subsample_indices


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


PEERS = ("gplearn", "operon")


def _fields(result: dict, method: str) -> dict:
    """One method's entries of a per-equation result dict (`<method>_...`)."""
    return {k: v for k, v in result.items() if k.startswith(method + "_")}


def run_feynman_equation(eq, config, seed: int, reuse: dict | None = None) -> dict:
    """Ours (and gplearn and Operon when available and enabled) on one equation: a result
    dict. `reuse`: a stored result for this equation; each method whose entries it holds
    (ours_*, gplearn_*, operon_*) is taken from it instead of being run, and the peers' wall
    budget is then ours' stored time."""
    from research.laws.experiments import estimator_from_config

    reuse = reuse or {}
    b = config.benchmark
    out = {"equation": eq.name, "formula": eq.formula}
    for method, wanted in (("ours", True), *((m, bool(b.get(m, False))) for m in PEERS)):
        if wanted and f"{method}_seconds" in reuse:
            out.update(_fields(reuse, method))
    if len(out) > 2:  # stored flags may predate the current criterion
        out = rescore_feynman([out])[0]
    d = config.data
    ds = make_dataset(eq, int(d.num_points), float(d.noise), int(d.seed))
    if "ours_seconds" not in out:
        est = estimator_from_config(config.search, random_state=seed)
        est.generations = int(config.train.steps)
        started = time.perf_counter()
        est.fit(ds.x_train, ds.y_train, eq.names)
        out["ours_seconds"] = time.perf_counter() - started
        model = est.sympy()
        out["ours_model"] = str(model)
        out["ours_r2"] = r2(ds.y_test, est.predict(ds.x_test))
        out["ours_accuracy"] = accuracy_solution(ds.y_test, est.predict(ds.x_test))
        out["ours_symbolic"] = symbolic_solution(model, eq.sympy(), eq.names)
    same_wall = peer_budget(config) == "wall"
    if b.gplearn and "gplearn_seconds" not in out and gplearn_available():
        idx = subsample_indices(len(ds.x_train), int(config.search.max_rows), seed)
        started = time.perf_counter()
        g = fit_gplearn(
            ds.x_train[idx],
            ds.y_train[idx],
            population_size=int(b.gplearn_population),
            generations=int(b.gplearn_generations) * (100 if same_wall else 1),
            tournament_size=int(b.gplearn_tournament_size),
            time_limit=out["ours_seconds"] if same_wall else None,
            random_state=seed,
        )
        out["gplearn_seconds"] = time.perf_counter() - started
        out["gplearn_generations"] = int(g.generations)
        pred = g.predict(ds.x_test)
        out["gplearn_r2"] = r2(ds.y_test, pred)
        out["gplearn_accuracy"] = accuracy_solution(ds.y_test, pred)
        out["gplearn_program"] = str(g._program)
        try:
            gm = program_to_sympy(str(g._program), eq.names)
            out["gplearn_model"] = str(gm)
            out["gplearn_symbolic"] = symbolic_solution(gm, eq.sympy(), eq.names)
        except (TypeError, ValueError, SyntaxError) as err:  # an unparsable program: not solved
            out["gplearn_model"] = f"<unparsed: {err}>"
            out["gplearn_symbolic"] = False
    if "operon_seconds" not in out and _with_operon(config):
        idx = subsample_indices(len(ds.x_train), int(config.search.max_rows), seed)
        started = time.perf_counter()
        om, model = fit_operon(
            ds.x_train[idx],
            ds.y_train[idx],
            eq.names,
            time_limit=max(1, round(out["ours_seconds"]))
            if same_wall
            else int(b.operon_time_limit),
            population_size=int(config.search.population_size),
            max_length=int(config.search.maxsize),
            optimizer_iterations=int(b.operon_optimizer_iterations),
            n_threads=int(b.operon_threads),
            random_state=seed,
            return_model=True,
        )
        out["operon_seconds"] = time.perf_counter() - started
        pred = model.predict(ds.x_test)
        out["operon_r2"] = r2(ds.y_test, pred)
        out["operon_accuracy"] = accuracy_solution(ds.y_test, pred)
        out["operon_program"] = model.get_model_string(model.model_, 12)
        out["operon_model"] = str(om)
        out["operon_symbolic"] = _operon_symbolic(om, eq)
    return out


def feynman_setup(config) -> str:
    """What a stored per-equation result depends on (data, search, generations, seed, the
    peers' budget and settings): results saved in the workdir are resumed only when this
    matches."""
    b = config.benchmark
    peers = {k: b[k] for k in b.keys() if k.startswith(("gplearn_", "operon_"))}
    return json.dumps(
        {
            "data": config.data.to_dict(),
            "search": config.search.to_dict(),
            "generations": int(config.train.steps),
            "seed": int(config.seed),
            "peer_budget": peer_budget(config),
            "peers": peers,
        },
        sort_keys=True,
        default=str,
    )


def stored_feynman_results(workdir: Path, config) -> tuple[dict, list[str]]:
    """Per-equation results to reuse, by equation name, and notes on where they came from:
    this workdir's saved `feynman_results.json` when made with the same setup (an
    interrupted run resumes), then the files in `benchmark.results_from` (earlier runs,
    whose methods are taken as stored; a method missing from all of them is run)."""
    setup = feynman_setup(config)
    stored: dict[str, dict] = {}
    notes = []
    own = workdir / "feynman_results.json"
    if own.exists():
        saved = _load_results(own, "the saved results in the workdir")
        same = [r for r in saved if r.get("setup") == setup]
        for r in same:
            stored[r["equation"]] = dict(r)
        if same:
            _log(f"laws/feynman: resuming: {len(same)} equation(s) done in {own}")
        elif saved:
            _log(f"laws/feynman: {own} was made with another setup; starting afresh")
    paths = config.benchmark.get("results_from", None) or []
    for path in paths:
        counts = dict.fromkeys(("ours",) + PEERS, 0)
        for r in _load_results(Path(path), "benchmark.results_from"):
            if "equation" not in r or "ours_seconds" not in r:
                raise ConfigError(
                    f"benchmark.results_from: {path} has an entry without 'equation' and "
                    "'ours_seconds'; it is not a laws/feynman feynman_results.json"
                )
            have = stored.setdefault(r["equation"], {})
            for method in counts:
                if f"{method}_seconds" in r and f"{method}_seconds" not in have:
                    have.update(_fields(r, method))
                    counts[method] += 1
        taken = ", ".join(f"{m} on {n}" for m, n in counts.items() if n)
        notes.append(f"Taken from {path} (an earlier run): {taken or 'nothing'}.")
    return stored, notes


def _load_results(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise ConfigError(f"{what}: {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what}: {path} is not valid JSON ({err})") from err
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ConfigError(f"{what}: {path} is not a list of per-equation results")
    return data


def peer_budget(config) -> str:
    """How gplearn and Operon are budgeted: "wall" (each gets the wall time ours took on that
    equation, compilation included) or "generations" (gplearn: the same population and
    generations; Operon: `benchmark.operon_time_limit` seconds)."""
    budget = config.benchmark.get("peer_budget", "generations")
    if budget not in ("wall", "generations"):
        raise ValueError(f"benchmark.peer_budget must be 'wall' or 'generations', got {budget!r}")
    return budget


def _with_operon(config) -> bool:
    return bool(config.benchmark.get("operon", False)) and operon_available()


def _operon_symbolic(model, eq) -> bool:
    try:
        return symbolic_solution(model, eq.sympy(), eq.names)
    except (TypeError, ValueError, AttributeError):  # e.g. a complex or nan constant
        return False


def benchmark_equations(config) -> tuple:
    """The equations a laws/feynman run covers: `benchmark.equations` (names, in that order)
    when given, else the first `benchmark.num_equations` of the bundled table."""
    names = config.benchmark.get("equations", None) or []
    if isinstance(names, str):
        raise ConfigError(
            "benchmark.equations must be a list of equation names, e.g. "
            "--set benchmark.equations=\"['I.10.7', 'I.18.4']\""
        )
    if not names:
        return load_equations()[: int(config.benchmark.num_equations)]
    table = {e.name: e for e in load_equations()}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ConfigError(
            f"benchmark.equations: unknown equation(s) {', '.join(map(str, unknown))}; the "
            f"bundled table has {', '.join(table)}"
        )
    return tuple(table[n] for n in names)


@frontier.reproduction(
    "laws/feynman", "Feynman equations: SRBench solution rates, ours vs gplearn (same budget)"
)
def reproduce_feynman(
    workdir: Path, *, smoke: bool = False, seeds: int | None = None, overrides=None
):
    """`overrides`: `frontier reproduce laws/feynman --set benchmark.num_equations=5`."""
    workdir = Path(workdir)
    spec = str(configs_root() / "laws" / "feynman.py") + (":smoke" if smoke else "")
    config = load_config(spec, list(overrides or []))
    eqs = benchmark_equations(config)
    stored, notes = stored_feynman_results(workdir, config)
    setup = feynman_setup(config)
    results = []
    started = time.perf_counter()
    for eq in eqs:
        r = run_feynman_equation(eq, config, int(config.seed), reuse=stored.get(eq.name))
        r["setup"] = setup
        results.append(r)
        # saved after every equation: an interrupted run resumes where it stopped
        write_atomic(workdir / "feynman_results.json", json.dumps(results, indent=1, default=str))
        _log(
            f"  {eq.name}: ours S={r['ours_symbolic']} A={r['ours_accuracy']} "
            f"({r['ours_seconds']:.1f} s) {r['ours_model']}"
            + (
                f" | gplearn S={r['gplearn_symbolic']} A={r['gplearn_accuracy']} "
                f"({r['gplearn_seconds']:.1f} s)"
                if "gplearn_seconds" in r
                else ""
            )
            + (
                f" | operon S={r['operon_symbolic']} A={r['operon_accuracy']} "
                f"({r['operon_seconds']:.1f} s) {r['operon_model']}"
                if "operon_seconds" in r
                else ""
            )
        )
    total = time.perf_counter() - started
    with_gplearn = bool(results) and all("gplearn_seconds" in r for r in results)
    with_operon = bool(results) and all("operon_seconds" in r for r in results)
    for method, present in (("gplearn", with_gplearn), ("operon", with_operon)):
        k = sum(f"{method}_seconds" in r for r in results)
        if not present and k:
            _log(f"laws/feynman: {method} has results on {k} of {len(results)} equations only")
    return feynman_tables(results, config, total, with_gplearn, with_operon, notes)


def rescore_feynman(results: list[dict]) -> list[dict]:
    """Recompute the symbolic-solution flags of stored results with the current criterion
    (from the stored model strings; gplearn's from its raw program when stored, else from
    its sympy string with log and sqrt made protected as gplearn's are)."""
    import sympy as sp

    from research.laws.feynman import get_equation

    out = []
    for r in results:
        r = dict(r)
        eq = get_equation(r["equation"])
        truth = eq.sympy()
        local = {n: sp.Symbol(n) for n in eq.names}
        if "ours_model" in r:
            ours = sp.sympify(r["ours_model"], locals=local)
            r["ours_symbolic"] = symbolic_solution(ours, truth, eq.names)
        if "gplearn_model" in r:
            if "gplearn_program" in r:
                gm = program_to_sympy(r["gplearn_program"], eq.names)
            elif r["gplearn_model"].startswith("<unparsed"):
                gm = None
            else:
                gm = sp.sympify(r["gplearn_model"], locals=local)
                gm = gm.replace(sp.log, lambda a: sp.log(sp.Abs(a)))
                gm = gm.replace(
                    lambda e: e.is_Pow and e.exp == sp.Rational(1, 2),
                    lambda e: sp.sqrt(sp.Abs(e.base)),
                )
            r["gplearn_symbolic"] = gm is not None and symbolic_solution(gm, truth, eq.names)
        if "operon_program" in r:
            r["operon_symbolic"] = _operon_symbolic(
                operon_to_sympy(r["operon_program"], eq.names), eq
            )
        out.append(r)
    return out


def feynman_tables(
    results, config, total: float, with_gplearn: bool, with_operon: bool = False, extra=()
) -> list[Table]:
    """The two tables of laws/feynman from per-equation result dicts."""
    n = len(results)
    budget = (
        f"population {config.search.population_size} ({config.search.populations} islands), "
        f"{config.train.steps} generations, {config.search.max_rows} training rows, maxsize "
        f"{config.search.maxsize}, noise {config.data.noise}"
    )

    def rate_rows(method, key, ref_sym=None):
        return [
            Row(
                method,
                "symbolic solution rate",
                [float(r[f"{key}_symbolic"]) for r in results],
                ref_sym,
                ci="normal",
            ),
            Row(
                method,
                "accuracy solution rate (test R^2 > 0.999)",
                [float(r[f"{key}_accuracy"]) for r in results],
                ci="normal",
            ),
        ]

    rows = rate_rows("ours (JAX GP)", "ours")
    notes = [
        f"{n} equations of the bundled AI Feynman table; budget per equation and method: "
        f"{budget}. Wall time {total / 60:.1f} min on a shared 2-core CPU"
        + (" (this invocation; results taken from saved runs not counted)." if extra else "."),
        "Reference column: SRBench's published symbolic solution rate at noise 0 on "
        "Feynman + Strogatz (130 problems, much larger budgets) for the same method; no "
        "reference exists for our engine. Published context: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in SRBENCH_SYMBOLIC_RATES.items())
        + ".",
        "Ours uses linear scaling and gradient constant optimisation (Adam, "
        f"{config.search.optimizer_iterations} steps) on the best {config.search.optimize_top} "
        "children of each island per generation (extra evaluations gplearn does not make).",
        *extra,
    ]
    same_wall = peer_budget(config) == "wall"
    if same_wall:
        notes.append(
            "Peers at the same wall budget: on each equation gplearn and Operon get the wall "
            "time ours took there (compilation included); gplearn evolves one generation at a "
            "time (warm start) until that time is used, with at least one generation."
        )
    if with_gplearn:
        rows += rate_rows("gplearn", "gplearn", SRBENCH_SYMBOLIC_RATES["gplearn"])
        if same_wall:
            gens = [r["gplearn_generations"] for r in results if "gplearn_generations" in r]
            if gens:
                notes.append(
                    f"gplearn ran {min(gens)}-{max(gens)} generations (median "
                    f"{int(np.median(gens))}) in that time, population "
                    f"{config.benchmark.gplearn_population}."
                )
    else:
        notes.append(
            "gplearn is NOT installed (or disabled in the config): its rows are missing. "
            "Install the bench extra: pip install -e '.[bench]'."
        )
    b = config.benchmark
    if with_operon:
        rows += rate_rows("Operon (pyoperon)", "operon", SRBENCH_SYMBOLIC_RATES["Operon"])
        seconds = [r["operon_seconds"] for r in results if "operon_seconds" in r]
        notes.append(
            "Operon (pyoperon, C++): a wall-time limit of "
            + ("ours' wall time" if same_wall else f"{b.operon_time_limit} s")
            + f" per equation ({b.operon_threads} thread(s); measured {np.mean(seconds):.1f} s on "
            f"average), population {config.search.population_size}, length limit "
            f"{config.search.maxsize}, add,sub,mul,div,sin,cos,exp,log,sqrt,square, linear "
            f"scaling, {b.operon_optimizer_iterations} Levenberg-Marquardt steps on each "
            "child's constants; its model is scored with the same criteria."
        )
    else:
        notes.append(
            "Operon (pyoperon) is NOT installed (or disabled in the config): its rows are "
            "missing. Install the bench extra: pip install -e '.[bench]'."
        )
    rates = Table(
        f"Feynman equations: SRBench solution rates (noise {float(config.data.noise):.3g})",
        rows,
        reference_name="SRBench published",
        metric="fraction of equations solved (mean, 95% CI over equations)",
        notes=notes,
    )
    time_rows = []
    for r in results:
        note = (
            f"ours S={'y' if r['ours_symbolic'] else 'n'} A={'y' if r['ours_accuracy'] else 'n'}"
            f" R2={r['ours_r2']:.4f}"
        )
        if "gplearn_seconds" in r:
            note += (
                f"; gplearn S={'y' if r['gplearn_symbolic'] else 'n'} "
                f"A={'y' if r['gplearn_accuracy'] else 'n'} R2={r['gplearn_r2']:.4f}"
            )
        if "operon_seconds" in r:
            note += (
                f"; Operon S={'y' if r['operon_symbolic'] else 'n'} "
                f"A={'y' if r['operon_accuracy'] else 'n'} R2={r['operon_r2']:.4f} "
                f"({r['operon_seconds']:.1f} s)"
            )
        time_rows.append(
            Row(
                r["equation"],
                r["formula"],
                [r["ours_seconds"]],
                r.get("gplearn_seconds"),
                note=note,
            )
        )
    times = Table(
        "Feynman equations: wall time per equation (s), ours vs gplearn, and outcomes "
        "(Operon's time in the note)",
        time_rows,
        reference_name="gplearn",
        metric="seconds (ours includes one-off compilation on the first equation)",
        lower_is_better=True,
        digits=1,
        notes=["S = symbolic solution, A = accuracy solution; models in feynman_results.json"],
    )
    return [rates, times]


@frontier.reproduction(
    "laws/conservation", "Conserved quantities from motion (Schmidt & Lipson 2009)"
)
def reproduce_conservation(
    workdir: Path, *, smoke: bool = False, seeds: int | None = None, overrides=None
):
    """`overrides`: e.g. `frontier reproduce laws/conservation --set train.steps=300`."""
    import jax

    from frontier.loop import train
    from research.laws import conservation as C
    from research.laws.experiments import ConservationExperiment, conservation_front

    workdir = Path(workdir)
    path = str(configs_root() / "laws" / "conservation.py")
    spec = path + (":smoke" if smoke else "")
    overrides = list(overrides or [])
    base = load_config(spec, overrides)
    found_rows, front_rows, summary = [], [], {}
    for name in base.systems:
        # each system with its own variant (configs/laws/conservation.py:<system>)
        config = (
            load_config(spec, [*overrides, f"system.name={name!r}"])
            if smoke
            else load_config(f"{path}:{name}", overrides)
        )
        started = time.perf_counter()
        exp = ConservationExperiment(config)
        result = train(config, workdir / name, progress=False, experiment=exp)
        seconds = time.perf_counter() - started
        state = jax.tree.map(lambda v: np.asarray(v)[0], result.state)
        front = conservation_front(exp.params, state, exp.md)
        summary[name] = {"seconds": seconds, "front": front}
        found = [r for r in front if r["energy_found"]]
        best_r = max((r["energy_r"] for r in front), default=0.0)
        note = (
            f"energy found at complexity {found[0]['complexity']}: {found[0]['sympy']}"
            if found
            else f"not found (best |r| {best_r:.4f})"
        )
        how = (
            f"fitness {config.fitness}{', conjugate pairs' if exp.objective.conjugate else ''}, "
            f"{config.train.steps} generations, {seconds:.0f} s"
        )
        summary[name].update(fitness=config.fitness, generations=int(config.train.steps))
        found_rows.append(
            Row(
                exp.system.name,
                "energy on the Pareto front",
                [float(bool(found))],
                1.0,
                note=f"{note} ({how})",
            )
        )
        kept = [r for r in front if r["drift"] < C.CONSERVED_DRIFT]
        found_rows.append(
            Row(
                exp.system.name,
                f"a conserved quantity on the front (drift < {C.CONSERVED_DRIFT})",
                [float(bool(kept))],
                note=(
                    f"complexity {kept[0]['complexity']}: {kept[0]['sympy']} (energy |r| "
                    f"{kept[0]['energy_r']:.4f}, drift {kept[0]['drift']:.2g})"
                    if kept
                    else "none"
                ),
            )
        )
        for r in front:
            front_rows.append(
                Row(
                    exp.system.name,
                    f"c={r['complexity']}: {r['sympy']}",
                    [r["loss"]],
                    note=f"energy |r| {r['energy_r']:.4f}{' (energy)' if r['energy_found'] else ''}"
                    f", drift {r['drift']:.2g}",
                )
            )
        _log(f"  {name}: {note} ({seconds:.0f} s)")
    (workdir / "conservation_results.json").write_text(json.dumps(summary, indent=1))
    s = base.search
    budget = (
        f"population {s.population_size} ({s.populations} islands), generations and fitness as "
        f"noted per system, {s.max_rows} rows, maxsize {s.maxsize}, position noise "
        f"{base.system.noise} x std, Savitzky-Golay window {base.system.window}"
    )
    return [
        Table(
            "Conserved quantities: energy found (Schmidt & Lipson 2009 found it in every system)",
            found_rows,
            reference_name="paper",
            metric="1 = a Pareto candidate is an affine function of the energy (|r| > 0.9999)",
            notes=[f"Budget per system: {budget}."],
        ),
        Table(
            "Conserved quantities: Pareto fronts (derivative-ratio loss, lower is better)",
            front_rows,
            reference_name="paper",
            metric="the system's fitness: pair ratios (the paper's) or scale-relative rates",
            lower_is_better=True,
            notes=[
                "drift = std of f within each recorded trajectory / std of f on random states "
                "of the bounding box (small: conserved along the motion, not constant)."
            ],
        ),
    ]
