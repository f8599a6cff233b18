"""Task distributions for meta-learning.

* :func:`sample_sinusoid_tasks` -- the sinusoid regression benchmark of Finn et al. (2017),
  pure JAX and jittable.
* :class:`FewShotSampler` -- N-way K-shot classification episodes over a labelled image array,
  numpy-based and deterministic given ``(seed, index)``.
* :func:`digits_fewshot_split` -- a tiny, always-available few-shot data set built from
  scikit-learn's bundled 8x8 ``load_digits`` (Omniglot-style rotation augmentation), with
  disjoint train / test classes.

Shape conventions: ``T`` tasks per meta-batch, ``K`` support and ``Q`` query examples per task,
``H, W, C`` image height, width and channels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "FewShotSampler",
    "digits_fewshot_split",
    "sample_sinusoid_tasks",
]


def _check_positive_int(name: str, value: object, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, or raise ValueError if it is not a (non-negative) integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a Python int, got {value!r} of type {type(value)}")
    lowest = 0 if allow_zero else 1
    if value < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {value}")
    return int(value)


def _check_range(name: str, value: Sequence[float]) -> tuple[float, float]:
    """Validate a ``(low, high)`` pair of Python numbers with ``low <= high``."""
    try:
        low, high = value
        low, high = float(low), float(high)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}") from err
    if not low <= high:
        raise ValueError(f"{name} must satisfy low <= high, got ({low}, {high})")
    return low, high


def sample_sinusoid_tasks(
    key: jax.Array,
    num_tasks: int,
    num_support: int,
    num_query: int,
    amp_range: tuple[float, float] = (0.1, 5.0),
    phase_range: tuple[float, float] = (0.0, math.pi),
    x_range: tuple[float, float] = (-5.0, 5.0),
) -> dict[str, jax.Array]:
    """Sample sinusoid regression tasks ``y = A * sin(x - phase)`` (Finn et al., 2017).

    Amplitude, phase and inputs are drawn uniformly from their ranges, independently per task
    (and per point for ``x``). Support and query inputs are drawn independently.

    The function is pure and jittable when ``num_tasks``, ``num_support``, ``num_query`` and the
    ranges are static (mark them with ``static_argnums`` / ``functools.partial``).

    Args:
        key: a single PRNG key, preferably a typed key from ``jax.random.key(seed)`` (shape
            ``[]``); a legacy raw ``uint32[2]`` key is also accepted.
        num_tasks: ``T``, number of tasks.
        num_support: ``K``, support points per task.
        num_query: ``Q``, query points per task.
        amp_range: ``(low, high)`` for the amplitude ``A``.
        phase_range: ``(low, high)`` for the phase.
        x_range: ``(low, high)`` for the inputs.

    Returns:
        dict with ``support_x [T, K, 1]``, ``support_y [T, K, 1]``, ``query_x [T, Q, 1]``,
        ``query_y [T, Q, 1]`` (float32), ``amplitude [T]`` and ``phase [T]``.

    Raises:
        ValueError: non-integer or non-positive sizes, malformed ranges, or a batch of keys.
    """
    num_tasks = _check_positive_int("num_tasks", num_tasks)
    num_support = _check_positive_int("num_support", num_support)
    num_query = _check_positive_int("num_query", num_query)
    amp_lo, amp_hi = _check_range("amp_range", amp_range)
    ph_lo, ph_hi = _check_range("phase_range", phase_range)
    x_lo, x_hi = _check_range("x_range", x_range)
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(
                f"key must be a single typed PRNG key of shape (), got shape {key.shape}; "
                "use jax.random.key(seed) or index one key out of a split"
            )
    elif key.shape != (2,):
        raise ValueError(
            f"key must be a typed key from jax.random.key(seed) (shape ()) or a raw uint32[2] "
            f"key, got dtype {key.dtype} and shape {key.shape}"
        )

    k_amp, k_phase, k_sx, k_qx = jax.random.split(key, 4)
    amplitude = jax.random.uniform(k_amp, (num_tasks,), jnp.float32, amp_lo, amp_hi)
    phase = jax.random.uniform(k_phase, (num_tasks,), jnp.float32, ph_lo, ph_hi)
    support_x = jax.random.uniform(k_sx, (num_tasks, num_support, 1), jnp.float32, x_lo, x_hi)
    query_x = jax.random.uniform(k_qx, (num_tasks, num_query, 1), jnp.float32, x_lo, x_hi)
    amp_b = amplitude[:, None, None]
    phase_b = phase[:, None, None]
    return {
        "support_x": support_x,
        "support_y": amp_b * jnp.sin(support_x - phase_b),
        "query_x": query_x,
        "query_y": amp_b * jnp.sin(query_x - phase_b),
        "amplitude": amplitude,
        "phase": phase,
    }


class FewShotSampler:
    """N-way K-shot episode sampler over a labelled image array.

    Each episode picks ``num_ways`` distinct classes uniformly at random, then for every chosen
    class ``num_shots + num_queries`` distinct images of that class; the first ``num_shots`` go
    to the support set, the rest to the query set. Chosen classes are relabelled
    ``0 .. num_ways - 1`` in the (random) order they were drawn. Within a set, examples are
    ordered class-major: ``[class 0 x shots, class 1 x shots, ...]``.

    Sampling is deterministic given ``(seed, index)``: ``sample(index, T)`` seeds a
    ``numpy.random.Generator`` from ``SeedSequence([seed, index])``, so the same call always
    returns the same episodes, independently of earlier calls. Use ``index`` = meta-iteration
    number for reproducible, restartable training.

    Args:
        images: ``[N_img, H, W, C]`` real array (stored as float32).
        labels: ``[N_img]`` integer class labels (any integer ids, need not be contiguous).
        num_ways: classes per episode.
        num_shots: support examples per class.
        num_queries: query examples per class.
        seed: non-negative base seed.

    Raises:
        ValueError: malformed arrays, ``num_ways`` larger than the number of classes, or
            ``num_shots + num_queries`` larger than the smallest class (its id and count are
            named).
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        num_ways: int,
        num_shots: int,
        num_queries: int,
        seed: int = 0,
    ) -> None:
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim != 4:
            raise ValueError(
                f"images must have shape [N_img, H, W, C] (4 dims), got shape {images.shape}"
            )
        if not (
            np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)
        ):
            raise ValueError(f"images must be a real numeric array, got dtype {images.dtype}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"labels must have shape [N_img] = [{images.shape[0]}] to match images, "
                f"got shape {labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        self.num_ways = _check_positive_int("num_ways", num_ways)
        self.num_shots = _check_positive_int("num_shots", num_shots)
        self.num_queries = _check_positive_int("num_queries", num_queries)
        self.seed = _check_positive_int("seed", seed, allow_zero=True)

        self.images = images.astype(np.float32, copy=False)
        self.labels = labels
        self.class_ids, counts = np.unique(labels, return_counts=True)
        if self.num_ways > len(self.class_ids):
            raise ValueError(
                f"num_ways={self.num_ways} exceeds the number of classes in labels "
                f"({len(self.class_ids)}); expected num_ways <= {len(self.class_ids)}"
            )
        needed = self.num_shots + self.num_queries
        smallest = int(np.argmin(counts))
        if counts[smallest] < needed:
            raise ValueError(
                f"num_shots + num_queries = {self.num_shots} + {self.num_queries} = {needed} "
                f"exceeds the size of the smallest class: class {self.class_ids[smallest]} has "
                f"only {counts[smallest]} examples; expected every class to have >= {needed}"
            )
        order = np.argsort(labels, kind="stable")
        bounds = np.cumsum(counts)[:-1]
        self._class_members: list[np.ndarray] = np.split(order, bounds)

    @property
    def num_classes(self) -> int:
        """Number of distinct classes available to sample from."""
        return len(self.class_ids)

    def sample(
        self, index: int, num_tasks: int, *, with_classes: bool = False
    ) -> dict[str, np.ndarray]:
        """Sample ``num_tasks`` episodes, deterministically in ``(self.seed, index)``.

        Args:
            index: non-negative episode-batch index (e.g. the meta-iteration number).
            num_tasks: ``T``, episodes to sample.
            with_classes: also return ``classes [T, ways]``, the original class ids behind
                relabelled classes ``0 .. ways-1``.

        Returns:
            dict with ``support_x [T, ways*shots, H, W, C]`` float32,
            ``support_y [T, ways*shots]`` int32 in ``0..ways-1``,
            ``query_x [T, ways*queries, H, W, C]`` float32 and
            ``query_y [T, ways*queries]`` int32 (plus ``classes`` if requested).
        """
        index = _check_positive_int("index", index, allow_zero=True)
        num_tasks = _check_positive_int("num_tasks", num_tasks)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index]))
        ways, shots, queries = self.num_ways, self.num_shots, self.num_queries
        support_idx = np.empty((num_tasks, ways, shots), dtype=np.int64)
        query_idx = np.empty((num_tasks, ways, queries), dtype=np.int64)
        classes = np.empty((num_tasks, ways), dtype=np.int64)
        for t in range(num_tasks):
            chosen = rng.choice(self.num_classes, size=ways, replace=False)
            classes[t] = self.class_ids[chosen]
            for w, c in enumerate(chosen):
                picked = rng.choice(self._class_members[c], size=shots + queries, replace=False)
                support_idx[t, w] = picked[:shots]
                query_idx[t, w] = picked[shots:]
        support_idx = support_idx.reshape(num_tasks, ways * shots)
        query_idx = query_idx.reshape(num_tasks, ways * queries)
        out = {
            "support_x": self.images[support_idx],
            "support_y": np.tile(np.repeat(np.arange(ways, dtype=np.int32), shots), (num_tasks, 1)),
            "query_x": self.images[query_idx],
            "query_y": np.tile(np.repeat(np.arange(ways, dtype=np.int32), queries), (num_tasks, 1)),
        }
        if with_classes:
            out["classes"] = classes
        return out


