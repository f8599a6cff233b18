"""Simulated motion, numerical derivatives, the derivative-ratio fitness and its guards."""

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
    spec = E.Spec(("add", "sub", "mul", "cos", "sin", "square"), 2, 16)
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
    loss = np.asarray(jax.jit(C.ConservationObjective(spec))(t, c, data))
    assert loss[0] < 0.1 and loss[0] < loss[1] - 0.3
    assert np.all(loss[2:] >= C.TRIVIAL_PENALTY), loss
    found, r = C.energy_found(spec, t[0], c[0], md)
    assert found and r > 0.9999
    assert not C.energy_found(spec, t[1], c[1], md)[0]
    assert C.drift_along_motion(spec, t[0], c[0], md) < 1e-3
    assert C.drift_along_motion(spec, t[1], c[1], md) > 0.1
