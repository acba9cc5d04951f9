"""The benchmark's image mix is deterministic and spans the sizes and formats it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.core.errors import SetupError
from streams.devtools.benchmarking.corpus import (
    build_corpus,
    describe_mix,
    event_images,
    photographs_in,
)
from streams.devtools.samples import decoded, encode, photo


def test_same_seed_gives_the_same_images_and_mix() -> None:
    first, second = build_corpus(5, 6, tiny=True), build_corpus(5, 6, tiny=True)

    assert first == second
    assert event_images(first, 50, 5) == event_images(second, 50, 5)


def test_tiny_corpus_holds_every_format_as_decodable_images_of_their_stated_size() -> None:
    corpus = build_corpus(3, 6, tiny=True)

    assert {image.format for image in corpus} == {"JPEG", "PNG", "WEBP"}
    for image in corpus:
        picture = decoded(image.data)
        assert (picture.format, picture.size) == (image.format, (image.width, image.height))
        assert max(image.width, image.height) <= 160


def test_every_image_is_submitted_before_any_repeats() -> None:
    corpus = build_corpus(3, 6, tiny=True)

    picks = event_images(corpus, 40, 3)

    assert len(picks) == 40
    assert picks[:6] == list(range(6))
    assert set(picks) <= set(range(6))


def test_mix_description_counts_the_events_per_format() -> None:
    corpus = build_corpus(3, 6, tiny=True)
    picks = event_images(corpus, 40, 3)

    mix = describe_mix(corpus, picks)

    assert sum(mix["events_by_format"].values()) == 40
    assert mix["distinct_images"] == 6
    assert mix["megapixels"]["min"] <= mix["megapixels"]["median"] <= mix["megapixels"]["max"]


def _photographs(directory: Path, sizes: list[tuple[int, int]]) -> list[Path]:
    paths = []
    for index, (width, height) in enumerate(sizes):
        path = directory / f"photo-{index}.png"
        path.write_bytes(encode(photo(width, height, index), "PNG"))
        paths.append(path)
    return paths


def test_photographs_are_scaled_down_to_their_slot_and_encoded_in_its_format(
    tmp_path: Path,
) -> None:
    photographs = _photographs(tmp_path, [(400, 300), (300, 400), (640, 480)])

    corpus = build_corpus(3, 3, photographs=photographs)

    assert [image.format for image in corpus] == ["JPEG", "PNG", "WEBP"]
    names = {path.name for path in photographs}
    for image in corpus:
        picture = decoded(image.data)
        assert (picture.format, picture.size) == (image.format, (image.width, image.height))
        assert image.source in names
        assert image.width * image.height <= 640 * 480
    # Three slots, three photographs: none used twice while one is left.
    assert len({image.source for image in corpus}) == 3
    assert describe_mix(corpus, [0, 1, 2])["sources"] == sorted(names)


def test_a_photograph_is_never_scaled_up_past_its_own_size(tmp_path: Path) -> None:
    photographs = _photographs(tmp_path, [(200, 150)])

    corpus = build_corpus(3, 4, photographs=photographs)

    # The slots of 0.3 MP and more all get the one 0.03 MP photograph at its own size.
    assert {(image.width, image.height) for image in corpus} == {(200, 150)}


def test_photographs_are_found_by_suffix_and_a_directory_without_any_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "nested").mkdir()
    _photographs(tmp_path / "nested", [(40, 30)])
    (tmp_path / "notes.txt").write_text("not a picture")

    assert [path.name for path in photographs_in(tmp_path)] == ["photo-0.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SetupError, match="no JPEG, PNG or WebP photographs"):
        photographs_in(tmp_path / "empty")
