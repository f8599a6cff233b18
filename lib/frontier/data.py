"""Data: bundled data sets, standard on-disk formats, deterministic batching.

Nothing here downloads. Loaders read a standard format from a path the user gives.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

# IDX element types (the MNIST file format): type code -> numpy dtype (big-endian).
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped), e.g. `train-images-idx3-ubyte`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"IDX file {path} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"{path} is not an IDX file: it must start with two zero bytes, a type code in "
            f"{sorted(hex(t) for t in _IDX_TYPES)} and the number of dimensions"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header says shape {shape} ({expected} bytes of data) but the file holds "
            f"{len(raw) - header} bytes; the file is truncated or not IDX"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an IDX file (used by tests to make fixtures)."""
    array = np.asarray(array)
    code = {
        np.dtype(np.uint8): 0x08,
        np.dtype(np.int8): 0x09,
        np.dtype(np.int16): 0x0B,
        np.dtype(np.int32): 0x0C,
        np.dtype(np.float32): 0x0D,
        np.dtype(np.float64): 0x0E,
    }
    if array.dtype not in code:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code[array.dtype], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    big = array.astype(array.dtype.newbyteorder(">"))
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + big.tobytes())


MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def load_mnist(root: str | os.PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the standard IDX files in `root` (plain or `.gz`).

    Returns images `[n, 28, 28, 1]` float32 in [0, 1] and labels `[n]` int32.
    """
    root = Path(root)
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}, got {split!r}")
    if not root.is_dir():
        raise FileNotFoundError(f"MNIST directory {root} does not exist")
    found = []
    for name in MNIST_FILES[split]:
        candidates = [root / name, root / f"{name}.gz"]
        hit = next((c for c in candidates if c.exists()), None)
        if hit is None:
            raise FileNotFoundError(
                f"{root} has no {name} (or {name}.gz); expected the standard MNIST IDX files "
                f"{[f for pair in MNIST_FILES.values() for f in pair]}"
            )
        found.append(hit)
    images, labels = read_idx(found[0]), read_idx(found[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match "
            "(expected [n, rows, cols] and [n])"
        )
    return (images[..., None].astype(np.float32) / 255.0), labels.astype(np.int32)


def load_digits_split(test_fraction: float = 0.25, split_seed: int = 0):
    """scikit-learn's bundled 8x8 digits, stratified train/test split.

    Returns `(x_train [n, 64], y_train [n], x_test [m, 64], y_test [m])`, pixels scaled to
    [0, 1] (the raw values are 0..16). The split is fixed by `split_seed`, independent of the
    training seeds, so that seeds vary only the training.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y
    )
    return xtr, ytr, xte, yte


def minibatch_indices(num_examples: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Indices of minibatch `step`: epochs are permutations drawn from (seed, epoch).

    A pure function of its arguments, so a resumed run sees exactly the same batches.
    """
    if batch_size > num_examples:
        raise ValueError(
            f"batch size {batch_size} is larger than the {num_examples} training examples"
        )
    per_epoch = num_examples // batch_size
    epoch, position = divmod(step, per_epoch)
    perm = np.random.default_rng([seed, epoch]).permutation(num_examples)
    return perm[position * batch_size : (position + 1) * batch_size]
