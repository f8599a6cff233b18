"""Flax Transformer encoder-decoder and language models, their log-likelihoods, and jitted
decoding (greedy, sampling, beam search) and dual-inference reranking.

Sequences are `[batch, max_len]` int ids (tokens, EOS, PAD...) as in `research.dual.language`.
Decoding recomputes the decoder over the whole (short) prefix buffer at every position rather
than keeping a key/value cache: at these lengths (<= 12) that is simpler and cheap.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from frontier.nn import MLP
from research.dual.language import BOS, EOS, PAD

NEG = -1e9


class Block(nn.Module):
    """Pre-norm Transformer block: self-attention, optional cross-attention, MLP (shared `nn`)."""

    dim: int
    heads: int
    ff: int

    @nn.compact
    def __call__(self, x, mask, memory=None, memory_mask=None):
        h = nn.LayerNorm()(x)
        x = x + nn.MultiHeadDotProductAttention(self.heads, qkv_features=self.dim)(h, h, mask=mask)
        if memory is not None:
            h = nn.LayerNorm()(x)
            attn = nn.MultiHeadDotProductAttention(self.heads, qkv_features=self.dim)
            x = x + attn(h, memory, mask=memory_mask)
        h = nn.LayerNorm()(x)
        return x + MLP((self.ff,), self.dim, "gelu")(h)


def causal_mask(length: int) -> jax.Array:
    return nn.make_causal_mask(jnp.ones((1, length)))  # [1, 1, L, L]


class Seq2Seq(nn.Module):
    """Transformer encoder-decoder: `src [B, S]`, `tgt_in [B, T]` -> logits `[B, T, tgt_vocab]`."""

    src_vocab: int
    tgt_vocab: int
    max_len: int
    dim: int = 64
    heads: int = 4
    ff: int = 128
    layers: int = 2

    def setup(self):
        self.src_embed = nn.Embed(self.src_vocab, self.dim)
        self.tgt_embed = nn.Embed(self.tgt_vocab, self.dim)
        init = nn.initializers.normal(0.02)
        self.src_pos = self.param("src_pos", init, (self.max_len, self.dim))
        self.tgt_pos = self.param("tgt_pos", init, (self.max_len, self.dim))
        self.encoder = [Block(self.dim, self.heads, self.ff) for _ in range(self.layers)]
        self.decoder = [Block(self.dim, self.heads, self.ff) for _ in range(self.layers)]
        self.enc_norm = nn.LayerNorm()
        self.dec_norm = nn.LayerNorm()
        self.out = nn.Dense(self.tgt_vocab)

    def encode(self, src):
        """-> memory `[B, S, dim]`, memory mask `[B, 1, 1, S]`."""
        x = self.src_embed(src) + self.src_pos[: src.shape[1]]
        pad_mask = (src != PAD)[:, None, None, :]
        mask = pad_mask & pad_mask.transpose(0, 1, 3, 2)
        for block in self.encoder:
            x = block(x, mask)
        return self.enc_norm(x), pad_mask

    def decode(self, memory, memory_mask, tgt_in):
        x = self.tgt_embed(tgt_in) + self.tgt_pos[: tgt_in.shape[1]]
        mask = causal_mask(tgt_in.shape[1])
        for block in self.decoder:
            x = block(x, mask, memory, memory_mask)
        return self.out(self.dec_norm(x))

    def __call__(self, src, tgt_in):
        return self.decode(*self.encode(src), tgt_in)


class LanguageModel(nn.Module):
    """Causal Transformer: `tokens_in [B, T]` (BOS-shifted) -> next-token logits `[B, T, V]`."""

    vocab: int
    max_len: int
    dim: int = 64
    heads: int = 4
    ff: int = 128
    layers: int = 2

    @nn.compact
    def __call__(self, tokens_in):
        init = nn.initializers.normal(0.02)
        pos = self.param("pos", init, (self.max_len, self.dim))
        x = nn.Embed(self.vocab, self.dim)(tokens_in) + pos[: tokens_in.shape[1]]
        mask = causal_mask(tokens_in.shape[1])
        for _ in range(self.layers):
            x = Block(self.dim, self.heads, self.ff)(x, mask)
        return nn.Dense(self.vocab)(nn.LayerNorm()(x))


def shift_right(seq: jax.Array) -> jax.Array:
    """Decoder inputs: BOS, then the sequence without its last position."""
    return jnp.concatenate([jnp.full_like(seq[:, :1], BOS), seq[:, :-1]], axis=1)


def token_mask(seq: jax.Array) -> jax.Array:
    """1.0 on the tokens up to and including the first EOS, else 0.0. `[B, L]`."""
    is_eos = seq == EOS
    before = jnp.cumsum(is_eos, axis=1) - is_eos
    return ((before == 0) & (seq != PAD)).astype(jnp.float32)


def clean(seq: jax.Array) -> jax.Array:
    """PAD every position after the first EOS."""
    is_eos = seq == EOS
    after = (jnp.cumsum(is_eos, axis=1) - is_eos) > 0
    return jnp.where(after, PAD, seq)


def token_logprobs(logits: jax.Array, seq: jax.Array) -> jax.Array:
    """log p of each position's token, masked to the sentence. `[B, L]`."""
    logp = jax.nn.log_softmax(logits.astype(jnp.float32))
    picked = jnp.take_along_axis(logp, seq[..., None], axis=-1)[..., 0]
    return picked * token_mask(seq)


