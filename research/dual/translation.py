"""Translation between digits (A) and English words (B) as one `frontier.Experiment`,
`dual/translation`, whose `method` is one of

- `supervised`: cross-entropy on the parallel pairs only (NMT in He et al. 2016);
- `backtranslation`: online back-translation (pseudo-NMT): each model is also trained on the
  other model's greedy translations of the monolingual sentences of its target language;
- `dual`: dual learning (He et al., NIPS 2016). From a monolingual sentence s in A, the primal
  model f (A->B) samples (or beam-searches) K intermediate translations s_mid; the reward is
  r = alpha * LM_B(s_mid) + (1 - alpha) * log P_g(s | s_mid), under `stop_gradient`; f gets a
  policy gradient (REINFORCE with the mean reward over the K as baseline) and g (B->A) the
  likelihood gradient (1 - alpha) * grad log P_g(s | s_mid). The same game is played from B
  with the roles swapped, in every step.

Every method starts with the same warm start (run inside `init`, jitted): `warm_steps` of
supervised training of both directions on the parallel pairs, and for `dual` the two language
models LM_A, LM_B trained on the monolingual corpora (frozen afterwards). Then `train.steps`
steps of the method; the monolingual methods mix a supervised term on parallel pairs with
weight 1 - share and the monolingual term with weight share, where share follows the soft
landing schedule: 0.5 at the start, rising linearly to `mono.final_share` over
`mono.landing_steps` steps ("half bilingual, then gradually all monolingual").
Minibatches are drawn on the device from the step key, so `batch` returns None.
"""

from __future__ import annotations

import functools

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax

import frontier
from frontier.config import ConfigError
from frontier.experiment import health_metrics
from research.dual.language import PAIRS, build_corpora, check_ids
from research.dual.models import (
    LanguageModel,
    Seq2Seq,
    generate,
    lm_logprob,
    seq2seq_logprob,
)

METHODS = ("supervised", "backtranslation", "dual")
GENERATORS = ("sample", "beam")


@flax.struct.dataclass
class DualState:
    params: dict  # {"f": A->B, "g": B->A}
    opt_state: object
    lms: dict  # {"a": LM_A, "b": LM_B}; frozen after the warm start
    step: jax.Array


def check_translation_config(config) -> None:
    """Inconsistent settings fail here, naming the field and the fix."""
    if config.method not in METHODS:
        raise ConfigError(f"method must be one of {METHODS}, got {config.method!r}")
    d = config.dual
    if not 0.0 <= d.alpha <= 1.0:
        raise ConfigError(f"dual.alpha must be in [0, 1] (the LM reward weight), got {d.alpha}")
    if d.k < 1:
        raise ConfigError(
            f"dual.k (intermediate translations per sentence) must be >= 1, got {d.k}"
        )
    if d.generate not in GENERATORS:
        raise ConfigError(f"dual.generate must be one of {GENERATORS}, got {d.generate!r}")
    if d.generate == "beam" and d.k < 2 and d.baseline:
        raise ConfigError("dual.baseline needs dual.k >= 2 (the baseline is the mean over k)")
    m = config.mono
    if not 0.0 <= m.final_share <= 1.0:
        raise ConfigError(f"mono.final_share must be in [0, 1], got {m.final_share}")
    if m.landing_steps < 1:
        raise ConfigError(f"mono.landing_steps must be >= 1, got {m.landing_steps}")
    pair = config.data.get("pair", "digits-en")
    if pair not in PAIRS:
        raise ConfigError(f"data.pair must be one of {sorted(PAIRS)}, got {pair!r}")
    need = PAIRS[pair].max_tokens + 1  # every pair needs more than a token and EOS
    if config.model.max_len < need:
        raise ConfigError(
            f"model.max_len={config.model.max_len} is too short for data.pair={pair!r}: its "
            f"longest sentence needs {need} ids (tokens + EOS); set model.max_len >= {need}"
        )
    for name in ("batch_size", "mono_batch_size"):
        if config.optim[name] < 1:
            raise ConfigError(f"optim.{name} must be >= 1, got {config.optim[name]}")


def soft_landing_share(step: jax.Array, landing_steps: int, final_share: float) -> jax.Array:
    """Monolingual share of the loss: 0.5 at step 0, linear to `final_share` at `landing_steps`."""
    frac = jnp.clip(step / landing_steps, 0.0, 1.0)
    return 0.5 + (final_share - 0.5) * frac


def mean_ce(model, params, src, tgt) -> jax.Array:
    """Token-averaged cross-entropy of `tgt` given `src`."""
    lp, n = seq2seq_logprob(model, params, src, tgt)
    return -jnp.sum(lp) / jnp.maximum(jnp.sum(n), 1.0)


