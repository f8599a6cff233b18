"""Shared pieces of the laws configs (imported by the files in configs/laws/)."""

from __future__ import annotations

import ml_collections

from frontier.config import ConfigError, base_config, smoke_variant

FEYNMAN_OPERATORS = ("add", "sub", "mul", "div", "sin", "cos", "exp", "log", "sqrt", "square")


def feynman_config(arg: str | None, *, generations: int, num_equations: int):
    """One Feynman equation's search (`data.equation`) plus the `benchmark` block that
    `frontier reproduce laws/feynman` reads (the first `num_equations` of the table, gplearn
    with the same population and generations, Operon with a wall-time limit). `arg="smoke"`
    shrinks it to seconds."""
    smoke = smoke_variant(arg)
    population, islands, maxsize, rows, opt_steps = 1000, 4, 30, 1000, 20
    ops = FEYNMAN_OPERATORS
    points = 10_000
    if smoke:
        generations, num_equations, population, islands = 3, 2, 32, 2
        maxsize, rows, opt_steps, points = 10, 200, 0, 400
        ops = ("add", "sub", "mul", "div")
    cfg = base_config(
        "laws/symbolic_regression",
        steps=generations,
        log_every=1,
        eval_every=generations,
        checkpoint_every=generations,
    )
    cfg.data = ml_collections.ConfigDict(
        {"equation": "I.12.2", "num_points": points, "noise": 0.0, "seed": 0}
    )
    cfg.search = ml_collections.ConfigDict(
        {
            "population_size": population,
            "populations": islands,
            "tournament_size": 10 if not smoke else 4,
            "maxsize": maxsize,
            "init_max_size": min(12, maxsize),
            "parsimony_coefficient": 1e-3,
            "optimize_top": 8 if not smoke else 2,
            "optimizer_iterations": opt_steps,
            "max_rows": rows,
            "max_vars": 10,  # all equations share one compiled search (at most 9 variables)
            "linear_scaling": True,
            # share of children that add a subtree of the other parent to the weighted sum
            # (19/30 symbolic with 0.1 and 300 generations, 18/30 with 0 and 100: README)
            "p_add_term": 0.1 if not smoke else 0.0,
            "operators": list(ops),
        }
    )
    cfg.benchmark = ml_collections.ConfigDict(
        {
            "num_equations": num_equations,
            # names of the equations to run instead (e.g. ['I.10.7', 'I.18.4']); empty: the
            # first num_equations of the table
            "equations": [],
            # feynman_results.json files of earlier runs: each method stored there is taken
            # as is (ours' stored time is then the peers' wall budget), the rest is run; e.g.
            # ours from one run, gplearn and Operon each in its own process, merged by a third
            "results_from": [],
            # "wall": gplearn and Operon each get the wall time ours took on the equation
            # (gplearn evolves generation by generation until then); "generations": gplearn
            # gets our population and generations, Operon `operon_time_limit` seconds
            "peer_budget": "wall",
            "gplearn": True,
            "gplearn_population": population,
            "gplearn_generations": generations,
            "gplearn_tournament_size": 20,
            # Operon (pyoperon, C++) under a wall-time limit comparable to ours per equation,
            # population `population`, length limit `maxsize`, FEYNMAN_OPERATORS' symbols.
            "operon": True,
            "operon_time_limit": 60 if not smoke else 2,
            "operon_optimizer_iterations": 10,
            "operon_threads": 1,
        }
    )
    return cfg


# Settings of a system's variant (`conservation.py:<system>`) that differ from the defaults
# (the pair-ratio fitness, 150 generations, new terms drawn fresh). The double pendulum's
# momenta mix both velocities, so the conjugate-pair terms cannot apply; under the pair
# ratios non-conserved candidates score better than its energy, while the scale-relative
# rates rank the energy above them (README, laws/conservation), and terms recombined between
# parents bring the search closest to it (3000 generations gave the same front as 1000).
CONSERVATION_SYSTEMS = {
    "harmonic": {},
    "pendulum": {},
    "coupled": {},
    "double_pendulum": {
        "fitness": "rates",
        "generations": 1000,
        "add_term_donor": 1.0,
        "p_add_term": 0.1,
    },
}


def conservation_config(arg: str | None, *, system: str, generations: int):
    """A conserved-quantity search on one simulated system (`system.name`); the reproduction
    runs every system in `systems`, each with its variant. `arg`: None (`system`), a system
    name (that system with its settings in `CONSERVATION_SYSTEMS`) or "smoke" (seconds)."""
    variant = {}
    if arg in CONSERVATION_SYSTEMS:
        system, variant, arg = arg, CONSERVATION_SYSTEMS[arg], None
    elif arg not in (None, "smoke"):
        raise ConfigError(
            f"unknown variant {arg!r}; the variants are: smoke, {', '.join(CONSERVATION_SYSTEMS)}"
        )
    smoke = smoke_variant(arg)
    generations = int(variant.get("generations", generations))
    population, islands, maxsize, rows, opt_steps = 1000, 4, 30, 400, 10
    if smoke:
        generations, population, islands, maxsize, rows, opt_steps = 3, 32, 2, 10, 100, 0
    cfg = base_config(
        "laws/conservation",
        steps=generations,
        log_every=max(1, generations // 10),
        eval_every=generations,
        checkpoint_every=generations,
    )
    # Savitzky-Golay window 141, order 7: of (31..141) x (3, 5, 7), the lowest acceleration
    # error against the simulation, averaged over the four systems (4.2% of the std; the old
    # cubic over 61 samples: 6.8%, biasing the pendulum's fitted energy weights by 8%)
    cfg.system = ml_collections.ConfigDict(
        {"name": system, "noise": 0.01, "window": 141, "order": 7, "seed": 0}
    )
    # closed-form weights for the additive terms (conservation.term_weight_refit) of the best
    # `top` children of each island and of `random` others, fitted on `rows` spaced rows
    cfg.refine = ml_collections.ConfigDict(
        {
            "top": 8 if not smoke else 2,
            "random": 32 if not smoke else 2,
            "max_terms": 6,
            # children made by adding a random term to a parent (then weighted by the refit)
            "p_add_term": float(variant.get("p_add_term", 0.05)),
            # of those, the fraction whose new term is a subtree of another parent
            "add_term_donor": float(variant.get("add_term_donor", 0.0)),
            # children in which a subtree s becomes op(s, a subtree of the other parent)
            "p_wrap": float(variant.get("p_wrap", 0.0)),
            "rows": 1000 if not smoke else 200,
        }
    )
    # "pairs": the paper's pair ratios; "rates": df/dt over the size of the per-variable
    # rates (conservation.ConservationObjective)
    cfg.fitness = variant.get("fitness", "pairs")
    # loss += drift_weight x (spread of f within each trajectory / over the states' box), on
    # `drift_rows` observed states per trajectory (ConservationObjective.drift); 0: off
    cfg.drift_weight = float(variant.get("drift_weight", 0.0))
    cfg.drift_rows = 200 if not smoke else 50
    cfg.systems = ["harmonic", "pendulum", "coupled", "double_pendulum"]
    if smoke:
        cfg.systems = ["harmonic"]
    cfg.search = ml_collections.ConfigDict(
        {
            "population_size": population,
            "populations": islands,
            "tournament_size": 10 if not smoke else 4,
            "maxsize": maxsize,
            "init_max_size": min(10, maxsize),
            "parsimony_coefficient": 2e-3,
            "optimize_top": 4 if not smoke else 2,
            "optimizer_iterations": opt_steps,
            "max_rows": rows,
        }
    )
    return cfg
