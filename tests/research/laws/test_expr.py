"""The token encoding, the interpreter and the genetic operators."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from research.laws import expr as E
from research.laws import genetic as G

ALL_OPS = tuple(E.OPERATORS)
SPEC = E.Spec(ALL_OPS, 3, 24)
NAMES = ["a", "b", "c"]
a, b, c = sp.symbols("a b c")


def _eval(spec, exprs, x):
    enc = [E.from_sympy(spec, e, NAMES) for e in exprs]
    t = jnp.asarray(np.stack([e[0] for e in enc]))
    k = jnp.asarray(np.stack([e[1] for e in enc]))
    return np.asarray(E.evaluate_jit(spec, t, k, jnp.asarray(x, jnp.float32), 64))


def test_interpreter_matches_sympy_for_every_operator():
    exprs = [
        a + b * c,
        a - b / c,
        a**b,
        sp.sin(a) * sp.cos(b),
        sp.exp(a / 3) + sp.log(b),
        sp.sqrt(a) + b**2 + c**3,
        sp.Abs(a - b) - c,
        -(a * 2.5) + 1,
    ]
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, size=(100, 3))  # rows split over two chunks of 64
    out = _eval(SPEC, exprs, x)
    assert out.shape == (len(exprs), 100)
    for k, e in enumerate(exprs):
        want = sp.lambdify([a, b, c], e, "numpy")(*x.T)
        np.testing.assert_allclose(out[k], want, rtol=2e-5, atol=1e-5, err_msg=str(e))


def test_vectorised_sin_and_cos_agree_with_float64_and_differentiate():
    rng = np.random.default_rng(0)
    mag = np.concatenate([rng.uniform(0, 4, 20000), rng.uniform(4, 1e6, 20000)])
    x = (mag * rng.choice([-1.0, 1.0], mag.size)).astype(np.float32)
    for fast, ref in ((E.fast_sin, np.sin), (E.fast_cos, np.cos)):
        got = np.asarray(jax.jit(fast)(x))
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=0, atol=2e-7)
        # beyond the accurate range the value stays a sine's; inf and nan give nan
        wide = np.asarray(fast(jnp.asarray([1e20, -3e33], jnp.float32)))
        assert np.all(np.abs(wide) <= 1.0)
        bad = jnp.asarray([np.inf, -np.inf, np.nan], jnp.float32)
        assert np.all(np.isnan(np.asarray(fast(bad))))
    d_sin = jax.vmap(jax.grad(E.fast_sin))(jnp.asarray(x[:100]))
    d_cos = jax.vmap(jax.grad(E.fast_cos))(jnp.asarray(x[:100]))
    np.testing.assert_allclose(d_sin, np.cos(x[:100].astype(np.float64)), atol=2e-7)
    np.testing.assert_allclose(d_cos, -np.sin(x[:100].astype(np.float64)), atol=2e-7)


def test_protected_operators_stay_finite_with_finite_gradients():
    spec = E.Spec(("div", "log", "sqrt", "exp", "pow"), 1, 4)
    x = jnp.asarray([[0.0], [-4.0], [1e30]], jnp.float32)
    tok = lambda op, *args: [spec.first_op + spec.ops.index(op), *args]  # noqa: E731
    X = E.FIRST_VAR
    progs = [tok("div", E.CONST, X), tok("log", X), tok("sqrt", X), tok("exp", X)]
    t = jnp.asarray([p + [0] * (4 - len(p)) for p in progs], jnp.int32)
    k = jnp.where(t == E.CONST, 2.0, 0.0)
    out = np.asarray(E.evaluate(spec, t, k, x))
    assert np.all(np.isfinite(out))
    assert out[0, 0] == 1.0  # 2 / 0 -> 1, as in gplearn
    assert out[1, 0] == 0.0  # log(0) -> 0
    assert out[2, 1] == pytest.approx(2.0)  # sqrt(|-4|)
    g = jax.grad(lambda kk: jnp.sum(E.evaluate(spec, t, kk, x[:2])))(k)
    assert np.all(np.isfinite(np.asarray(g)))


def _ends_reference(spec, tokens):
    ar = spec.arity_table()
    out = []
    for i in range(len(tokens)):
        need, j = 1, i
        while need and j < len(tokens) and tokens[j] != E.PAD:
            need += ar[tokens[j]] - 1
            j += 1
        out.append(j if tokens[i] != E.PAD else i + 1)
    return out


@pytest.fixture(scope="module")
def params():
    return G.SearchParams(
        spec=E.Spec(("add", "mul", "sin", "div"), 3, 12),
        islands=2,
        island_size=16,
        tournament_size=3,
        init_max_size=8,
        max_size=12,
        migrants=2,
        optimize_top=2,
        optimize_steps=2,
    )


def test_random_trees_are_valid_prefix_expressions(params):
    t, c = jax.jit(lambda k: G.random_trees(params, k, 64, 2))(jax.random.key(3))
    t, c = np.asarray(t), np.asarray(c)
    sizes = (t != E.PAD).sum(1)
    assert sizes.min() >= 1 and sizes.max() <= params.init_max_size
    assert len(set(sizes.tolist())) > 3  # not all the same shape
    for row in t:
        assert E.is_valid(params.spec, row), row
    assert not np.any((t >= E.FIRST_VAR + 2) & (t < params.spec.first_op))  # only x0, x1
    assert np.all(c[t != E.CONST] == 0.0)
    ends = np.asarray(jax.vmap(lambda r: E.subtree_ends(params.spec, r))(jnp.asarray(t)))
    for row, e in zip(t, ends, strict=True):
        assert e.tolist() == _ends_reference(params.spec, row)


def test_splice_and_mutations_keep_expressions_valid(params):
    spec = params.spec
    t, c = jax.jit(lambda k: G.random_trees(params, k, 40, 3))(jax.random.key(5))
    off = jax.jit(
        lambda u, tt, cc: jax.vmap(
            lambda uu, ft, fc: G._offspring(params, uu, tt, cc, jnp.arange(40.0), ft, fc, 3)
        )(u, tt, cc)
    )
    u = jax.random.uniform(jax.random.key(1), (40, G.offspring_randoms(params)))
    kt, kc = off(u, t, c)
    kt = np.asarray(kt)
    assert not np.array_equal(kt, np.asarray(t))
    for row in kt:
        assert E.is_valid(spec, row), row
        assert (row != E.PAD).sum() <= params.max_size
    # a crossover by hand: replace the whole first tree by the second one's root subtree
    t1, t2 = np.asarray(t[0]), np.asarray(t[1])
    e2 = int((t2 != E.PAD).sum())
    child, _ = G.splice(t[0], c[0], 0, int((t1 != E.PAD).sum()), t[1], c[1], 0, e2, 12)
    assert np.array_equal(np.asarray(child), t2)


def test_sympy_latex_and_string_round_trip():
    e = a * b / c**2 + sp.sin(a) - 2.5
    t, k = E.from_sympy(SPEC, e, NAMES)
    assert E.is_valid(SPEC, t)
    assert sp.simplify(E.to_sympy(SPEC, t, k, NAMES) - e) == 0
    assert E.to_string(SPEC, t, k, NAMES).startswith("add(")
    assert "\\sin" in sp.latex(E.to_sympy(SPEC, t, k, NAMES))
    with pytest.raises(ValueError, match="not among"):
        E.from_sympy(E.Spec(("add",), 3, 8), a * b, NAMES)
    with pytest.raises(ValueError, match="max_len"):
        E.from_sympy(E.Spec(("add",), 3, 3), a + b + c, NAMES)


def test_sympy_form_of_protected_operators_on_numbers_is_the_engines_value():
    # a negative number under sqrt / log / pow is read as its magnitude by the engine; the
    # sympy form must not turn it into an imaginary number (sqrt(-2) -> sqrt(2), not sqrt(2) I),
    # and a division by (near) zero is 1 as in the engine
    cases = [
        (["sqrt", "const"], [0, -2.0]),
        (["log", "const"], [0, -3.0]),
        (["mul", "a", "pow", "const", "b"], [0, 0, 0, -2.0, 0]),
        (["div", "a", "const"], [0, 0, 0.0]),
        (["add", "a", "log", "const"], [0, 0, 0, 0.0]),
    ]
    x = np.random.default_rng(0).uniform(0.5, 2.0, size=(7, 3)).astype(np.float32)
    for names, cs in cases:
        t = np.zeros(SPEC.max_len, np.int32)
        k = np.zeros(SPEC.max_len, np.float32)
        for i, n in enumerate(names):
            if n == "const":
                t[i], k[i] = E.CONST, cs[i]
            elif n in NAMES:
                t[i] = E.FIRST_VAR + NAMES.index(n)
            else:
                t[i] = SPEC.first_op + SPEC.ops.index(n)
        model = E.to_sympy(SPEC, t, k, NAMES)
        assert not model.has(sp.I), (names, model)
        f = sp.lambdify([a, b, c], model, "numpy")
        want = np.asarray(E.evaluate(SPEC, jnp.asarray(t), jnp.asarray(k), jnp.asarray(x)))
        got = np.broadcast_to(np.asarray(f(*x.T), np.float64), want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=str(model))


def test_unknown_operator_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown operator 'tanh'.*available operators: add"):
        E.resolve_operators(["+", "tanh"])
    assert E.resolve_operators(["+", "*", "/", "sin"]) == ("add", "mul", "div", "sin")
    with pytest.raises(ValueError, match="no operators"):
        E.resolve_operators([])


def test_pareto_front_keeps_strict_improvements_only():
    hof = np.asarray([np.inf, 0.5, 0.6, 0.2, 0.2, G.BIG, 0.01])
    assert G.pareto_front(hof) == [1, 3, 6]


def _tree_walk(spec, tokens, consts, x):
    """An independent reference: one expression, recursive, float32 numpy, same protection."""
    ops = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": lambda p, q: np.where(np.abs(q) > 1e-6, p / np.where(np.abs(q) > 1e-6, q, 1), 1),
        "sin": np.sin,
        "cos": np.cos,
        "square": np.square,
        "neg": np.negative,
        "abs": np.abs,
    }
    pos = 0

    def walk():
        nonlocal pos
        tok, val = int(tokens[pos]), consts[pos]
        pos += 1
        if tok == E.CONST:
            return np.full(len(x), val, np.float32)
        if tok < spec.first_op:
            return x[:, tok - E.FIRST_VAR]
        op = E.OPERATORS[spec.ops[tok - spec.first_op]]
        args = [walk() for _ in range(op.arity)]
        return ops[op.name](*args).astype(np.float32)

    return walk()


@pytest.mark.parametrize(
    "ops",
    [("add", "sub", "mul", "div"), ("add", "mul", "sin", "cos", "square", "neg", "abs", "div")],
)
def test_node_proportional_interpreter_equals_tree_walk_and_dense(ops):
    spec = E.Spec(ops, 4, 30)
    p = G.SearchParams(
        spec=spec,
        islands=1,
        island_size=300,
        tournament_size=2,
        init_max_size=30,
        max_size=30,
        migrants=0,
        p_terminal=0.1,
    )
    t, k = jax.jit(lambda key: G.random_trees(p, key, 300, 4))(jax.random.key(7))
    x = np.random.default_rng(1).uniform(-2, 2, size=(700, 4)).astype(np.float32)
    # 700 rows: three row tiles of 256, the last one partial
    fast = np.asarray(E.evaluate_sparse(spec, t, k, jnp.asarray(x), 256, 16))
    dense = np.asarray(E.evaluate_dense(spec, t, k, jnp.asarray(x), 512))
    np.testing.assert_array_equal(fast, dense)
    # three population pieces, and a buffer budget small enough to force 16-row tiles
    assert E._tile_for(700, 5000, 256, 64 << 10, 4) < 256
    pieces = E.evaluate_sparse(spec, t, k, jnp.asarray(x), 256, 16, 64 << 10, parts=3)
    np.testing.assert_array_equal(np.asarray(pieces), dense)
    sizes = np.asarray(E.sizes(t))
    assert sizes.max() > 20 and sizes.min() == 1  # deep and trivial expressions both present
    close = []
    for i in range(0, 300, 7):
        want = _tree_walk(spec, np.asarray(t[i]), np.asarray(k[i]), x)
        close.append(np.isclose(fast[i], want, rtol=1e-5, atol=1e-5))
    close = np.concatenate(close)
    if "sin" in ops:
        # XLA's and numpy's float32 sin/cos differ in the last bit, which a deep tree can
        # amplify (sin of a large argument); almost every value still agrees
        assert close.mean() > 0.99
    else:
        assert close.all()  # IEEE arithmetic: the same values


def test_evaluation_plan_uses_a_slot_per_constant_and_operator_node():
    spec = E.Spec(("add", "mul", "sin"), 2, 8)
    x0, x1, C = E.FIRST_VAR, E.FIRST_VAR + 1, E.CONST
    add, mul, sin = spec.first_op, spec.first_op + 1, spec.first_op + 2
    t = jnp.asarray([[add, mul, x0, C, sin, x1, 0, 0], [x1, 0, 0, 0, 0, 0, 0, 0]], jnp.int32)
    k = jnp.where(t == C, 3.0, 0.0)
    plan, cap = E.schedule(spec, t, k, 4)
    # 1 constant block, then heights 1 (mul, sin: 2 groups) and 2 (add): 4 blocks of 4 slots
    assert int(plan["first_block"]) == 1 and int(plan["n_blocks"]) == 4
    assert int(plan["used"]) == 16 and cap >= 16
    assert int(plan["root"][1]) == 1  # the second expression reads variable x1 directly
    out = np.asarray(E.evaluate_sparse(spec, t, k, jnp.asarray([[2.0, 0.5]]), 1, 4))
    np.testing.assert_allclose(out[:, 0], [2.0 * 3.0 + np.sin(0.5), 0.5], rtol=1e-6)


def test_input_gradients_match_reverse_mode_and_differentiate_in_the_constants():
    spec = E.Spec(("add", "mul", "div", "sin", "cos"), 3, 20)
    p = G.SearchParams(spec=spec, islands=1, island_size=64, tournament_size=2,
                       init_max_size=20, max_size=20, migrants=0, p_terminal=0.1)  # fmt: skip
    t, k = G.random_trees(p, jax.random.key(2), 64, 3)
    x = jnp.asarray(np.random.default_rng(0).uniform(0.5, 2.0, (50, 3)), jnp.float32)

    def reverse(k):
        one = lambda tt, cc: jax.grad(lambda xx: jnp.sum(E.evaluate_dense(spec, tt, cc, xx)))(x)
        return jax.vmap(one)(t, k)

    vals, grads = jax.jit(E.input_gradients, static_argnums=0)(spec, t, k, x)
    assert vals.shape == (64, 50) and grads.shape == (64, 50, 3)
    np.testing.assert_array_equal(np.asarray(vals), np.asarray(E.evaluate_dense(spec, t, k, x)))
    np.testing.assert_allclose(np.asarray(grads), np.asarray(reverse(k)), rtol=1e-4, atol=1e-4)
    # a loss built on the input gradients is differentiable in the constants (Adam needs it)
    loss = lambda kk, f: jnp.sum(jnp.tanh(f(kk)))  # noqa: E731
    g_new = jax.jit(jax.grad(lambda kk: loss(kk, lambda c: E.input_gradients(spec, t, c, x)[1])))(k)
    g_ref = jax.jit(jax.grad(lambda kk: loss(kk, reverse)))(k)
    assert np.abs(np.asarray(g_ref)).sum() > 0
    np.testing.assert_allclose(np.asarray(g_new), np.asarray(g_ref), rtol=1e-3, atol=1e-4)