def dual_game(
    primal: Seq2Seq,
    primal_params,
    dual: Seq2Seq,
    dual_params,
    lm: LanguageModel,
    lm_params,
    s: jax.Array,
    key: jax.Array,
    *,
    k: int,
    alpha: float,
    generate_with: str = "sample",
    baseline: bool = True,
) -> tuple[jax.Array, dict]:
    """One half of a dual-learning game, started from monolingual sentences `s [B, L]`.

    Returns the loss whose gradient is the policy gradient for `primal_params` plus the
    likelihood gradient for `dual_params`, and metrics (mean reward terms).
    """
    from research.dual.models import beam_search

    b = s.shape[0]
    if generate_with == "beam":
        mids, _ = beam_search(primal, jax.lax.stop_gradient(primal_params), s, k)
        mids = mids.reshape(b * k, -1)
    else:
        mids = generate(primal, jax.lax.stop_gradient(primal_params), jnp.repeat(s, k, 0), key)
    mids = jax.lax.stop_gradient(mids)
    srcs = jnp.repeat(s, k, axis=0)
    lm_lp, lm_n = lm_logprob(lm, lm_params, mids)
    r_lm = lm_lp / jnp.maximum(lm_n, 1.0)  # per-token LM log-likelihood of s_mid
    rec_lp, rec_n = seq2seq_logprob(dual, dual_params, mids, srcs)
    reward = jax.lax.stop_gradient(alpha * r_lm + (1.0 - alpha) * rec_lp / rec_n)
    reward_k = reward.reshape(b, k)
    advantage = reward_k - jnp.mean(reward_k, 1, keepdims=True) if baseline else reward_k
    fwd_lp, fwd_n = seq2seq_logprob(primal, primal_params, srcs, mids)
    pg_loss = -jnp.mean(advantage.reshape(-1) * fwd_lp / jnp.maximum(fwd_n, 1.0))
    rec_loss = -(1.0 - alpha) * jnp.mean(rec_lp / rec_n)
    metrics = {
        "reward": jnp.mean(reward),
        "reward_lm": jnp.mean(r_lm),
        "reward_reconstruction": jnp.mean(rec_lp / rec_n),
    }
    return pg_loss + rec_loss, metrics


