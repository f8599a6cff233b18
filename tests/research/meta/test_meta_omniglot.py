"""Tests for research.meta.omniglot on a tiny PNG fixture written with PIL."""

from pathlib import Path

import numpy as np
import pytest
from omniglot_fixture import NUM_DRAWERS, make_fixture

from research.meta.omniglot import (
    OmniglotLayoutError,
    list_characters,
    load_omniglot,
    split_sizes,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_fixture(tmp_path / "omniglot")


def test_split_sizes_full_and_proportional():
    assert split_sizes(1623, "maml", allow_small=False) == {"train": 1200, "test": 423}
    assert split_sizes(1623, "vinyals", allow_small=False) == {
        "train": 1028,
        "val": 172,
        "test": 423,
    }
    assert split_sizes(1623, "vinyals", allow_small=True) == {
        "train": 1028,
        "val": 172,
        "test": 423,
    }
    assert split_sizes(6, "maml", allow_small=True) == {"train": 4, "test": 2}
    assert split_sizes(6, "vinyals", allow_small=True) == {"train": 3, "val": 1, "test": 2}
    assert split_sizes(100, "maml", allow_small=True) == {"train": 74, "test": 26}
    with pytest.raises(
        ValueError, match="found 6 characters .* expects the full Omniglot with 1623"
    ):
        split_sizes(6, "maml", allow_small=False)
    with pytest.raises(ValueError, match="more than the 1623"):
        split_sizes(1624, "maml", allow_small=True)
    with pytest.raises(ValueError, match="too few"):
        split_sizes(2, "vinyals", allow_small=True)
    with pytest.raises(ValueError, match="split must be one of"):
        split_sizes(1623, "random", allow_small=False)


def test_character_order(root: Path):
    chars = list_characters(root)
    assert [c.name for c in chars] == [
        "images_background/Alpha/character01",
        "images_background/Alpha/character02",
        "images_background/Beta/character01",
        "images_background/Beta/character02",
        "images_evaluation/Gamma/character01",
        "images_evaluation/Gamma/character02",
    ]
    assert all(len(c.files) == NUM_DRAWERS for c in chars)


def test_load_maml_split(root: Path):
    data = load_omniglot(root, "maml", allow_small=True)
    assert set(data) == {"train", "test"}
    train, test = data["train"], data["test"]
    assert train.images.shape == (4 * 4 * NUM_DRAWERS, 28, 28, 1)
    assert test.images.shape == (2 * 4 * NUM_DRAWERS, 28, 28, 1)
    assert train.images.dtype == np.float32
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert train.num_classes == 16 and test.num_classes == 8
    np.testing.assert_array_equal(np.bincount(train.labels), [NUM_DRAWERS] * 16)
    # test = the last characters in (subset, alphabet, character) order
    assert {n.rsplit("/", 1)[0] for n in test.class_names} == {
        "images_evaluation/Gamma/character01",
        "images_evaluation/Gamma/character02",
    }
    # disjoint by character: all rotations of a character stay in one split
    train_chars = {n.rsplit("/", 1)[0] for n in train.class_names}
    test_chars = {n.rsplit("/", 1)[0] for n in test.class_names}
    assert not train_chars & test_chars


def test_ink_is_one_and_rotations(root: Path):
    split = load_omniglot(root, "maml", allow_small=True)["train"]
    names = split.class_names
    assert names[:4] == tuple(
        f"images_background/Alpha/character01/rot{d:03d}" for d in (0, 90, 180, 270)
    )
    img0 = split.images[split.labels == 0][0, ..., 0]
    # mostly background (0), with strokes near 1
    assert img0.mean() < 0.35 and img0.max() > 0.95 and np.median(img0) < 0.05
    # bottom-left region holds the foot of the 'L' (ink), top-right is empty
    assert img0[22:26, 4:14].mean() > 0.5 and img0[2:8, 20:27].mean() < 0.05
    for k in (1, 2, 3):
        rotated = split.images[split.labels == k][0, ..., 0]
        np.testing.assert_array_equal(rotated, np.rot90(img0, k))


def test_vinyals_split_and_options(root: Path):
    data = load_omniglot(root, "vinyals", allow_small=True, rotations=False, image_size=14)
    assert [data[k].num_classes for k in ("train", "val", "test")] == [3, 1, 2]
    assert data["val"].class_names == ("images_background/Beta/character02/rot000",)
    assert data["train"].images.shape == (3 * NUM_DRAWERS, 14, 14, 1)
    all_names = [n for s in data.values() for n in s.class_names]
    assert len(all_names) == len(set(all_names)) == 6


def test_small_root_requires_allow_small(root: Path):
    with pytest.raises(ValueError, match=r"found 6 characters .* allow_small=True"):
        load_omniglot(root)


def test_layout_errors(tmp_path: Path):
    with pytest.raises(OmniglotLayoutError, match=r"does not exist.*images_background"):
        load_omniglot(tmp_path / "nope", allow_small=True)

    only_bg = make_fixture(tmp_path / "only_bg", {"images_background": {"A": 1}})
    with pytest.raises(OmniglotLayoutError, match=r"missing folder .*images_evaluation"):
        load_omniglot(only_bg, allow_small=True)

    empty_char = make_fixture(tmp_path / "empty_char")
    bad_dir = empty_char / "images_evaluation" / "Gamma" / "character03"
    bad_dir.mkdir()
    with pytest.raises(OmniglotLayoutError, match=r"character03 contains no PNG files"):
        load_omniglot(empty_char, allow_small=True)

    bad_name = make_fixture(tmp_path / "bad_name")
    char_dir = bad_name / "images_background" / "Beta" / "character01"
    (char_dir / "1002_01.png").rename(char_dir / "drawing-1.png")
    with pytest.raises(OmniglotLayoutError, match=r"drawing-1\.png.*<id>_<drawer>\.png"):
        load_omniglot(bad_name, allow_small=True)

    # hidden files are ignored
    ok = make_fixture(tmp_path / "hidden")
    (ok / "images_background" / "Alpha" / "character01" / ".DS_Store").write_text("x")
    assert len(list_characters(ok)) == 6

    # layout errors are ValueErrors
    assert issubclass(OmniglotLayoutError, ValueError)
