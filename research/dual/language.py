"""Generated language pairs over the numbers 0-999,999, with vocabularies, encoding to
fixed-length id arrays and corpora (a small parallel corpus, large monolingual corpora on both
sides, a validation set and a test set).

Two pairs (`PAIRS`), language "A" -> language "B":

- `digits-en`: digits ("4 0 7") <-> English words ("four hundred seven"). Monotone and nearly
  one-to-one: the quick variant, which a small parallel corpus already almost solves.
- `en-de`: English words <-> German number words split into morphemes. German puts the ones
  before the tens ("twenty one" <-> "ein und zwan zig"), so every two-digit group is reordered
  around "und"; and its forms agree with their context: "eins" only ends a number, otherwise
  "ein" ("ein hundert eins", "ein tausend"), and the stems change inside compounds ("sechs" but
  "sech zehn", "sech zig"; "sieben" but "sieb zehn", "sieb zig"; "zwei" but "zwan zig"; "zig"
  but "drei ßig"). Neither side can be translated token by token.

Every sequence is stored as `[max_len]` int32 ids: the tokens, then `EOS`, then `PAD`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

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


GERMAN_ONES = (
    "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf drei_zehn vier_zehn "
    "fünf_zehn sech_zehn sieb_zehn acht_zehn neun_zehn"
).split()
GERMAN_TENS = "_ _ zwan_zig drei_ßig vier_zig fünf_zig sech_zig sieb_zig acht_zig neun_zig".split()
GERMAN = Vocabulary(
    "german",
    SPECIALS
    + tuple(
        (
            "null eins ein zwei drei vier fünf sechs sieben acht neun zehn elf zwölf sech sieb "
            "zwan zig ßig und hundert tausend"
        ).split()
    ),
)


def _german_below_thousand(n: int, final: bool) -> list[str]:
    """1 <= n <= 999; `final`: nothing follows (then a closing 1 is "eins", else "ein")."""
    words: list[str] = []
    if n >= 100:
        words += ["ein" if n // 100 == 1 else GERMAN_ONES[n // 100], "hundert"]
        n %= 100
        if n == 0:
            return words
    if n == 1:
        return words + ["eins" if final else "ein"]
    if n < 20:
        return words + GERMAN_ONES[n].split("_")
    tens = GERMAN_TENS[n // 10].split("_")
    if n % 10 == 0:
        return words + tens
    ones = "ein" if n % 10 == 1 else GERMAN_ONES[n % 10]
    return words + [ones, "und"] + tens


def number_to_german(n: int) -> list[str]:
    """0 <= n <= 999,999 in German number words split into morphemes:
    21 -> ein und zwan zig, 101 -> ein hundert eins, 16,070 -> sech zehn tausend sieb zig."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"numbers must be in [0, {MAX_NUMBER}], got {n}")
    if n == 0:
        return ["null"]
    high, low = divmod(n, 1000)
    words = _german_below_thousand(high, final=False) + ["tausend"] if high else []
    return words + (_german_below_thousand(low, final=True) if low else [])


def sample_numbers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Distinct-ish numbers: a length of 1-6 digits uniformly, then a number of that length."""
    digits = rng.integers(1, 7, size=count)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return rng.integers(low, 10**digits).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class LanguagePair:
    """Language A and language B: their vocabularies and how each writes a number."""

    name: str
    a: Vocabulary
    b: Vocabulary
    write_a: Callable[[int], list[str]]
    write_b: Callable[[int], list[str]]
    max_tokens: int  # the longest sentence of either side over 0-999,999, EOS not counted

    @property
    def directions(self) -> tuple[str, str]:
        return f"{self.a.name}->{self.b.name}", f"{self.b.name}->{self.a.name}"


PAIRS = {
    "digits-en": LanguagePair("digits-en", DIGITS, WORDS, number_to_digits, number_to_words, 9),
    "en-de": LanguagePair("en-de", WORDS, GERMAN, number_to_words, number_to_german, 13),
}


def get_pair(name: str) -> LanguagePair:
    if name not in PAIRS:
        raise VocabularyError(f"data.pair must be one of {sorted(PAIRS)}, got {name!r}")
    return PAIRS[name]


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
    valid_a: np.ndarray | None = None
    valid_b: np.ndarray | None = None
    pair: str = "digits-en"


def encode_numbers(
    numbers: np.ndarray, max_len: int, pair: str = "digits-en"
) -> tuple[np.ndarray, np.ndarray]:
    lp = get_pair(pair)
    a = np.stack([lp.a.encode(lp.write_a(int(n)), max_len) for n in numbers])
    b = np.stack([lp.b.encode(lp.write_b(int(n)), max_len) for n in numbers])
    return a, b


@functools.cache
def build_corpora(
    num_train: int,
    parallel_fraction: float,
    num_test: int,
    max_len: int,
    seed: int = 0,
    pair: str = "digits-en",
    num_valid: int = 0,
) -> Corpora:
    """Disjoint train/validation/test numbers, written in the two languages of `pair`. The
    first `parallel_fraction` of the training numbers are parallel pairs; the monolingual
    corpora hold the rest, split into two disjoint halves (language A of one half, language B
    of the other), so no pair is ever seen through them.

    With `parallel_fraction=1` every training number is a parallel pair, and the monolingual
    corpora are the two sides of the same numbers.
    """
    if not 0.0 < parallel_fraction <= 1.0:
        raise ValueError(f"data.parallel_fraction must be in (0, 1], got {parallel_fraction}")
    if num_train < 2 or num_test < 1 or num_valid < 0:
        raise ValueError(
            f"need num_train >= 2, num_test >= 1 and num_valid >= 0, got {num_train}, "
            f"{num_test}, {num_valid}"
        )
    get_pair(pair)
    rng = np.random.default_rng(seed)
    total = num_train + num_test + num_valid
    pool = np.unique(sample_numbers(rng, 3 * total))
    rng.shuffle(pool)
    if len(pool) < total:
        raise ValueError(f"cannot draw {total} distinct numbers; ask for fewer")
    test = pool[:num_test]
    valid = pool[num_test : num_test + num_valid]
    train = pool[num_test + num_valid : num_test + num_valid + num_train]
    n_par = max(1, int(round(parallel_fraction * num_train)))
    par = train[:n_par]
    rest = train[n_par:]
    if len(rest) >= 2:
        half = len(rest) // 2
        mono_a_numbers, mono_b_numbers = rest[:half], rest[half:]
    else:
        mono_a_numbers = mono_b_numbers = par
    pa, pb = encode_numbers(par, max_len, pair)
    ta, tb = encode_numbers(test, max_len, pair)
    ma, _ = encode_numbers(mono_a_numbers, max_len, pair)
    _, mb = encode_numbers(mono_b_numbers, max_len, pair)
    va, vb = encode_numbers(valid, max_len, pair) if num_valid else (None, None)
    return Corpora(pa, pb, ma, mb, ta, tb, test, max_len, va, vb, pair)


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