@frontier.experiment(
    "dual/translation",
    "Number translation (English <-> German words, or digits <-> English words): "
    "supervised, back-translation or dual learning",
)
class Translation(frontier.Experiment):
    key_metrics = ("loss", "exact_a2b", "exact_b2a")

    def __init__(self, config):
        super().__init__(config)
        check_translation_config(config)
        d, m = config.data, config.model
        self.pair = PAIRS[d.get("pair", "digits-en")]
        self.corpora = build_corpora(
            int(d.num_train),
            float(d.parallel_fraction),
            int(d.num_test),
            int(m.max_len),
            int(d.seed),
            self.pair.name,
            int(d.get("num_valid", 0)),
        )
        c = self.corpora
        va, vb = self.pair.a, self.pair.b
        for name, ids, vocab in (
            (f"parallel {va.name}", c.parallel_a, va),
            (f"parallel {vb.name}", c.parallel_b, vb),
            (f"monolingual {va.name}", c.mono_a, va),
            (f"monolingual {vb.name}", c.mono_b, vb),
        ):
            check_ids(ids, vocab.size, name)
        dims = dict(dim=m.dim, heads=m.heads, ff=m.ff, layers=m.layers, max_len=m.max_len)
        self.f = Seq2Seq(va.size, vb.size, **dims)
        self.g = Seq2Seq(vb.size, va.size, **dims)
        self.lm_a = LanguageModel(va.size, **dims)
        self.lm_b = LanguageModel(vb.size, **dims)
        o = config.optim
        self.optimizer = optax.chain(optax.clip_by_global_norm(o.clip), optax.adam(o.learning_rate))
        self.lm_optimizer = optax.adam(o.learning_rate)
        self.data = {
            k: jnp.asarray(getattr(c, k))
            for k in ("parallel_a", "parallel_b", "mono_a", "mono_b", "test_a", "test_b")
        }
        if c.valid_a is not None:
            self.data |= {"valid_a": jnp.asarray(c.valid_a), "valid_b": jnp.asarray(c.valid_b)}

    # -- pieces -----------------------------------------------------------------------------

    def _draw(self, key, name: str, size: int) -> jax.Array:
        idx = jax.random.randint(key, (size,), 0, self.data[name].shape[0])
        return self.data[name][idx]

    def _parallel(self, key):
        idx = jax.random.randint(
            key, (self.config.optim.batch_size,), 0, len(self.corpora.parallel_a)
        )
        return self.data["parallel_a"][idx], self.data["parallel_b"][idx]

    def supervised_loss(self, params, a, b):
        return mean_ce(self.f, params["f"], a, b) + mean_ce(self.g, params["g"], b, a)

    def lm_loss(self, lms, a, b):
        la, na = lm_logprob(self.lm_a, lms["a"], a)
        lb, nb = lm_logprob(self.lm_b, lms["b"], b)
        return -jnp.sum(la) / jnp.sum(na) - jnp.sum(lb) / jnp.sum(nb)

    # -- init: parameters and the warm start ------------------------------------------------

    def init(self, key):
        cfg = self.config
        kf, kg, ka, kb, kwarm, klm = jax.random.split(key, 6)
        a0 = self.data["parallel_a"][:1]
        b0 = self.data["parallel_b"][:1]
        params = {
            "f": self.f.init(kf, a0, b0)["params"],
            "g": self.g.init(kg, b0, a0)["params"],
        }
        lms = {"a": self.lm_a.init(ka, a0)["params"], "b": self.lm_b.init(kb, b0)["params"]}
        opt_state = self.optimizer.init(params)
        warm = int(cfg.warm_steps)

        def sup_body(i, carry):
            params, opt_state = carry
            a, b = self._parallel(jax.random.fold_in(kwarm, i))
            grads = jax.grad(self.supervised_loss)(params, a, b)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        if warm > 0:
            params, opt_state = jax.lax.fori_loop(0, warm, sup_body, (params, opt_state))
        if cfg.method == "dual" and int(cfg.lm_steps) > 0:
            lm_opt = self.lm_optimizer.init(lms)
            size = cfg.optim.mono_batch_size * 2

            def lm_body(i, carry):
                lms, lm_opt = carry
                k1, k2 = jax.random.split(jax.random.fold_in(klm, i))
                a, b = self._draw(k1, "mono_a", size), self._draw(k2, "mono_b", size)
                grads = jax.grad(self.lm_loss)(lms, a, b)
                updates, lm_opt = self.lm_optimizer.update(grads, lm_opt, lms)
                return optax.apply_updates(lms, updates), lm_opt

            lms, _ = jax.lax.fori_loop(0, int(cfg.lm_steps), lm_body, (lms, lm_opt))
        return DualState(params, opt_state, lms, jnp.zeros((), jnp.int32))

    # -- the step ----------------------------------------------------------------------------

    def loss(self, params, lms, step, key):
        cfg = self.config
        kp, ka, kb, kga, kgb = jax.random.split(key, 5)
        a, b = self._parallel(kp)
        sup = self.supervised_loss(params, a, b)
        metrics = {"supervised_loss": sup}
        if cfg.method == "supervised":
            return sup, metrics
        share = soft_landing_share(step, cfg.mono.landing_steps, cfg.mono.final_share)
        n = cfg.optim.mono_batch_size
        mono_a, mono_b = self._draw(ka, "mono_a", n), self._draw(kb, "mono_b", n)
        if cfg.method == "backtranslation":
            sg = jax.lax.stop_gradient
            pseudo_a = sg(generate(self.g, sg(params["g"]), mono_b, greedy=True))
            pseudo_b = sg(generate(self.f, sg(params["f"]), mono_a, greedy=True))
            mono = mean_ce(self.f, params["f"], pseudo_a, mono_b) + mean_ce(
                self.g, params["g"], pseudo_b, mono_a
            )
        else:
            d = cfg.dual
            kw = dict(k=d.k, alpha=d.alpha, generate_with=d.generate, baseline=d.baseline)
            loss_a, ma = dual_game(
                self.f, params["f"], self.g, params["g"], self.lm_b, lms["b"], mono_a, kga, **kw
            )
            loss_b, mb = dual_game(
                self.g, params["g"], self.f, params["f"], self.lm_a, lms["a"], mono_b, kgb, **kw
            )
            mono = loss_a + loss_b
            metrics |= {f"{k}_from_a": v for k, v in ma.items()}
            metrics |= {f"{k}_from_b": v for k, v in mb.items()}
        metrics |= {"mono_loss": mono, "mono_share": share}
        return (1.0 - share) * sup + share * mono, metrics

    def step(self, state, batch, key):
        (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(
            state.params, state.lms, state.step, key
        )
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, **aux, **health_metrics(grads, params, updates)}
        return DualState(params, opt_state, state.lms, state.step + 1), metrics

    def _split_metrics(self, params, split: str, prefix: str) -> dict:
        ta, tb = self.data[f"{split}_a"], self.data[f"{split}_b"]
        out_b = generate(self.f, params["f"], ta, greedy=True)
        out_a = generate(self.g, params["g"], tb, greedy=True)
        return {
            f"{prefix}exact_a2b": jnp.mean(jnp.all(out_b == tb, axis=1)),
            f"{prefix}exact_b2a": jnp.mean(jnp.all(out_a == ta, axis=1)),
            f"{split}_ce_a2b": mean_ce(self.f, params["f"], ta, tb),
            f"{split}_ce_b2a": mean_ce(self.g, params["g"], tb, ta),
        }

    def evaluate(self, state, key):
        """Greedy exact match and cross-entropy on the test split (and on the validation
        split, as `valid_*`, when `data.num_valid > 0`)."""
        metrics = self._split_metrics(state.params, "test", "")
        if "valid_a" in self.data:
            metrics |= self._split_metrics(state.params, "valid", "valid_")
        return metrics


