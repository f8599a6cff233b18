"""Integration tests for research.meta: Conv4 + digits episodes, evaluation, short training.

Compilation dominates the run time on CPU, so related computations share one ``jax.jit``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from research.meta import algorithms as A
from research.meta.models import Conv4, SinusoidMLP
from research.meta.tasks import FewShotSampler, digits_fewshot_split, sample_sinusoid_tasks


def init_mlp(hidden_sizes=(40, 40), seed=0):
    model = SinusoidMLP(hidden_sizes=hidden_sizes)
    return model, jax.jit(model.init)(jax.random.key(seed), jnp.zeros((1, 1)))


@pytest.fixture(scope="module")
def digits_train():
    tr_x, tr_y, _, _ = digits_fewshot_split()
    return tr_x, tr_y


def test_protonet_meta_batch_with_conv4_on_digits(digits_train):
    sampler = FewShotSampler(*digits_train, num_ways=3, num_shots=2, num_queries=3, seed=0)
    batch = sampler.sample(0, 2)
    model = Conv4(num_classes=3, num_filters=4, num_blocks=2, norm="layer")

    def embed_fn(p, x):
        return model.apply(p, x, method="embed")

    @jax.jit
    def run(batch):
        params = model.init(jax.random.key(0), batch["support_x"][0])
        f = functools.partial(A.protonet_meta_batch_loss, embed_fn=embed_fn, num_classes=3)
        out = jax.value_and_grad(f, has_aux=True)(params, batch)
        per_task = [
            A.protonet_loss(params, jax.tree.map(lambda t, i=i: t[i], batch), **kw)[0]
            for i in range(2)
            for kw in [dict(embed_fn=embed_fn, num_classes=3)]
        ]
        return out, per_task

    ((loss, metrics), grads), per_task = run(batch)
    assert np.isfinite(float(loss)) and 0.0 <= float(metrics["query_accuracy"]) <= 1.0
    assert float(jnp.abs(grads["params"]["conv_0"]["kernel"]).max()) > 0
    assert float(jnp.abs(grads["params"]["head"]["kernel"]).max()) == 0  # head unused
    np.testing.assert_allclose(loss, np.mean(per_task), rtol=1e-5)


def test_adapt_and_evaluate_matches_inner_adapt():
    model, params = init_mlp((12, 12))
    tasks = sample_sinusoid_tasks(jax.random.key(2), 3, 10, 7)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, inner_lr=0.01)
    res = A.adapt_and_evaluate(params, tasks, (0, 1, 5, 10), **kw)
    np.testing.assert_array_equal(res["steps"], [0, 1, 5, 10])
    assert res["query_loss"].shape == (3, 4)

    @jax.jit
    def expected(params, tasks):
        def per_task(task):
            losses = []
            for steps in (0, 1, 5, 10):
                adapted, _ = A.inner_adapt(
                    params, task["support_x"], task["support_y"], num_steps=steps, **kw
                )
                losses.append(A.mse_loss(model.apply(adapted, task["query_x"]), task["query_y"]))
            return jnp.stack(losses)

        return jax.vmap(per_task)({k: tasks[k] for k in A.TASK_KEYS})

    np.testing.assert_allclose(res["query_loss"], expected(params, tasks), rtol=1e-5)


def test_maml_training_reduces_post_adaptation_loss():
    model, params = init_mlp()
    opt = optax.adam(1e-3)
    kw = dict(apply_fn=model.apply, loss_fn=A.mse_loss, inner_lr=0.01)
    loss_fn = functools.partial(A.maml_meta_batch_loss, num_steps=1, **kw)

    def train_step(carry, key):
        params, state = carry
        tasks = sample_sinusoid_tasks(key, 10, 10, 10)
        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, tasks)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    keys = jax.random.split(jax.random.key(1), 300)
    train = jax.jit(lambda carry, keys: jax.lax.scan(train_step, carry, keys))
    (trained, _), _ = train((params, opt.init(params)), keys)
    eval_tasks = sample_sinusoid_tasks(jax.random.key(99), 50, 10, 50)
    before = A.adapt_and_evaluate(params, eval_tasks, (1,), **kw)["query_loss"].mean()
    after = A.adapt_and_evaluate(trained, eval_tasks, (1,), **kw)["query_loss"].mean()
    zero_predictor = jnp.mean(jnp.square(eval_tasks["query_y"]))  # ~ E[A^2] / 2 ~ 4.2
    assert after < 0.6 * before, (float(before), float(after))
    assert after < 0.85 * zero_predictor, (float(zero_predictor), float(after))


def test_fomaml_and_maml_with_conv4_on_digits(digits_train):
    sampler = FewShotSampler(*digits_train, num_ways=3, num_shots=1, num_queries=2, seed=3)
    batch = sampler.sample(0, 2)
    # one block keeps compilation of the second-order graph fast; norm = per-batch statistics
    model = Conv4(num_classes=3, num_filters=4, num_blocks=1)

    @jax.jit
    def run(batch):
        params = model.init(jax.random.key(0), batch["support_x"][0])
        out = {}
        for first_order in (False, True):
            f = functools.partial(
                A.maml_meta_batch_loss,
                apply_fn=model.apply,
                loss_fn=A.cross_entropy_loss,
                num_steps=2,
                inner_lr=0.4,
                first_order=first_order,
                metric_fn=A.classification_metrics,
            )
            out[first_order] = jax.value_and_grad(f, has_aux=True)(params, batch)
        return out

    out = run(batch)
    for (loss, metrics), _ in out.values():
        assert np.isfinite(float(loss)) and 0.0 <= float(metrics["query_accuracy"]) <= 1.0
    diff = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), out[False][1], out[True][1])
    assert max(jax.tree.leaves(diff)) > 1e-6
