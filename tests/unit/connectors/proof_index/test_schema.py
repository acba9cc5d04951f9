"""Specification of `connectors.proof_index.schema`: the stored codes of the windows and the
band keys of their hashes."""

from __future__ import annotations

from connectors.proof_index.schema import WINDOW_BAND_KEYS, WINDOW_BANDS, WINDOW_CODES
from streams.core.window_hashes import Window


def test_every_window_has_the_code_it_is_stored_under_for_good() -> None:
    assert {window.value: code for window, code in WINDOW_CODES.items()} == {
        "global": 0,
        "untrimmed": 1,
        "16:9": 2,
        "1:1": 3,
        "4:5": 4,
        "9:16": 5,
        "3:2": 6,
        "4:3": 7,
        "2:3": 8,
        "c90": 9,
        "c80": 10,
        "tl90": 11,
        "tr90": 12,
        "bl90": 13,
        "br90": 14,
        "tl80": 15,
        "tr80": 16,
        "bl80": 17,
        "br80": 18,
    }
    assert set(WINDOW_CODES) == set(Window)


def test_each_hash_is_keyed_by_the_bits_of_each_of_its_bands_high_bits_first() -> None:
    assert WINDOW_BANDS == 3
    assert WINDOW_BAND_KEYS["phash"] == (
        "(((phash >> 43) & 2097151)::integer)",
        "(((phash >> 22) & 2097151)::integer)",
        "(((phash >> 0) & 4194303)::integer)",
    )
    assert WINDOW_BAND_KEYS["dhash"][0] == "(((dhash >> 43) & 2097151)::integer)"
