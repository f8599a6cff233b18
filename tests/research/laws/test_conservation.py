"""Simulated motion, numerical derivatives, the derivative-ratio fitness and its guards."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from research.laws import conservation as C
from research.laws import expr as E


def test_rk4_matches_the_analytic_oscillator():
    ys = C.integrate(lambda s: jnp.stack([s[1], -4.0 * s[0]]), jnp.asarray([1.0, 0.0]), 0.01, 300)
    t = np.arange(301) * 0.01
    np.testing.assert_allclose(np.asarray(ys[:, 0]), np.cos(2 * t), atol=1e-5)


@pytest.mark.parametrize("name", list(C.SYSTEMS))
def test_every_system_conserves_its_energy(name):
    s = C.get_system(name)
    ys = np.asarray(C.integrate(s.dynamics, jnp.asarray(s.initial_states[0]), s.dt, s.steps))
    h = np.asarray(s.energy(ys))
    assert np.ptp(h) < 1e-3 * (np.abs(h).mean() + 1.0), name
    sym = sp.sympify(s.energy_formula, locals={n: sp.Symbol(n) for n in s.variables})
    f = sp.lambdify([sp.Symbol(n) for n in s.variables], sym, "numpy")
    r = np.corrcoef(f(*ys.T), h)[0, 1] if np.ptp(h) > 0 else 1.0
    np.testing.assert_allclose(f(*ys.T) - f(*ys[0]), 0.0, atol=1e-3)
    assert np.isfinite(r)


def test_derivatives_from_smoothed_noisy_positions():
    md = C.simulate(C.get_system("harmonic"), noise=0.01, window=41)
    v_err = np.abs(md.states[:, 1] - md.true_states[:, 1])
    assert np.sqrt(np.mean(v_err**2)) < 0.03 * np.std(md.true_states[:, 1])
    k = 2.0  # acceleration = -k x
    a_err = md.derivatives[:, 1] + k * md.true_states[:, 0]
    assert np.sqrt(np.mean(a_err**2)) < 0.15 * np.std(md.derivatives[:, 1])
    with pytest.raises(ValueError, match="window must be odd"):
        C.simulate(C.get_system("harmonic"), window=30)
    with pytest.raises(KeyError, match="unknown system 'spring'.*pendulum"):
        C.get_system("spring")


@pytest.fixture(scope="module")
def pendulum():
    s = C.get_system("pendulum")
    md = C.simulate(s, noise=0.005)
    spec = E.Spec(("add", "sub", "mul", "cos", "sin", "square", "exp"), 2, 16)
    return s, md, spec, C.search_data(md, 300)


def _encode(spec, texts, names):
    enc = [E.from_sympy(spec, sp.sympify(t, locals={n: sp.Symbol(n) for n in names}), names)
           for t in texts]  # fmt: skip
    return jnp.asarray(np.stack([e[0] for e in enc])), jnp.asarray(np.stack([e[1] for e in enc]))


def test_energy_scores_best_and_trivial_solutions_are_penalised(pendulum):
    s, md, spec, data = pendulum
    texts = [
        "omega**2/2 - 9.81*cos(theta)",  # the energy
        "omega*theta",  # uses both, not conserved
        "2.5",  # a constant
        "theta",  # one variable
        "theta + omega - omega",  # one variable in disguise
    ]
    t, c = _encode(spec, texts, list(s.variables))
    for fitness in C.FITNESSES:
        loss = np.asarray(jax.jit(C.ConservationObjective(spec, fitness=fitness))(t, c, data))
        assert loss[0] < 0.1 and loss[0] < loss[1] - 0.3, (fitness, loss)
        assert np.all(loss[2:] >= C.TRIVIAL_PENALTY), (fitness, loss)
    found, r = C.energy_found(spec, t[0], c[0], md)
    assert found and r > 0.9999
    assert not C.energy_found(spec, t[1], c[1], md)[0]
    assert C.drift_along_motion(spec, t[0], c[0], md) < 1e-3
    assert C.drift_along_motion(spec, t[1], c[1], md) > 0.1


def test_additive_terms_split_the_root_sum_and_strip_constant_factors():
    spec = E.Spec(("add", "sub", "mul", "cos", "square"), 2, 16)
    names = ["a", "b"]
    t, c = _encode(spec, ["3.0*a**2 - cos(b) + 1.5", "a*b"], names)
    start, length, valid, ok = E.additive_terms(spec, t[0], 4)
    bodies = [
        str(E.to_sympy(spec, np.asarray(t[0][s : s + n]), np.asarray(c[0][s : s + n]), names))
        for s, n, v in zip(np.asarray(start), np.asarray(length), np.asarray(valid), strict=True)
        if v
    ]
    assert bool(ok) and sorted(bodies) == ["a**2", "cos(b)"], bodies
    start, length, valid, ok = E.additive_terms(spec, t[1], 4)
    assert bool(ok) and int(valid.sum()) == 1 and int(length[valid][0]) == 3
    assert not bool(E.additive_terms(spec, t[0], 1)[3])  # two terms > max_terms=1


def test_term_weight_refit_recovers_the_energy_weights(pendulum):
    s, md, spec, data = pendulum
    names = list(s.variables)
    # the right terms with the wrong weights, and a single term (nothing to fit)
    t, c = _encode(spec, ["omega**2 + cos(theta)", "omega**2"], names)
    obj = C.ConservationObjective(spec)
    nt, nc, changed = jax.jit(obj.refine)(t, c, data)
    assert changed.tolist() == [True, False]
    np.testing.assert_array_equal(np.asarray(nt[1]), np.asarray(t[1]))
    assert E.is_valid(spec, np.asarray(nt[0]))
    loss_before, loss_after = np.asarray(obj(jnp.concatenate([t[:1], nt[:1]]),
                                             jnp.concatenate([c[:1], nc[:1]]), data))  # fmt: skip
    assert loss_after < 0.1 < loss_before
    found, r = C.energy_found(spec, nt[0], nc[0], md)
    assert r > 0.999, r
    # omega**2 * w + cos(theta): w = -1 / (2 * 9.81) up to the derivative's bias
    f = sp.expand(E.to_sympy(spec, np.asarray(nt[0]), np.asarray(nc[0]), names))
    w_kin = float(f.coeff(sp.Symbol("omega"), 2))
    w_pot = float(f.coeff(sp.cos(sp.Symbol("theta"))))
    assert w_pot / w_kin == pytest.approx(-2 * C.G_ACC, rel=0.1), f
    with pytest.raises(ValueError, match="max_terms must be >= 0"):
        C.ConservationObjective(spec, max_terms=-1)
    off = C.ConservationObjective(spec, max_terms=0)
    assert not bool(jnp.any(off.refine(t, c, data)[2]))
    assert off != obj and hash(off) != hash(obj)


def test_the_search_refines_children_only_where_the_fitness_improves(pendulum):
    from research.laws import genetic as G

    s, md, spec, data = pendulum
    t, c = _encode(spec, ["omega**2 + cos(theta)", "omega*theta", "omega**2", "theta"], s.variables)
    obj = C.ConservationObjective(spec)
    loss = jax.jit(obj)(t, c, data)
    small = {"max_size": 16, "init_max_size": 4, "tournament_size": 2, "migrants": 1}
    p = G.SearchParams(spec, islands=1, island_size=4, refine_top=2, refine_random=2,
                       optimize_top=2, **small)  # fmt: skip
    refine = jax.jit(G._refine, static_argnums=(0, 1))
    kt, kc, kl = refine(p, obj, t[None], c[None], loss[None], data, jax.random.key(0))
    assert float(kl[0, 0]) < 0.1 < float(loss[0])  # weighted: omega**2 - 0.05 cos(theta)
    assert not np.array_equal(np.asarray(kt[0, 0]), np.asarray(t[0]))
    np.testing.assert_array_equal(np.asarray(kt[0, 1:]), np.asarray(t[1:]))  # nothing to fit
    np.testing.assert_allclose(np.asarray(kl[0, 1:]), np.asarray(loss[1:]))
    with pytest.raises(ValueError, match="refine_top and refine_random"):
        G.SearchParams(spec=spec, island_size=4, refine_top=3, refine_random=2, max_size=16,
                       tournament_size=2, migrants=1, optimize_top=2)  # fmt: skip
    with pytest.raises(ValueError, match="order must be >= 2"):
        C.simulate(s, order=1)


def test_add_term_appends_a_random_term_within_the_size_limit():
    from research.laws import genetic as G

    spec = E.Spec(("add", "mul", "cos"), 2, 12)
    t, c = _encode(spec, ["cos(a)", "2.5*b", "a*b*cos(a*b*cos(a))"], ["a", "b"])
    p = G.SearchParams(spec, island_size=4, tournament_size=2, migrants=1, optimize_top=2,
                       max_size=12, init_max_size=4, p_add_term=0.1)  # fmt: skip
    nt, nc = G.add_term(p, t[0], c[0], t[1], c[1])
    assert str(E.to_sympy(spec, np.asarray(nt), np.asarray(nc), ["a", "b"])) == "2.5*b + cos(a)"
    nt, nc = G.add_term(p, t[2], c[2], t[1], c[1])  # 1 + 11 + 3 tokens > max_size
    np.testing.assert_array_equal(np.asarray(nt), np.asarray(t[2]))
    with pytest.raises(ValueError, match="needs the 'add' operator"):
        G.SearchParams(E.Spec(("mul",), 2, 12), island_size=4, tournament_size=2, migrants=1,
                       optimize_top=2, max_size=12, init_max_size=4, p_add_term=0.1)  # fmt: skip


def test_add_term_inside_grows_the_weighted_sum_under_a_product():
    from research.laws import genetic as G

    spec = E.Spec(("add", "mul", "div", "cos"), 3, 16)
    names = ["a", "b", "c"]
    parents = ["a*(b + cos(b))", "a/(b*c)", "cos(a) + b", "cos(a)"]
    t, c = _encode(spec, [*parents, "c"], names)
    p = G.SearchParams(spec, island_size=4, tournament_size=2, migrants=1, optimize_top=2,
                       max_size=16, init_max_size=4, p_add_term=0.1,
                       add_term_inside=True)  # fmt: skip
    want = ["a*(b + c + cos(b))", "(a + c)/(b*c)", "b + c + cos(a)", "c + cos(a)"]
    for k, expected in enumerate(want):
        at = G.add_term_position(p, t[k])
        nt, nc = G.add_term(p, t[k], c[k], t[4], c[4], at=at)
        got = E.to_sympy(spec, np.asarray(nt), np.asarray(nc), names)
        assert sp.simplify(got - sp.sympify(expected)) == 0, (parents[k], got)
    # u < 0.5: a quotient's divisor, or the sum under its square root; a root's radicand
    spec = E.Spec(("add", "mul", "div", "sqrt"), 3, 16)
    parents = ["a/(b*c)", "a/sqrt(b + 1)", "sqrt(a*b)", "a/(b*c)"]
    t, c = _encode(spec, [*parents, "c"], names)
    p = dataclasses.replace(p, spec=spec)
    want = ["a/(b*c + c)", "a/sqrt(b + c + 1)", "sqrt(a*b + c)", "(a + c)/(b*c)"]
    for k, (expected, u) in enumerate(zip(want, [0.2, 0.2, 0.7, 0.7], strict=True)):
        at = G.add_term_position(p, t[k], u=u)
        nt, nc = G.add_term(p, t[k], c[k], t[4], c[4], at=at)
        got = sp.nsimplify(E.to_sympy(spec, np.asarray(nt), np.asarray(nc), names))
        assert sp.simplify(got - sp.sympify(expected)) == 0, (parents[k], got)


def test_conjugate_pairs_tell_the_energy_from_other_conserved_quantities():
    """Coupled oscillators conserve both normal-mode energies, so any combination scores like
    the energy on the all-pair terms; the per-pair terms of Hamilton's equations prefer the
    energy, and the closed-form term weights then pick it out of the four mode terms."""
    s = C.get_system("coupled")
    md = C.simulate(s, noise=0.01, window=141, order=7)
    spec = E.Spec(("add", "sub", "mul", "square"), 4, 32)
    data = C.search_data(md, 400, fit_rows=600)
    names = list(s.variables)
    texts = [
        "(v1**2 + v2**2)/2 + (x1**2 + x2**2)/2 + (x1 - x2)**2/4",  # the energy
        "(v1 + v2)**2 + (x1 + x2)**2 + 3*((v1 - v2)**2 + 2*(x1 - x2)**2)",  # E_s + 3 E_a
        # the four mode terms with equal weights: conserved by neither
        "(v1 + v2)**2 + (x1 + x2)**2 + (v1 - v2)**2 + (x1 - x2)**2",
    ]
    t, c = _encode(spec, texts, names)
    plain = np.asarray(jax.jit(C.ConservationObjective(spec, conjugate=0))(t, c, data))
    paired = C.ConservationObjective(spec, max_terms=4, conjugate=2)
    loss = np.asarray(jax.jit(paired)(t, c, data))
    assert abs(plain[0] - plain[1]) < 0.05, plain  # indistinguishable without the pairs
    assert loss[0] < loss[1] - 0.1, loss
    # the same with rates relative to their scale: without the pairs a mode mixture wins
    rates = [
        np.asarray(jax.jit(C.ConservationObjective(spec, 4, d, "rates"))(t, c, data))
        for d in (0, 2)
    ]
    assert rates[0][1] < rates[0][0] and rates[1][0] < rates[1][1] - 0.1, rates
    # refit the wrongly weighted mode terms: with the pair rows the weights are the energy's
    for obj, expect_energy in ((paired, True), (C.ConservationObjective(spec, 4), False)):
        nt, nc, changed = jax.jit(obj.refine)(t[2:], c[2:], data)
        assert bool(changed[0])
        r = C.energy_found(spec, nt[0], nc[0], md)[1]
        assert (r > 0.9995) == expect_energy, (expect_energy, r)
    with pytest.raises(ValueError, match="fitness must be one of"):
        C.ConservationObjective(spec, fitness="ratio")
    with pytest.raises(ValueError, match="conjugate must be between 0 and half the variables"):
        C.ConservationObjective(spec, conjugate=3)
    assert paired != C.ConservationObjective(spec) and hash(paired) != hash(
        C.ConservationObjective(spec)
    )


def test_donor_terms_come_from_the_other_parent_not_from_a_fresh_tree():
    from research.laws import genetic as G

    spec = E.Spec(("add", "mul", "cos", "sin"), 2, 20)
    t, c = _encode(spec, ["cos(a)", "2.5*b*cos(a*b)", "sin(a)"], ["a", "b"])
    pop_t, pop_c, fresh_t, fresh_c = t[:2], c[:2], t[2], c[2]  # sin occurs only in the fresh tree
    kw = dict(island_size=2, tournament_size=1, migrants=1, optimize_top=1, max_size=20,
              init_max_size=4, p_crossover=0.0, p_subtree_mutation=0.0, p_hoist_mutation=0.0,
              p_point_mutation=0.0, p_add_term=1.0)  # fmt: skip
    n = G.offspring_randoms(G.SearchParams(spec, **kw))
    us = jax.random.uniform(jax.random.key(0), (40, n))
    add = spec.first_op + spec.ops.index("add")
    sizes = [int(E.sizes(x)) for x in pop_t]
    rows = [list(np.asarray(x[:k])) for x, k in zip(pop_t, sizes, strict=True)]
    for donor in (0.0, 1.0):
        p = G.SearchParams(spec, add_term_donor=donor, **kw)
        child = jax.jit(G._offspring, static_argnums=(0, 7))
        for u in us:
            ct, _ = child(p, u, pop_t, pop_c, jnp.zeros(2), fresh_t, fresh_c, 2)
            ct = list(np.asarray(ct)[: int(E.sizes(ct))])
            assert ct[0] == add, ct  # add(parent, new term)
            first = next(r for r in rows if ct[1 : 1 + len(r)] == r)
            term = ct[1 + len(first) :]
            if donor == 0.0:
                assert term == list(np.asarray(fresh_t[: int(E.sizes(fresh_t))])), term
            else:  # a contiguous subtree of a population member, never the fresh tree
                assert any(r[k : k + len(term)] == term for r in rows for k in range(len(r))), term
    with pytest.raises(ValueError, match="add_term_donor must be in"):
        G.SearchParams(spec, add_term_donor=1.5, **kw)


def test_wrap_inserts_a_binary_node_above_a_subtree():
    from research.laws import genetic as G

    spec = E.Spec(("add", "mul", "cos", "sin"), 2, 12)
    names = ["a", "b"]
    t, c = _encode(spec, ["a*b + cos(a)", "sin(b)", "a*b*cos(a*b*cos(a))"], names)
    kw = dict(island_size=4, tournament_size=2, migrants=1, optimize_top=2, max_size=12,
              init_max_size=4, p_crossover=0.5, p_wrap=0.1)  # fmt: skip
    p = G.SearchParams(spec, **kw)
    t0 = [int(v) for v in np.asarray(t[0])]
    i = t0.index(spec.first_op + spec.ops.index("cos"))  # the cos(a) subtree: [i, i + 2)
    for u, expect in ((0.75, "a*b + sin(b)*cos(a)"), (0.25, "a*b + sin(b) + cos(a)")):
        nt, nc = G.wrap(p, t[0], c[0], i, i + 2, t[1], c[1], 0, 2, u)
        assert str(E.to_sympy(spec, np.asarray(nt), np.asarray(nc), names)) == expect
    big = int(E.sizes(t[2]))  # 11 tokens: wrapping the root with sin(b) exceeds max_size
    nt, _ = G.wrap(p, t[2], c[2], 0, big, t[1], c[1], 0, 2, 0.75)
    np.testing.assert_array_equal(np.asarray(nt), np.asarray(t[2]))
    with pytest.raises(ValueError, match="p_wrap > 0 needs a binary operator"):
        G.SearchParams(E.Spec(("cos",), 2, 12), **kw)


def test_each_system_has_a_config_variant_the_reproduction_runs():
    from frontier.config import ConfigError, configs_root, load_config
    from research.laws.configs import CONSERVATION_SYSTEMS

    path = str(configs_root() / "laws" / "conservation.py")
    default = load_config(path)
    assert set(CONSERVATION_SYSTEMS) == set(C.SYSTEMS) == set(default.systems)
    for name, settings in CONSERVATION_SYSTEMS.items():
        cfg = load_config(f"{path}:{name}", ["refine.top=4"])
        assert cfg.system.name == name and cfg.refine.top == 4
        assert cfg.fitness == settings.get("fitness", "pairs")
        assert cfg.train.steps == settings.get("generations", default.train.steps)
        assert cfg.refine.add_term_donor == settings.get("add_term_donor", 0.0)
    with pytest.raises(ConfigError, match="unknown variant 'spring'.*double_pendulum"):
        load_config(f"{path}:spring")


def test_trajectory_weight_refit_recovers_weights_from_states_alone():
    """The double pendulum's energy terms with wrong weights come back as its energy from
    the observed states (no derivatives); a structure holding two conserved quantities (the
    coupled oscillators' mode terms) and a single term are left alone."""
    s = C.get_system("double_pendulum")
    md = C.simulate(s, noise=0.01, window=141, order=7)
    spec = E.Spec(s.operators, 4, 30)
    names = list(s.variables)
    energy = "omega1*omega2*cos(theta1 - theta2) + 1.3*omega1**2 + 0.4*omega2**2 - 18*cos(theta1) - 9*cos(theta2)"  # noqa: E501
    small_angle = "omega1*omega2 + 1.3*omega1**2 + 0.4*omega2**2 - 18*cos(theta1) - 9*cos(theta2)"
    t, c = _encode(spec, [energy, small_angle, "omega1**2"], names)
    t, c = np.asarray(t), np.asarray(c)
    assert C.energy_found(spec, t[0], c[0], md)[1] < 0.99
    nt, nc, changed = C.trajectory_weight_refit(spec, t[0], c[0], md)
    assert changed
    found, r = C.energy_found(spec, nt, nc, md)
    assert found and r > 0.99999, r
    f = sp.expand(E.to_sympy(spec, nt, nc, names))
    w1, w2 = sp.Symbol("omega1"), sp.Symbol("omega2")
    ratio = float(f.coeff(w1, 2)) / float(f.coeff(w2, 2))
    assert ratio == pytest.approx(2.0, rel=0.01), f  # omega1**2 + omega2**2 / 2
    assert C.observed_drift(spec, nt, nc, md) < 0.1 * C.observed_drift(spec, t[0], c[0], md)
    # the wrong structure gets its best weights, still not the energy
    nt, nc, changed = C.trajectory_weight_refit(spec, t[1], c[1], md)
    assert changed and not C.energy_found(spec, nt, nc, md)[0]
    assert not C.trajectory_weight_refit(spec, t[2], c[2], md)[2]
    # two conserved combinations: no unique weights, nothing changed (the double pendulum's
    # spec, so the compiled functions are reused)
    s = C.get_system("coupled")
    md = C.simulate(s, noise=0.01, window=141, order=7)
    modes = "(v1 + v2)**2 + (x1 + x2)**2 + (v1 - v2)**2 + (x1 - x2)**2"
    t, c = _encode(spec, [modes], list(s.variables))
    nt, nc, changed = C.trajectory_weight_refit(spec, np.asarray(t[0]), np.asarray(c[0]), md)
    assert not changed
    np.testing.assert_array_equal(nt, np.asarray(t[0]))


def test_drift_term_reads_observed_states_and_adds_to_the_loss(pendulum):
    s, md, spec, _ = pendulum
    data = C.search_data(md, 300, drift_rows=100)
    assert data["drift_x"].shape == (len(s.initial_states) + 1, 100, 2)
    texts = [
        "omega**2/2 - 9.81*cos(theta)",
        "omega*theta",
        "omega**2/2 - 8*cos(theta)",
        "exp(omega**2/2 - 9.81*cos(theta))",  # a monotone function of the energy
    ]
    t, c = _encode(spec, texts, list(s.variables))
    plain = C.ConservationObjective(spec, fitness="rates")
    weighted = C.ConservationObjective(spec, fitness="rates", drift_weight=2.0)
    assert plain != weighted
    drift = np.asarray(jax.jit(weighted.drift)(t, c, data))
    # the energy barely moves along the motion; a wrong weight moves it, a product far more
    assert drift[0] < 0.02 < 0.1 < drift[2] < 0.5 < drift[1], drift
    assert drift[3] == pytest.approx(drift[0], abs=1e-6)  # quantiles: monotone-invariant
    loss = np.asarray(jax.jit(weighted)(t, c, data)) - np.asarray(jax.jit(plain)(t, c, data))
    np.testing.assert_allclose(loss, 2.0 * drift, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="drift_rows"):
        weighted(t, c, C.search_data(md, 300))
    with pytest.raises(ValueError, match="drift_weight must be >= 0"):
        C.ConservationObjective(spec, drift_weight=-1.0)


def test_drift_weight_in_the_config_builds_the_drift_rows_or_says_what_is_missing():
    from frontier.config import ConfigError, load_config
    from research.laws.experiments import conservation_setup

    spec = "configs/laws/conservation.py:smoke"
    *_, objective, data = conservation_setup(load_config(spec, ["drift_weight=1.5"]))
    assert objective.drift_weight == 1.5 and data["drift_x"].shape[1:] == (50, 2)
    *_, objective, data = conservation_setup(load_config(spec))
    assert objective.drift_weight == 0.0 and "drift_x" not in data
    with pytest.raises(ConfigError, match="needs drift_rows >= 2"):
        conservation_setup(load_config(spec, ["drift_weight=1.0", "drift_rows=1"]))
