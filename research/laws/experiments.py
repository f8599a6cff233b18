"""The genetic search as a `frontier.Experiment`: one generation per loop step.

`laws/symbolic_regression` searches a formula for a Feynman equation's data (or for arrays
given by `SymbolicRegressor(workdir=...)`); `laws/conservation` searches a conserved quantity
of a simulated system. The population and hall of fame are the loop's state, so a search
checkpoints and resumes like any other run. `config.search` holds `SymbolicRegressor`
parameters (gplearn / PySR names).

This module builds on `regressor` (never the reverse: `SymbolicRegressor(workdir=...)` finds
`laws/symbolic_regression` through the registry, with `regressor.loop_config`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import frontier
from frontier.config import ConfigError
from research.laws import conservation as C
from research.laws import expr as E
from research.laws import genetic as G
from research.laws.feynman import get_equation, make_dataset
from research.laws.regressor import (
    SymbolicRegressor,
    round_floats,
    simplify_safely,
)


def estimator_from_config(search, **extra) -> SymbolicRegressor:
    kwargs = {k: search[k] for k in search.keys() if k not in ("operators",)}
    if "operators" in search:
        kwargs["function_set"] = tuple(search["operators"])
    return SymbolicRegressor(**kwargs, **extra)


def _best_member(state):
    k = jnp.argmin(state["hof_loss"])
    return state["hof_tokens"][k], state["hof_consts"][k], state["hof_loss"][k]


@frontier.experiment("laws/symbolic_regression", "Genetic symbolic regression (JAX engine)")
class SymbolicRegressionExperiment(frontier.Experiment):
    """Searches y = f(x) on a Feynman equation's data (`data.equation`) or given arrays."""

    key_metrics = ("loss", "mean_size")
    vmap_seeds = False  # a population per seed is already a large batch

    def __init__(self, config, arrays=None):
        super().__init__(config)
        if arrays is None:
            eq = get_equation(config.data.equation)
            ds = make_dataset(
                eq, int(config.data.num_points), float(config.data.noise), int(config.data.seed)
            )
            x_tr, y_tr, x_te, y_te, names = ds.x_train, ds.y_train, ds.x_test, ds.y_test, eq.names
        else:
            x_tr, y_tr = arrays
            x_te, y_te, names = x_tr, y_tr, [f"x{i}" for i in range(x_tr.shape[1])]
        self.estimator = estimator_from_config(config.search, random_state=int(config.seed))
        self.params = self.estimator.search_params(x_tr.shape[1])
        self.objective = self.estimator.objective(self.params)
        self.data = self.estimator.search_data(
            x_tr, y_tr, self.params.spec.num_vars, int(config.seed)
        )
        self.names = names
        self.train_xy = (x_tr, y_tr)
        self.test_xy = (x_te, y_te)
        xt = np.zeros((len(x_te), self.params.spec.num_vars), np.float32)
        xt[:, : x_te.shape[1]] = x_te
        self.test = {"x": jnp.asarray(xt), "y": jnp.asarray(y_te, jnp.float32)}

    def init(self, key):
        return G.init_state(self.params, self.objective, self.data, key)

    def step(self, state, batch, key):
        return G.generation(self.params, self.objective, state, self.data, key)

    def evaluate(self, state, key):
        t, c, loss = _best_member(state)
        test_nmse = self.objective(t[None], c[None], self.test)[0]
        return {"loss": loss, "test_r2_scaled": 1.0 - test_nmse}

    def finalize(self, state, run_dir: Path, seeds):
        one = jax.tree.map(lambda v: np.asarray(v)[0], state)
        est = self.estimator
        est._finish(self.params, one, *self.train_xy, self.names)
        lines = ["| complexity | loss (train NMSE) | equation |", "|---|---|---|"]
        for r in est.pareto_front:
            lines.append(f"| {r['complexity']} | {r['loss']:.3g} | `{r['sympy']}` |")
        lines.append("")
        lines.append(f"selected: `{est.sympy()}`, test R^2 {est.score(*self.test_xy):.6f}")
        Path(run_dir, "pareto.md").write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------
# Conserved quantities


