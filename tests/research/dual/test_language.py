import numpy as np
import pytest

from research.dual.language import (
    DIGITS,
    EOS,
    GERMAN,
    PAD,
    PAIRS,
    WORDS,
    VocabularyError,
    build_corpora,
    check_ids,
    get_pair,
    number_to_digits,
    number_to_german,
    number_to_words,
)


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (105, "one hundred five"),
        (1000, "one thousand"),
        (7007, "seven thousand seven"),
        (20_300, "twenty thousand three hundred"),
        (999_999, "nine hundred ninety nine thousand nine hundred ninety nine"),
    ],
)
def test_number_to_words(n, words):
    assert " ".join(number_to_words(n)) == words


def test_out_of_range_numbers_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 999999\]"):
        number_to_words(1_000_000)
    with pytest.raises(ValueError, match=r"\[0, 999999\]"):
        number_to_digits(-1)


def test_encode_decode_round_trip():
    ids = WORDS.encode(["four", "hundred", "seven"], 6)
    assert ids.shape == (6,) and ids[3] == EOS and ids[4] == PAD
    assert WORDS.decode(ids) == ["four", "hundred", "seven"]
    assert DIGITS.decode(DIGITS.encode(list("407"), 5)) == ["4", "0", "7"]


def test_bad_sequences_give_clear_errors():
    with pytest.raises(VocabularyError, match="empty sequence"):
        DIGITS.encode([], 5)
    with pytest.raises(VocabularyError, match="too long for max_len=3"):
        DIGITS.encode(list("123"), 3)
    with pytest.raises(VocabularyError, match="other language"):
        DIGITS.encode(["four"], 5)
    with pytest.raises(VocabularyError, match="outside vocabulary"):
        DIGITS.decode([3, 40])


def test_check_ids_catches_vocabulary_mismatch_and_empty_rows():
    words = np.stack([WORDS.encode(["twenty", "one"], 5)])
    check_ids(words, WORDS.size, "ok")
    with pytest.raises(VocabularyError, match="different vocabularies"):
        check_ids(words, DIGITS.size, "words given to a digits model")
    empty = np.array([[EOS, PAD, PAD]])
    with pytest.raises(VocabularyError, match="empty sentence"):
        check_ids(empty, WORDS.size, "x")
    no_eos = np.array([[3, 4, 5]])
    with pytest.raises(VocabularyError, match="no EOS"):
        check_ids(no_eos, WORDS.size, "x")


def test_corpora_split_parallel_and_monolingual():
    c = build_corpora(200, 0.1, 30, 10, 0)
    assert c.parallel_a.shape == (20, 10) and c.parallel_b.shape == (20, 10)
    assert len(c.mono_a) + len(c.mono_b) == 180
    test = {tuple(r) for r in c.test_a}
    assert not test & {tuple(r) for r in c.parallel_a}
    assert not test & {tuple(r) for r in c.mono_a}
    # the pair i of the parallel corpus is the same number in both languages
    n = int("".join(DIGITS.decode(c.parallel_a[3])))
    assert WORDS.decode(c.parallel_b[3]) == number_to_words(n)
    with pytest.raises(ValueError, match="parallel_fraction"):
        build_corpora(200, 0.0, 30, 10, 0)


@pytest.mark.parametrize(
    "n, german",
    [
        (0, "null"),
        (1, "eins"),
        (16, "sech zehn"),
        (17, "sieb zehn"),
        (21, "ein und zwan zig"),
        (36, "sechs und drei ßig"),
        (70, "sieb zig"),
        (101, "ein hundert eins"),
        (1001, "ein tausend eins"),
        (21_000, "ein und zwan zig tausend"),
        (101_001, "ein hundert ein tausend eins"),
        (777_777, "sieben hundert sieben und sieb zig tausend sieben hundert sieben und sieb zig"),
    ],
)
def test_number_to_german_reorders_and_agrees(n, german):
    assert " ".join(number_to_german(n)) == german


def test_pairs_declare_their_longest_sentence_and_directions():
    for pair in PAIRS.values():
        numbers = [*range(1000), *range(770_000, 780_000)]  # holds the longest, 777,777
        longest = max(max(len(pair.write_a(n)), len(pair.write_b(n))) for n in numbers)
        assert longest == pair.max_tokens
    assert PAIRS["en-de"].directions == ("words->german", "german->words")
    with pytest.raises(VocabularyError, match="data.pair must be one of"):
        get_pair("en-fr")


def test_en_de_corpora_have_disjoint_validation_and_test_numbers():
    c = build_corpora(300, 0.1, 40, 14, 0, "en-de", 30)
    assert c.valid_a.shape == (30, 14) and c.test_b.shape == (40, 14)
    test = {tuple(r) for r in c.test_a}
    valid = {tuple(r) for r in c.valid_a}
    train = {tuple(r) for r in np.concatenate([c.parallel_a, c.mono_a])}
    assert not test & valid and not valid & train and not test & train
    n = c.test_numbers[5]
    assert GERMAN.decode(c.test_b[5]) == number_to_german(int(n))
    assert WORDS.decode(c.test_a[5]) == number_to_words(int(n))
