"""A generated language pair: numbers written as digits ("4 0 7") and as English words
("four hundred seven"), with vocabularies, encoding to fixed-length id arrays and corpora
(a small parallel corpus, large monolingual corpora on both sides, a test set).

Every sequence is stored as `[max_len]` int32 ids: the tokens, then `EOS`, then `PAD`.
The digits side is language "A", the words side language "B".
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy as np

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
MAX_NUMBER = 999_999


class VocabularyError(ValueError):
    """Data and a model or vocabulary do not fit together; the message names the fix."""


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """Token <-> id; ids 0, 1, 2 are `<pad>`, `<bos>`, `<eos>`."""

    name: str
    tokens: tuple[str, ...]

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    @property
    def size(self) -> int:
        return len(self.tokens)

    def encode(self, words: Sequence[str], max_len: int) -> np.ndarray:
        """Tokens -> `[max_len]` ids (tokens, EOS, PAD...)."""
        if len(words) == 0:
            raise VocabularyError(
                f"empty sequence for vocabulary {self.name!r}: every sentence needs at least "
                "one token; drop empty lines from the corpus"
            )
        if len(words) + 1 > max_len:
            raise VocabularyError(
                f"sequence of {len(words)} tokens is too long for max_len={max_len} (tokens + "
                f"EOS must fit): raise model.max_len to at least {len(words) + 1} or shorten "
                f"it: {' '.join(words)!r}"
            )
        unknown = [w for w in words if w not in self.index or self.index[w] < len(SPECIALS)]
        if unknown:
            raise VocabularyError(
                f"tokens {unknown} are not in vocabulary {self.name!r} ({self.size} tokens): "
                "was the sentence written in the other language?"
            )
        ids = np.full(max_len, PAD, np.int32)
        ids[: len(words)] = [self.index[w] for w in words]
        ids[len(words)] = EOS
        return ids

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Ids up to the first EOS (PAD and BOS skipped) -> tokens."""
        out = []
        for i in np.asarray(ids).tolist():
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            if not 0 <= i < self.size:
                raise VocabularyError(
                    f"id {i} is outside vocabulary {self.name!r} of {self.size} tokens: the "
                    "model's output vocabulary does not match this one"
                )
            out.append(self.tokens[i])
        return out


DIGITS = Vocabulary("digits", SPECIALS + tuple("0123456789"))
WORDS = Vocabulary(
    "words", SPECIALS + tuple(ONES) + tuple(t for t in TENS if t != "_") + ("hundred", "thousand")
)


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
        if n == 0:
            return words
    if n >= 20:
        words.append(TENS[n // 10])
        if n % 10:
            words.append(ONES[n % 10])
    elif n > 0 or not words:
        words.append(ONES[n])
    return words


def number_to_words(n: int) -> list[str]:
    """0 <= n <= 999,999 in English words: 407 -> four hundred seven."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"numbers must be in [0, {MAX_NUMBER}], got {n}")
    if n < 1000:
        return _below_thousand(n)
    words = _below_thousand(n // 1000) + ["thousand"]
    return words + (_below_thousand(n % 1000) if n % 1000 else [])


def number_to_digits(n: int) -> list[str]:
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"numbers must be in [0, {MAX_NUMBER}], got {n}")
    return list(str(n))


def sample_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct-ish numbers: a length of 1-6 digits uniformly, then a number of that length."""
    digits = rng.integers(1, 7, size=count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return rng.integers(low, 10**digits).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class Corpora:
    """Id arrays `[n, max_len]`: parallel pairs, monolingual sides, test pairs."""

    parallel_a: np.ndarray
    parallel_b: np.ndarray
    mono_a: np.ndarray
    mono_b: np.ndarray
    test_a: np.ndarray
    test_b: np.ndarray
    test_numbers: np.ndarray
    max_len: int


def encode_numbers(numbers: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.stack([DIGITS.encode(number_to_digits(int(n)), max_len) for n in numbers])
    b = np.stack([WORDS.encode(number_to_words(int(n)), max_len) for n in numbers])
    return a, b


@functools.cache
def build_corpora(
    num_train: int, parallel_fraction: float, num_test: int, max_len: int, seed: int = 0
) -> Corpora:
    """Disjoint train/test numbers. The first `parallel_fraction` of the training numbers are
    parallel pairs; the monolingual corpora hold the rest, split into two disjoint halves (the
    digits of one half, the words of the other), so no pair is ever seen through them.

    With `parallel_fraction=1` every training number is a parallel pair, and the monolingual
    corpora are the two sides of the same numbers.
    """
    if not 0.0 < parallel_fraction <= 1.0:
        raise ValueError(f"data.parallel_fraction must be in (0, 1], got {parallel_fraction}")
    if num_train < 2 or num_test < 1:
        raise ValueError(f"need num_train >= 2 and num_test >= 1, got {num_train}, {num_test}")
    rng = np.random.default_rng(seed)
    pool = np.unique(sample_numbers(rng, 3 * (num_train + num_test)))
    rng.shuffle(pool)
    if len(pool) < num_train + num_test:
        raise ValueError(f"cannot draw {num_train + num_test} distinct numbers; ask for fewer")
    test = pool[:num_test]
    train = pool[num_test : num_test + num_train]
    n_par = max(1, int(round(parallel_fraction * num_train)))
    par = train[:n_par]
    rest = train[n_par:]
    if len(rest) >= 2:
        half = len(rest) // 2
        mono_a_numbers, mono_b_numbers = rest[:half], rest[half:]
    else:
        mono_a_numbers = mono_b_numbers = par
    pa, pb = encode_numbers(par, max_len)
    ta, tb = encode_numbers(test, max_len)
    ma, _ = encode_numbers(mono_a_numbers, max_len)
    _, mb = encode_numbers(mono_b_numbers, max_len)
    return Corpora(pa, pb, ma, mb, ta, tb, test, max_len)


def check_ids(ids: np.ndarray, vocab_size: int, what: str) -> None:
    """Ids must lie in the model's vocabulary and every row must hold a non-empty sentence."""
    ids = np.asarray(ids)
    if ids.ndim != 2:
        raise VocabularyError(f"{what} must be [n, max_len] ids, got shape {ids.shape}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise VocabularyError(
            f"{what} holds id {int(ids.max())} but the model's vocabulary has {vocab_size} "
            "tokens: the data and the model use different vocabularies; build the model with "
            "the data's vocabulary size"
        )
    if np.any(ids[:, 0] == EOS) or np.any(ids[:, 0] == PAD):
        raise VocabularyError(f"{what} holds an empty sentence (first id is EOS or PAD)")
    if not np.all(np.any(ids == EOS, axis=1)):
        raise VocabularyError(
            f"{what} holds a sentence with no EOS: it is longer than max_len={ids.shape[1]} - 1"
        )
