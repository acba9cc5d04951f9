"""The benchmark's image mix is deterministic and spans the sizes and formats it promises."""

from __future__ import annotations

from streams.devtools.benchmarking.corpus import build_corpus, describe_mix, event_images
from streams.devtools.samples import decoded


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
