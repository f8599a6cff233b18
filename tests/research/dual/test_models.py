import jax
import jax.numpy as jnp
import numpy as np
import pytest

from research.dual.language import BOS, EOS, PAD
from research.dual.models import (
    LanguageModel,
    Seq2Seq,
    beam_search,
    clean,
    dual_rerank,
    generate,
    seq2seq_logprob,
    shift_right,
    token_mask,
)
from research.dual.translation import dual_game, soft_landing_share

L = 6


@pytest.fixture(scope="module")
def tiny():
    m = Seq2Seq(7, 9, L, dim=16, heads=2, ff=16, layers=1)
    back = Seq2Seq(9, 7, L, dim=16, heads=2, ff=16, layers=1)
    lm = LanguageModel(9, L, dim=16, heads=2, ff=16, layers=1)
    src = jnp.array([[3, 4, 5, EOS, PAD, PAD], [6, EOS, PAD, PAD, PAD, PAD]], jnp.int32)
    tgt = jnp.array([[3, 8, EOS, PAD, PAD, PAD], [5, 5, 5, EOS, PAD, PAD]], jnp.int32)
    k = jax.random.split(jax.random.key(0), 3)
    p = jax.jit(m.init)(k[0], src, tgt)["params"]
    pb = jax.jit(back.init)(k[1], tgt, src)["params"]
    plm = jax.jit(lm.init)(k[2], tgt)["params"]
    return m, p, back, pb, lm, plm, src, tgt


def generatable_logprob(m, p, src, seq):
    """log P(seq | src) renormalised over the tokens decoding may emit (not PAD, BOS)."""
    logits = m.apply({"params": p}, src, shift_right(seq))
    logits = jnp.where(jnp.arange(logits.shape[-1]) <= BOS, -1e9, logits)
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits), seq[..., None], -1)[..., 0]
    return jnp.sum(logp * token_mask(seq), 1)


def test_masks_stop_after_first_eos():
    seq = jnp.array([[3, EOS, 4, EOS, PAD]])
    assert token_mask(seq).tolist() == [[1, 1, 0, 0, 0]]
    assert clean(seq).tolist() == [[3, EOS, PAD, PAD, PAD]]


def test_beam_one_is_greedy_and_scores_are_logprobs(tiny):
    m, p, *_, src, _ = tiny
    greedy = jax.jit(lambda p, s: generate(m, p, s, greedy=True))(p, src)
    seqs, scores = jax.jit(lambda p, s: beam_search(m, p, s, 3))(p, src)
    one, _ = jax.jit(lambda p, s: beam_search(m, p, s, 1))(p, src)
    np.testing.assert_array_equal(one[:, 0], greedy)
    assert np.all(np.diff(np.asarray(scores), axis=1) <= 1e-5)  # best first
    lp = jax.jit(lambda p, s, y: generatable_logprob(m, p, s, y))(p, src, seqs[:, 0])
    np.testing.assert_allclose(lp, scores[:, 0], rtol=1e-4, atol=1e-4)
    greedy_lp = jax.jit(lambda p, s, y: generatable_logprob(m, p, s, y))(p, src, greedy)
    assert np.all(np.asarray(scores[:, 0]) >= np.asarray(greedy_lp) - 1e-4)
    with pytest.raises(ValueError, match="beam size"):
        beam_search(m, p, src, 0)


def test_dual_rerank_weight_one_keeps_forward_best(tiny):
    m, p, back, pb, _, _, src, _ = tiny
    seqs, _ = jax.jit(lambda p, s: beam_search(m, p, s, 3))(p, src)
    rerank = jax.jit(lambda p, pb, c, w: dual_rerank(m, p, back, pb, src, c, w), static_argnums=3)
    best, idx = rerank(p, pb, seqs, 1.0)
    assert idx.tolist() == [0, 0]
    np.testing.assert_array_equal(best, seqs[:, 0])
    _, idx0 = rerank(p, pb, seqs, 0.0)
    flat = seqs.reshape(-1, L)
    lp, _ = jax.jit(lambda pb: seq2seq_logprob(back, pb, flat, jnp.repeat(src, 3, 0)))(pb)
    assert idx0.tolist() == np.argmax(np.asarray(lp).reshape(2, 3), 1).tolist()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dual_rerank(m, p, back, pb, src, seqs, 1.5)


def test_dual_game_rewards_carry_no_gradient(tiny):
    m, p, back, pb, lm, plm, src, _ = tiny
    key = jax.random.key(1)

    def loss(p, pb, plm, alpha):
        return dual_game(m, p, back, pb, lm, plm, src, key, k=2, alpha=alpha)[0]

    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    g_p, g_pb, g_lm = grads(p, pb, plm, 0.3)
    norm = lambda t: float(sum(jnp.sum(x**2) for x in jax.tree.leaves(t)))
    assert norm(g_lm) == 0.0  # the LM only scores
    assert norm(g_p) > 0.0 and norm(g_pb) > 0.0
    # alpha = 1: the dual model gets no likelihood gradient, and its reward term is stopped
    _, g_pb1, _ = grads(p, pb, plm, 1.0)
    assert norm(g_pb1) == 0.0


def test_soft_landing_schedule():
    s = [float(soft_landing_share(jnp.float32(t), 100, 1.0)) for t in (0, 50, 100, 500)]
    assert s == pytest.approx([0.5, 0.75, 1.0, 1.0])
