"""Omniglot loader for the standard on-disk layout (no download; the root is given by the user).

Expected layout (as unpacked from the official ``images_background.zip`` and
``images_evaluation.zip``)::

    <root>/images_background/<alphabet>/<character>/<id>_<drawer>.png   (964 characters)
    <root>/images_evaluation/<alphabet>/<character>/<id>_<drawer>.png   (659 characters)

e.g. ``images_background/Greek/character01/0394_01.png``. Hidden entries (names starting with
``.``) are ignored everywhere, as are plain files next to the alphabet / character folders.

Character order and splits
--------------------------
All 1623 characters are put in one deterministic list sorted by
``(subset, alphabet, character)`` with ``images_background`` before ``images_evaluation`` and
names compared as strings (Omniglot's ``characterNN`` names are zero-padded, so this is numeric
order). The list is then cut into *contiguous* blocks, first block = train:

* ``split="maml"``: 1200 train / 423 test. Train = all 964 background characters + the first 236
  evaluation characters; test = the last 423 evaluation characters.
* ``split="vinyals"``: 1028 train / 172 val / 423 test (Vinyals et al., 2016 sizes). The test
  block is the same 423 characters as in the MAML split.

Only the split *sizes* follow the literature; the membership is this module's deterministic
ordering (the original papers used a seeded shuffle or alphabet lists), so numbers are
comparable in protocol but not image-for-image.

Rotation augmentation is applied *after* the character split, so all four rotations of a
character are in the same split: with ``rotations=True`` each (character, k) with ``k in 0..3``
(counter-clockwise ``k * 90`` degrees) is a separate class, label ``4 * i + k`` for the ``i``-th
character of the split.

Small roots (test fixtures, subsets): if the root holds fewer than 1623 characters,
:func:`load_omniglot` raises unless ``allow_small=True``; then the block sizes are scaled
proportionally: ``n_test = max(1, round(n * 423 / 1623))``, for Vinyals additionally
``n_val = max(1, round(n * 172 / 1623))``, and train gets the remainder (at least 1, else an
error). With ``n = 1623`` this reproduces the exact sizes. More than 1623 characters is always an
error.

Images are read with PIL, converted to greyscale, resized to ``image_size`` x ``image_size``
(Lanczos) and inverted so that ink = 1.0 and background = 0.0 (float32 in ``[0, 1]``).
Memory: the full data set with rotations at 28x28 float32 is ~407 MB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "OMNIGLOT_NUM_CHARACTERS",
    "SPLIT_SIZES",
    "SUBSETS",
    "CharacterRef",
    "OmniglotLayoutError",
    "OmniglotSplit",
    "list_characters",
    "load_character_image",
    "load_omniglot",
    "split_characters",
    "split_sizes",
]

SUBSETS: tuple[str, str] = ("images_background", "images_evaluation")
OMNIGLOT_NUM_CHARACTERS = 1623
SPLIT_SIZES: dict[str, dict[str, int]] = {
    "maml": {"train": 1200, "test": 423},
    "vinyals": {"train": 1028, "val": 172, "test": 423},
}
_FILE_RE = re.compile(r"^(\d+)_(\d+)\.png$")
_LAYOUT = "<root>/{images_background,images_evaluation}/<alphabet>/<character>/<id>_<drawer>.png"


class OmniglotLayoutError(ValueError):
    """The Omniglot root does not have the expected directory / file layout."""


@dataclass(frozen=True)
class CharacterRef:
    """One Omniglot character: where it lives and its drawer PNGs (sorted by name)."""

    subset: str
    alphabet: str
    character: str
    files: tuple[Path, ...]

    @property
    def name(self) -> str:
        """``"<subset>/<alphabet>/<character>"``."""
        return f"{self.subset}/{self.alphabet}/{self.character}"


@dataclass(frozen=True)
class OmniglotSplit:
    """Images of one split.

    Attributes:
        images: ``[N, S, S, 1]`` float32 in ``[0, 1]``, ink = 1.
        labels: ``[N]`` int32 class ids ``0 .. num_classes - 1`` (local to this split).
        class_names: ``[num_classes]`` names ``"<subset>/<alphabet>/<character>/rot<deg>"``;
            ``class_names[labels[i]]`` names the class of image ``i``.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        """Number of classes in this split."""
        return len(self.class_names)