def conservation_setup(config):
    """(system, motion data, search params, objective, device data) for a config."""
    s = config.system
    system = C.get_system(s.name)
    md = C.simulate(system, float(s.noise), int(s.window), int(s.seed), int(s.get("order", 3)))
    est = estimator_from_config(config.search, function_set=system.operators)
    params = est.search_params(len(system.variables))
    r = config.get("refine", None)
    top, rand = (int(r.top), int(r.random)) if r else (0, 0)
    params = dataclasses.replace(
        params,
        refine_top=top,
        refine_random=rand,
        p_add_term=float(r.p_add_term) if r else 0.0,
        add_term_donor=float(r.add_term_donor) if r else 0.0,
        p_wrap=float(r.p_wrap) if r else 0.0,
    )
    # per-pair terms where velocities are canonical (they pick the energy among conserved
    # quantities); the double pendulum's momenta mix both velocities, so it has none
    conjugate = len(system.positions) if system.canonical else 0
    objective = C.ConservationObjective(
        params.spec,
        max_terms=int(r.max_terms) if r else 0,
        conjugate=conjugate,
        fitness=str(config.get("fitness", "pairs")),
        drift_weight=float(config.get("drift_weight", 0.0)),
    )
    fit_rows = int(r.rows) if r and top + rand > 0 else 0
    drift_rows = int(config.get("drift_rows", 0)) if objective.drift_weight > 0 else 0
    if objective.drift_weight > 0 and drift_rows < 2:
        raise ConfigError(
            f"drift_weight {objective.drift_weight} needs drift_rows >= 2 (observed states "
            f"per trajectory), got {config.get('drift_rows', 0)}"
        )
    data = C.search_data(md, int(config.search.max_rows), int(s.seed), fit_rows, drift_rows)
    return system, md, params, objective, data


def conservation_front(params, state, md: C.MotionData) -> list[dict]:
    """The hall of fame's Pareto front with sympy forms and the energy checks. A candidate
    whose term weights, refitted on the observed states (`C.trajectory_weight_refit`), drift
    less along them is reported with those weights (`refit`; `energy_r_search` is the |r| of
    the search's own weights)."""
    spec = params.spec
    names = list(md.system.variables)
    rows = []
    for size in G.pareto_front(state["hof_loss"], params.max_size):
        t, c = np.asarray(state["hof_tokens"][size]), np.asarray(state["hof_consts"][size])
        # the search's weights come from estimated derivatives; refit them on the observed
        # states where that makes the candidate more nearly conserved along them
        rt, rc, changed = C.trajectory_weight_refit(spec, t, c, md)
        refit = changed and C.observed_drift(spec, rt, rc, md) < C.observed_drift(spec, t, c, md)
        _, r_search = C.energy_found(spec, t, c, md)
        if refit:
            t, c = rt, rc
        found, r = C.energy_found(spec, t, c, md)
        rows.append(
            {
                "complexity": size,
                "loss": float(state["hof_loss"][size]),
                "sympy": str(simplify_safely(round_floats(E.to_sympy(spec, t, c, names), 3, True))),
                "energy_r": r,
                "energy_found": bool(found),
                "drift": C.drift_along_motion(spec, t, c, md),
                "refit": bool(refit),
                "energy_r_search": r_search,
            }
        )
    return rows


@frontier.experiment("laws/conservation", "Conserved quantity from simulated motion data")
class ConservationExperiment(frontier.Experiment):
    """Searches f(x, v, ...) with the derivative-ratio fitness (Schmidt & Lipson 2009)."""

    key_metrics = ("loss", "mean_size")
    vmap_seeds = False

    def __init__(self, config):
        super().__init__(config)
        self.system, self.md, self.params, self.objective, self.data = conservation_setup(config)

    def init(self, key):
        return G.init_state(self.params, self.objective, self.data, key)

    def step(self, state, batch, key):
        return G.generation(self.params, self.objective, state, self.data, key)

    def evaluate(self, state, key):
        return {"loss": jnp.min(state["hof_loss"])}

    def finalize(self, state, run_dir: Path, seeds):
        one = jax.tree.map(lambda v: np.asarray(v)[0], state)
        rows = conservation_front(self.params, one, self.md)
        lines = [
            f"System: {self.system.name}; true energy {self.system.energy_formula}",
            "",
            "| complexity | loss | f | energy |r| | energy found |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['complexity']} | {r['loss']:.3g} | `{r['sympy']}` | {r['energy_r']:.4f} | "
                f"{'yes' if r['energy_found'] else 'no'} |"
            )
        Path(run_dir, "pareto.md").write_text("\n".join(lines) + "\n")