DIGITS_TEST_DIGITS: tuple[int, ...] = (6, 7, 8, 9)
"""Digits held out for meta-testing by :func:`digits_fewshot_split` (train uses 0-5)."""


def digits_fewshot_split(
    seed: int = 0,
    *,
    test_digits: Sequence[int] = DIGITS_TEST_DIGITS,
    rotations: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Few-shot train / test split of scikit-learn's bundled 8x8 digits (no download needed).

    Like Omniglot, every 90-degree rotation of a class is its own class: the class of an image of
    digit ``d`` rotated by ``k * 90`` degrees (counter-clockwise, ``k in 0..3``) has label
    ``4 * d + k``, giving 40 classes of ~180 images each. Train and test classes are disjoint *by
    digit*: by default digits 0-5 (24 classes) are for meta-training and 6-9 (16 classes) for
    meta-testing. Holding out 6 and 9 together also keeps the near-identical pair "6 rotated by
    180 degrees" / "9" out of the training classes.

    Images are scaled from ``0..16`` to ``[0, 1]`` float32. ``seed`` only shuffles the order of
    examples within each split (labels are global and stable).

    Args:
        seed: seed of the within-split shuffle.
        test_digits: digits whose (rotated) classes form the test split.
        rotations: if False, no rotation augmentation; the label is the digit itself.

    Returns:
        ``(train_images [N_tr, 8, 8, 1], train_labels [N_tr], test_images [N_te, 8, 8, 1],
        test_labels [N_te])``; labels are int32.
    """
    from sklearn.datasets import load_digits

    test_set = {int(d) for d in test_digits}
    if not test_set or not test_set <= set(range(10)) or len(test_set) == 10:
        raise ValueError(
            f"test_digits must be a non-empty proper subset of 0..9, got {tuple(test_digits)}"
        )
    x, y = load_digits(return_X_y=True)
    images = (x.reshape(-1, 8, 8, 1) / 16.0).astype(np.float32)
    digits = y.astype(np.int32)
    ks = range(4) if rotations else range(1)
    num_rot = len(ks)
    all_images = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in ks])
    all_labels = np.concatenate([digits * num_rot + k for k in ks]).astype(np.int32)
    all_digits = np.concatenate([digits for _ in ks])
    rng = np.random.default_rng(seed)
    splits = []
    for is_test in (False, True):
        sel = np.flatnonzero(np.isin(all_digits, list(test_set)) == is_test)
        sel = sel[rng.permutation(len(sel))]
        splits.append((np.ascontiguousarray(all_images[sel]), all_labels[sel]))
    (tr_x, tr_y), (te_x, te_y) = splits
    return tr_x, tr_y, te_x, te_y
