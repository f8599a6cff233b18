"""Dual supervised learning (Xia et al., ICML 2017) on scikit-learn's 8x8 digits, binarised.

Primal: a classifier P(y|x) (MLP). Dual: a class-conditional generator P(x|y), an
autoregressive binary model (MADE with one masked hidden layer plus direct autoregressive
connections, conditioned on the class). P^(y) is the empirical class frequency of the
training labels. Both models train together on

    CE(y|x) + NLL(x|y) + lambda * (log P^(x) + log P(y|x) - log P^(y) - log P(x|y))^2,

which gives each model the gradient of its own loss plus that of the duality regulariser
(the paper's two objectives, since their parameters are disjoint). `dsl.weight = 0` is the
baseline without DSL.

The marginal P^(x) is a fixed estimate (no gradient flows into it), chosen by `dsl.marginal`:

- "separate": the same autoregressive model without the class, trained on the training
  images inside `init` (jitted, `marginal_steps` Adam steps) and then frozen;
- "mixture": the generator's own mixture log sum_y P(x|y) P^(y), recomputed from the current
  generator under stop_gradient, so that P^(x) is consistent with P(x|y) and P^(y). The
  duality gap is then exactly log P(y|x) - log P_gen(y|x), where P_gen(y|x) is the
  generator's Bayes posterior (the generative classifier). The separate marginal is not
  trained (its parameters stay in the state, at their initial values, so that the state has
  the same shape in both cases).

The configs use "mixture": the separate marginal is measurably inconsistent with the
generator's mixture, and with it the regulariser harms both models (README, dual/digits).

Evaluation reports, besides error and NLL, the generative classifier's error
(argmax_y log P(x|y) + log P^(y)), the mixture's NLL, the signed and absolute duality gap, the
part of the gap that is disagreement between the two posteriors, and, for "separate", how far
the separate marginal is from the generator's mixture (`marginal_inconsistency`).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from frontier.config import ConfigError
from frontier.data import load_digits_split
from frontier.experiment import MinibatchExperiment, TrainState
from frontier.nn import MLP

NUM_CLASSES = 10
PIXELS = 64
MARGINALS = ("separate", "mixture")


@functools.cache
def binary_digits(test_fraction: float, split_seed: int, threshold: float):
    """The fixed split with pixels binarised at `threshold` (pixels are in [0, 1])."""
    xtr, ytr, xte, yte = load_digits_split(test_fraction, split_seed)
    return (xtr >= threshold).astype(np.float32), ytr, (xte >= threshold).astype(np.float32), yte


class AutoregressiveBinary(nn.Module):
    """log P(x | y) (or log P(x) with `classes=0`) for binary `x [B, 64]`, pixel order raster.

    MADE: hidden unit k sees pixels 1..m_k; output i sees hidden units with m_k < i and,
    directly, pixels j < i. The class (one-hot) feeds every hidden and output unit.
    """

    hidden: int = 256
    classes: int = NUM_CLASSES

    @nn.compact
    def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        d = x.shape[-1]
        degrees = (jnp.arange(self.hidden) % (d - 1)) + 1  # in 1..d-1
        in_mask = (degrees[None, :] >= jnp.arange(1, d + 1)[:, None]).astype(x.dtype)  # [d, h]
        out_mask = (jnp.arange(1, d + 1)[None, :] > degrees[:, None]).astype(x.dtype)  # [h, d]
        direct_mask = jnp.tril(jnp.ones((d, d), x.dtype), -1).T  # [j, i]: j < i
        init = nn.initializers.lecun_normal()
        w1 = self.param("w1", init, (d, self.hidden))
        w2 = self.param("w2", init, (self.hidden, d))
        wd = self.param("direct", nn.initializers.zeros, (d, d))
        b1 = self.param("b1", nn.initializers.zeros, (self.hidden,))
        b2 = self.param("b2", nn.initializers.zeros, (d,))
        pre_h = x @ (w1 * in_mask) + b1
        pre_o = x @ (wd * direct_mask) + b2
        if self.classes:
            onehot = jax.nn.one_hot(y, self.classes)
            pre_h = pre_h + nn.Dense(self.hidden, use_bias=False, name="class_hidden")(onehot)
            pre_o = pre_o + nn.Dense(d, use_bias=False, name="class_out")(onehot)
        logits = nn.relu(pre_h) @ (w2 * out_mask) + pre_o
        # Bernoulli log-likelihood summed over pixels: x log s(l) + (1-x) log s(-l).
        return jnp.sum(x * jax.nn.log_sigmoid(logits) + (1 - x) * jax.nn.log_sigmoid(-logits), -1)


def duality_gap(log_px, log_py_x, log_py, log_px_y) -> jax.Array:
    """log P^(x) + log P(y|x) - log P^(y) - log P(x|y), per example."""
    return log_px + log_py_x - log_py - log_px_y


@frontier.experiment(
    "dual/digits_dsl",
    "Dual supervised learning: digits classifier P(y|x) + conditional generator P(x|y)",
)
class DigitsDSL(MinibatchExperiment):
    key_metrics = ("loss", "error_rate", "gen_nll")

    def __init__(self, config):
        super().__init__(config)
        if config.dsl.weight < 0:
            raise ConfigError(f"dsl.weight (lambda) must be >= 0, got {config.dsl.weight}")
        if config.dsl.marginal not in MARGINALS:
            raise ConfigError(
                f"dsl.marginal must be one of {MARGINALS}, got {config.dsl.marginal!r}"
            )
        if not 0.0 < config.data.threshold < 1.0:
            raise ConfigError(f"data.threshold must be in (0, 1), got {config.data.threshold}")
        d = config.data
        self.x_train, self.y_train, self.x_test, self.y_test = binary_digits(
            d.test_fraction, d.split_seed, d.threshold
        )
        bs = config.optim.batch_size
        if not 1 <= bs <= len(self.x_train):
            raise ConfigError(
                f"optim.batch_size must be between 1 and {len(self.x_train)}, got {bs}"
            )
        counts = np.bincount(self.y_train, minlength=NUM_CLASSES).astype(np.float64)
        self.log_prior = jnp.asarray(np.log(counts / counts.sum()), jnp.float32)
        m = config.model
        self.classifier = MLP(tuple(m.classifier_hidden), NUM_CLASSES, "relu")
        self.generator = AutoregressiveBinary(m.generator_hidden, NUM_CLASSES)
        self.marginal = AutoregressiveBinary(m.generator_hidden, 0)
        self.optimizer = frontier.make_optimizer("adam", config.optim.learning_rate)

    def init(self, key):
        kc, kg, km, kt = jax.random.split(key, 4)
        x0, y0 = jnp.zeros((1, PIXELS)), jnp.zeros((1,), jnp.int32)
        marginal = self.marginal.init(km, x0)["params"]
        xs = jnp.asarray(self.x_train)
        opt = optax.adam(self.config.optim.learning_rate)

        def body(i, carry):
            p, s = carry
            idx = jax.random.randint(jax.random.fold_in(kt, i), (256,), 0, xs.shape[0])
            grads = jax.grad(lambda p: -jnp.mean(self.marginal.apply({"params": p}, xs[idx])))(p)
            updates, s = opt.update(grads, s, p)
            return optax.apply_updates(p, updates), s

        if self.config.dsl.marginal == "separate" and int(self.config.marginal_steps) > 0:
            marginal, _ = jax.lax.fori_loop(
                0, int(self.config.marginal_steps), body, (marginal, opt.init(marginal))
            )
        params = {
            "cls": self.classifier.init(kc, x0)["params"],
            "gen": self.generator.init(kg, x0, y0)["params"],
            "marginal": marginal,
        }
        return TrainState(params, self.optimizer.init(params))

    def class_log_joint(self, gen_params, x):
        """log P(x|y) + log P^(y) for every class: `[B, NUM_CLASSES]`."""
        ys = jnp.broadcast_to(jnp.arange(NUM_CLASSES)[:, None], (NUM_CLASSES, x.shape[0]))
        log_px_y = jax.vmap(lambda y: self.generator.apply({"params": gen_params}, x, y))(ys)
        return log_px_y.T + self.log_prior

    def log_marginal(self, params, x):
        """log P^(x) per example, a fixed estimate (stop_gradient) chosen by `dsl.marginal`."""
        params = jax.lax.stop_gradient(params)
        if self.config.dsl.marginal == "mixture":
            return jax.nn.logsumexp(self.class_log_joint(params["gen"], x), -1)
        return self.marginal.apply({"params": params["marginal"]}, x)

    def terms(self, params, x, y):
        logits = self.classifier.apply({"params": params["cls"]}, x)
        log_py_x = jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1)[:, 0]
        log_px_y = self.generator.apply({"params": params["gen"]}, x, y)
        gap = duality_gap(self.log_marginal(params, x), log_py_x, self.log_prior[y], log_px_y)
        return logits, log_py_x, log_px_y, gap

    def loss(self, params, batch, key):
        x, y = batch["x"], batch["y"]
        logits, log_py_x, log_px_y, gap = self.terms(params, x, y)
        ce, nll = -jnp.mean(log_py_x), -jnp.mean(log_px_y)
        reg = jnp.mean(gap**2)
        total = ce + nll + self.config.dsl.weight * reg
        err = 1.0 - jnp.mean(jnp.argmax(logits, -1) == y)
        return total, {"ce": ce, "gen_nll": nll, "duality_gap_sq": reg, "error_rate": err}

    def regulariser_alignment(self, params, x, y):
        """Cosine between the regulariser's gradient and that of each model's own test loss.

        `reg_ce_grad_cosine` (classifier) and `reg_nll_grad_cosine` (generator) on `(x, y)`:
        > 0 means a descent step on the regulariser also lowers the test CE / NLL.
        """

        def own_and_reg(p):
            _, log_py_x, log_px_y, gap = self.terms(p, x, y)
            return -jnp.mean(log_py_x), -jnp.mean(log_px_y), jnp.mean(gap**2)

        g_ce, g_nll, g_reg = jax.jacrev(own_and_reg)(params)

        def cosine(a, b):
            a, b = jax.flatten_util.ravel_pytree(a)[0], jax.flatten_util.ravel_pytree(b)[0]
            return jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b) + 1e-30)

        return {
            "reg_ce_grad_cosine": cosine(g_reg["cls"], g_ce["cls"]),
            "reg_nll_grad_cosine": cosine(g_reg["gen"], g_nll["gen"]),
        }

    def evaluate(self, state, key):
        x, y = jnp.asarray(self.x_test), jnp.asarray(self.y_test)
        params = state.params
        logits, log_py_x, log_px_y, gap = self.terms(params, x, y)
        joint = self.class_log_joint(params["gen"], x)
        log_mix = jax.nn.logsumexp(joint, -1)
        # the generator's Bayes posterior log P_gen(y|x) at the true class
        log_gen_post = jnp.take_along_axis(joint, y[:, None], 1)[:, 0] - log_mix
        out = {
            "error_rate": 1.0 - jnp.mean(jnp.argmax(logits, -1) == y),
            "ce": -jnp.mean(log_py_x),
            "gen_nll": -jnp.mean(log_px_y),
            "gen_bits_per_pixel": -jnp.mean(log_px_y) / (PIXELS * jnp.log(2.0)),
            "abs_duality_gap": jnp.mean(jnp.abs(gap)),
            "mean_duality_gap": jnp.mean(gap),
            # where the gap is > 0 the regulariser lowers the classifier's log P(y|x)
            "frac_gap_positive": jnp.mean(gap > 0),
            "gen_error_rate": 1.0 - jnp.mean(jnp.argmax(joint, -1) == y),
            "gen_ce": -jnp.mean(log_gen_post),
            "mixture_nll": -jnp.mean(log_mix),
            # log P(y|x) - log P_gen(y|x): the gap with a consistent marginal
            "abs_posterior_gap": jnp.mean(jnp.abs(log_py_x - log_gen_post)),
            "mean_posterior_gap": jnp.mean(log_py_x - log_gen_post),
            **self.regulariser_alignment(params, x, y),
        }
        if self.config.dsl.marginal == "separate":
            log_sep = self.marginal.apply({"params": params["marginal"]}, x)
            out["marginal_nll"] = -jnp.mean(log_sep)
            # the hypothesis: how far the separate P^(x) is from sum_y P(x|y) P^(y)
            out["marginal_inconsistency"] = jnp.mean(jnp.abs(log_sep - log_mix))
            out["marginal_minus_mixture"] = jnp.mean(log_sep - log_mix)
        return out