def _visible_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_characters(root: str | Path) -> list[CharacterRef]:
    """List and validate all characters under ``root`` in the deterministic split order.

    Args:
        root: directory containing ``images_background/`` and ``images_evaluation/``.

    Returns:
        Characters sorted by ``(subset, alphabet, character)`` (background first).

    Raises:
        OmniglotLayoutError: (a ``ValueError``) if the root or a subset folder is missing, a
            subset has no alphabets, an alphabet has no characters, a character folder has no
            PNGs, or a file in a character folder is not named ``<id>_<drawer>.png``.
    """
    root = Path(root)
    if not root.is_dir():
        raise OmniglotLayoutError(
            f"Omniglot root {root} does not exist or is not a directory; expected layout {_LAYOUT}"
        )
    characters: list[CharacterRef] = []
    for subset in SUBSETS:
        subset_dir = root / subset
        if not subset_dir.is_dir():
            raise OmniglotLayoutError(
                f"missing folder {subset_dir}; expected both images_background/ and "
                f"images_evaluation/ under {root} (layout {_LAYOUT})"
            )
        alphabets = _visible_dirs(subset_dir)
        if not alphabets:
            raise OmniglotLayoutError(
                f"{subset_dir} contains no alphabet folders; expected {_LAYOUT}"
            )
        for alphabet_dir in alphabets:
            char_dirs = _visible_dirs(alphabet_dir)
            if not char_dirs:
                raise OmniglotLayoutError(
                    f"alphabet folder {alphabet_dir} contains no character folders; "
                    f"expected {_LAYOUT}"
                )
            for char_dir in char_dirs:
                files = []
                for f in sorted(char_dir.iterdir()):
                    if f.name.startswith("."):
                        continue
                    if not f.is_file() or not _FILE_RE.match(f.name):
                        raise OmniglotLayoutError(
                            f"unexpected entry {f}: every entry of a character folder must be a "
                            f"PNG named <id>_<drawer>.png (e.g. 0394_01.png); expected {_LAYOUT}"
                        )
                    files.append(f)
                if not files:
                    raise OmniglotLayoutError(
                        f"character folder {char_dir} contains no PNG files; expected "
                        f"<id>_<drawer>.png files (layout {_LAYOUT})"
                    )
                characters.append(
                    CharacterRef(subset, alphabet_dir.name, char_dir.name, tuple(files))
                )
    return characters


def split_sizes(num_characters: int, split: str, allow_small: bool) -> dict[str, int]:
    """Number of characters per split block (in order) for ``num_characters`` characters.

    Exact literature sizes for 1623 characters; proportional sizes (see module docstring) for
    fewer if ``allow_small``. Raises ValueError otherwise.
    """
    if split not in SPLIT_SIZES:
        raise ValueError(f"split must be one of {sorted(SPLIT_SIZES)}, got {split!r}")
    full = SPLIT_SIZES[split]
    n = num_characters
    if n == OMNIGLOT_NUM_CHARACTERS:
        return dict(full)
    if n > OMNIGLOT_NUM_CHARACTERS:
        raise ValueError(
            f"found {n} characters, more than the {OMNIGLOT_NUM_CHARACTERS} of Omniglot; "
            "expected the standard images_background (964) + images_evaluation (659)"
        )
    if not allow_small:
        raise ValueError(
            f"found {n} characters but the {split!r} split expects the full Omniglot with "
            f"{OMNIGLOT_NUM_CHARACTERS} (964 background + 659 evaluation); pass "
            "allow_small=True to split a smaller root proportionally"
        )
    sizes = {
        name: max(1, round(n * size / OMNIGLOT_NUM_CHARACTERS))
        for name, size in full.items()
        if name != "train"
    }
    train = n - sum(sizes.values())
    if train < 1:
        raise ValueError(
            f"only {n} characters: too few to give every block of the {split!r} split "
            f"({', '.join(full)}) at least one character"
        )
    return {"train": train, **sizes}


def split_characters(
    characters: list[CharacterRef], split: str = "maml", *, allow_small: bool = False
) -> dict[str, list[CharacterRef]]:
    """Cut the ordered character list into contiguous train / (val) / test blocks."""
    sizes = split_sizes(len(characters), split, allow_small)
    out: dict[str, list[CharacterRef]] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = characters[start : start + size]
        start += size
    return out


def load_character_image(path: str | Path, image_size: int = 28) -> np.ndarray:
    """Read one Omniglot PNG as ``[image_size, image_size]`` float32, ink = 1, background = 0."""
    from PIL import Image

    with Image.open(path) as img:
        grey = img.convert("L").resize((image_size, image_size), Image.Resampling.LANCZOS)
        arr = np.asarray(grey, dtype=np.float32) / 255.0
    return np.clip(1.0 - arr, 0.0, 1.0)


def load_omniglot(
    root: str | Path,
    split: str = "maml",
    *,
    image_size: int = 28,
    rotations: bool = True,
    allow_small: bool = False,
) -> dict[str, OmniglotSplit]:
    """Load Omniglot from ``root`` and split it by character (see module docstring).

    Args:
        root: folder with ``images_background/`` and ``images_evaluation/``.
        split: ``"maml"`` (train / test = 1200 / 423) or ``"vinyals"``
            (train / val / test = 1028 / 172 / 423).
        image_size: side ``S`` of the resized square images.
        rotations: make each 90-degree rotation of a character its own class (4x classes).
        allow_small: split a root with fewer than 1623 characters proportionally instead of
            raising.

    Returns:
        ``{"train", ("val",) "test"}`` -> :class:`OmniglotSplit` with ``images [N, S, S, 1]``.

    Raises:
        OmniglotLayoutError / ValueError: bad layout (see :func:`list_characters`), unknown
            split, wrong number of characters, or a non-positive ``image_size``.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    blocks = split_characters(list_characters(root), split, allow_small=allow_small)
    ks = range(4) if rotations else range(1)
    out: dict[str, OmniglotSplit] = {}
    for name, chars in blocks.items():
        images: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        class_names: list[str] = []
        for char in chars:
            base = np.stack([load_character_image(f, image_size) for f in char.files])
            for k in ks:
                images.append(np.rot90(base, k, axes=(1, 2)))
                labels.append(np.full(len(base), len(class_names), dtype=np.int32))
                class_names.append(f"{char.name}/rot{90 * k:03d}")
        out[name] = OmniglotSplit(
            images=np.ascontiguousarray(np.concatenate(images)[..., None], dtype=np.float32),
            labels=np.concatenate(labels),
            class_names=tuple(class_names),
        )
    return out