@functools.cache
def _jitted_beam(model: Seq2Seq, beam: int):
    from research.dual.models import beam_search

    return jax.jit(lambda p, src: beam_search(model, p, src, beam))


@functools.cache
def _jitted_rerank(forward: Seq2Seq, backward: Seq2Seq, weight: float):
    from research.dual.models import dual_rerank

    return jax.jit(lambda pf, pb, s, c: dual_rerank(forward, pf, backward, pb, s, c, weight))


def decode_test(
    exp: Translation,
    params: dict,
    beam: int,
    rerank_weight: float | None = None,
    split: str = "test",
):
    """Host-side decoding of a split ("test" or "valid") both ways: (hyps_a2b, hyps_b2a) ids.

    Beam search with `beam`; with `rerank_weight`, dual inference reranks the beam.
    """
    if f"{split}_a" not in exp.data:
        raise ValueError(
            f"no {split!r} split: set data.num_valid > 0 for a validation split"
            if split == "valid"
            else f"split must be 'test' or 'valid', got {split!r}"
        )
    ta, tb = exp.data[f"{split}_a"], exp.data[f"{split}_b"]
    out = []
    for fwd, bwd, pf, pb, src in (
        (exp.f, exp.g, params["f"], params["g"], ta),
        (exp.g, exp.f, params["g"], params["f"], tb),
    ):
        seqs, _ = _jitted_beam(fwd, beam)(pf, src)
        if rerank_weight is None:
            out.append(np.asarray(seqs[:, 0]))
        else:
            best, _ = _jitted_rerank(fwd, bwd, float(rerank_weight))(pf, pb, src, seqs)
            out.append(np.asarray(best))
    return out[0], out[1]


def translate(
    exp: Translation,
    params: dict,
    sentences: list[str],
    direction: str = "a2b",
    beam: int = 4,
    rerank_weight: float | None = None,
) -> list[str]:
    """Translate whitespace-tokenised `sentences` with trained `params` ({"f", "g"}).

    `direction` "a2b" uses f (language A -> B, e.g. English -> German for `en-de`), "b2a"
    uses g. Beam search with `beam`; with `rerank_weight` in [0, 1], dual inference reranks
    the beam by rerank_weight * log P(y|x) + (1 - rerank_weight) * log P(x|y).
    Sentences with tokens outside the source vocabulary, empty sentences and sentences longer
    than the model's `max_len` - 1 raise `VocabularyError` naming the sentence.

        exp = Translation(load_config("configs/dual/translation.py"))
        translate(exp, state.params, ["twenty one thousand"])   # ["ein und zwan zig tausend"]
    """
    from research.dual.language import VocabularyError

    if direction not in ("a2b", "b2a"):
        raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if rerank_weight is not None and not 0.0 <= rerank_weight <= 1.0:
        raise ValueError(f"rerank_weight must be in [0, 1], got {rerank_weight}")
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of strings, not one string")
    a2b = direction == "a2b"
    src_vocab, tgt_vocab = (exp.pair.a, exp.pair.b) if a2b else (exp.pair.b, exp.pair.a)
    fwd, bwd = (exp.f, exp.g) if a2b else (exp.g, exp.f)
    pf, pb = (params["f"], params["g"]) if a2b else (params["g"], params["f"])
    rows = []
    for i, sentence in enumerate(sentences):
        try:
            rows.append(src_vocab.encode(str(sentence).split(), fwd.max_len))
        except VocabularyError as err:
            raise VocabularyError(f"sentence {i} ({sentence!r}): {err}") from None
    if not rows:
        return []
    src = jnp.asarray(np.stack(rows))
    seqs, _ = _jitted_beam(fwd, beam)(pf, src)
    if rerank_weight is None:
        best = np.asarray(seqs[:, 0])
    else:
        best = np.asarray(_jitted_rerank(fwd, bwd, float(rerank_weight))(pf, pb, src, seqs)[0])
    return [" ".join(tgt_vocab.decode(row)) for row in best]
