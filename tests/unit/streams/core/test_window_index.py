"""Specification of `streams.core.window_index`: proofs found by the hashes of their windows."""

from __future__ import annotations

from streams.core.window_hashes import Window, WindowComparison, WindowHash
from streams.core.window_index import WindowIndex, WindowMatch, window_comparisons

PROOF_A = "a" * 32
PROOF_B = "b" * 32
BASE = 0x0123_4567_89AB_CDEF


def flipped(value: int, bits: int) -> int:
    """`value` with its lowest `bits` bits inverted."""
    return value ^ ((1 << bits) - 1)


def window(name: Window, phash: int = BASE, dhash: int = BASE) -> WindowHash:
    return WindowHash(name, phash, dhash)


def test_a_window_within_the_radius_in_phash_alone_or_dhash_alone_is_found() -> None:
    index = WindowIndex()
    index.add(PROOF_A, "acme", [window(Window.GLOBAL, BASE, flipped(BASE, 30))])
    index.add(PROOF_B, "acme", [window(Window.GLOBAL, flipped(BASE, 30), BASE)])

    found = index.near_windows([window(Window.GLOBAL)], 8)

    assert [match.proof_id for match in found] == [PROOF_A, PROOF_B]
    assert found[0].window == window(Window.GLOBAL, BASE, flipped(BASE, 30))


def test_a_window_beyond_the_radius_in_both_hashes_is_not_found() -> None:
    index = WindowIndex()
    index.add(PROOF_A, "acme", [window(Window.GLOBAL, flipped(BASE, 9), flipped(BASE, 9))])

    assert index.near_windows([window(Window.GLOBAL)], 8) == []
    assert len(index.near_windows([window(Window.GLOBAL)], 9)) == 1


def test_a_copys_global_window_meets_every_window_its_central_ones_only_their_namesakes() -> None:
    far = window(Window.GLOBAL, ~BASE & (2**64 - 1), ~BASE & (2**64 - 1))
    index = WindowIndex()
    index.add(PROOF_A, "acme", [far, window(Window.COVER_16_9)])
    index.add(PROOF_B, "acme", [far, window(Window.CENTRE_90)])

    by_global = index.near_windows([window(Window.GLOBAL)], 4)
    by_centre = index.near_windows([window(Window.CENTRE_90)], 4)

    assert [(m.proof_id, m.window.window) for m in by_global] == [
        (PROOF_A, Window.COVER_16_9),
        (PROOF_B, Window.CENTRE_90),
    ]
    assert [(m.proof_id, m.window.window) for m in by_centre] == [(PROOF_B, Window.CENTRE_90)]


def test_a_tenant_sees_only_its_own_proofs_and_a_replay_adds_nothing() -> None:
    index = WindowIndex()
    index.add(PROOF_A, "acme", [window(Window.GLOBAL)])
    index.add(PROOF_A, "acme", [window(Window.GLOBAL)])
    index.add(PROOF_B, "globex", [window(Window.GLOBAL)])

    assert [m.proof_id for m in index.near_windows([window(Window.GLOBAL)], 0, "acme")] == [PROOF_A]
    assert len(index.near_windows([window(Window.GLOBAL)], 0)) == 2


def test_comparisons_group_the_found_windows_by_proof() -> None:
    query = [window(Window.GLOBAL)]
    matches = [
        WindowMatch(PROOF_A, window(Window.COVER_1_1, flipped(BASE, 3), flipped(BASE, 20))),
        WindowMatch(PROOF_A, window(Window.CENTRE_80, flipped(BASE, 2), flipped(BASE, 1))),
        WindowMatch(PROOF_B, window(Window.COVER_4_5, flipped(BASE, 8), flipped(BASE, 30))),
    ]

    comparisons = window_comparisons(query, matches)

    assert comparisons == {
        PROOF_A: WindowComparison(nearest=3, matching_window=Window.CENTRE_80),
        PROOF_B: WindowComparison(nearest=38, matching_window=None),
    }