def seq2seq_logprob(model: Seq2Seq, params, src, tgt) -> tuple[jax.Array, jax.Array]:
    """(sum of log P(tgt | src) over tokens `[B]`, number of tokens `[B]`)."""
    logits = model.apply({"params": params}, src, shift_right(tgt))
    return jnp.sum(token_logprobs(logits, tgt), 1), jnp.sum(token_mask(tgt), 1)


def lm_logprob(model: LanguageModel, params, seq) -> tuple[jax.Array, jax.Array]:
    """(sum of log P_LM(seq) over tokens `[B]`, number of tokens `[B]`)."""
    logits = model.apply({"params": params}, shift_right(seq))
    return jnp.sum(token_logprobs(logits, seq), 1), jnp.sum(token_mask(seq), 1)


def _allowed(logits: jax.Array) -> jax.Array:
    """Never generate PAD or BOS."""
    banned = (jnp.arange(logits.shape[-1]) == PAD) | (jnp.arange(logits.shape[-1]) == BOS)
    return jnp.where(banned, NEG, logits)


def generate(model: Seq2Seq, params, src, key=None, *, greedy: bool = False) -> jax.Array:
    """Greedy (`greedy=True`) or ancestral-sampled translations `[B, max_len]` of `src [B, S]`."""
    memory, memory_mask = model.apply({"params": params}, src, method=Seq2Seq.encode)
    length = model.max_len
    out = jnp.full((src.shape[0], length), PAD, jnp.int32)
    key = jax.random.key(0) if key is None else key

    def body(t, out):
        logits = model.apply(
            {"params": params}, memory, memory_mask, shift_right(out), method=Seq2Seq.decode
        )
        logits = _allowed(jax.lax.dynamic_index_in_dim(logits, t, 1, keepdims=False))
        if greedy:
            tok = jnp.argmax(logits, -1)
        else:
            tok = jax.random.categorical(jax.random.fold_in(key, t), logits)
        return out.at[:, t].set(tok.astype(jnp.int32))

    out = jax.lax.fori_loop(0, length, body, out)
    return clean(out)


def beam_search(model: Seq2Seq, params, src, beam: int) -> tuple[jax.Array, jax.Array]:
    """The `beam` best translations by summed log-probability (each position's distribution
    renormalised over the tokens decoding may emit, i.e. without PAD and BOS).

    `src [B, S]` -> sequences `[B, beam, max_len]` (best first), scores `[B, beam]`.
    """
    if beam < 1:
        raise ValueError(f"beam size must be >= 1, got {beam}")
    memory, memory_mask = model.apply({"params": params}, src, method=Seq2Seq.encode)
    b, length, k = src.shape[0], model.max_len, beam
    memory = jnp.repeat(memory, k, axis=0)
    memory_mask = jnp.repeat(memory_mask, k, axis=0)
    vocab = model.tgt_vocab
    seqs = jnp.full((b, k, length), PAD, jnp.int32)
    scores = jnp.tile(jnp.where(jnp.arange(k) == 0, 0.0, NEG)[None], (b, 1))
    finished = jnp.zeros((b, k), bool)
    pad_only = jnp.where(jnp.arange(vocab) == PAD, 0.0, NEG)

    def body(t, carry):
        seqs, scores, finished = carry
        logits = model.apply(
            {"params": params},
            memory,
            memory_mask,
            shift_right(seqs.reshape(b * k, length)),
            method=Seq2Seq.decode,
        )
        logits = jax.lax.dynamic_index_in_dim(logits, t, 1, keepdims=False)
        logp = jax.nn.log_softmax(_allowed(logits).astype(jnp.float32)).reshape(b, k, vocab)
        logp = jnp.where(finished[..., None], pad_only, logp)
        cand = (scores[..., None] + logp).reshape(b, k * vocab)
        top, idx = jax.lax.top_k(cand, k)
        parent, tok = idx // vocab, (idx % vocab).astype(jnp.int32)
        seqs = jnp.take_along_axis(seqs, parent[..., None], axis=1)
        seqs = jax.lax.dynamic_update_index_in_dim(seqs, tok, t, axis=2)
        finished = jnp.take_along_axis(finished, parent, axis=1) | (tok == EOS)
        return seqs, top, finished

    seqs, scores, _ = jax.lax.fori_loop(0, length, body, (seqs, scores, finished))
    return clean(seqs.reshape(b * k, length)).reshape(b, k, length), scores


def dual_rerank(
    forward: Seq2Seq,
    forward_params,
    backward: Seq2Seq,
    backward_params,
    src: jax.Array,
    candidates: jax.Array,
    weight: float,
) -> tuple[jax.Array, jax.Array]:
    """Dual inference: pick, among `candidates [B, K, L]` for `src [B, S]`, the one that
    maximises weight * log P(y|x) + (1 - weight) * log P(x|y).

    Returns the chosen `[B, L]` and the index `[B]`.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"dual inference weight must be in [0, 1], got {weight}")
    b, k, length = candidates.shape
    flat = candidates.reshape(b * k, length)
    srcs = jnp.repeat(src, k, axis=0)
    fwd, _ = seq2seq_logprob(forward, forward_params, srcs, flat)
    bwd, _ = seq2seq_logprob(backward, backward_params, flat, srcs)
    score = (weight * fwd + (1.0 - weight) * bwd).reshape(b, k)
    best = jnp.argmax(score, axis=1)
    return jnp.take_along_axis(candidates, best[:, None, None], axis=1)[:, 0], best
