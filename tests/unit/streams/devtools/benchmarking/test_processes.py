"""Specification of `streams.devtools.benchmarking.processes`: a process's memory, from /proc."""

from __future__ import annotations

import os

import pytest

from streams.devtools.benchmarking.processes import peak_rss_bytes, rss_bytes

MIB = 1024 * 1024


def test_resident_memory_grows_by_what_is_touched_and_the_peak_keeps_it() -> None:
    before = rss_bytes(os.getpid())

    touched = bytearray(b"\x01" * (64 * MIB))

    assert rss_bytes(os.getpid()) - before >= 60 * MIB
    assert peak_rss_bytes(os.getpid()) >= rss_bytes(os.getpid())
    del touched


def test_a_process_that_does_not_exist_has_no_status() -> None:
    with pytest.raises(FileNotFoundError):
        rss_bytes(2**22 + 1)  # above the kernel's largest pid
