"""Specification of `streams.core.files`: a file is replaced whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from streams.core.files import replace_file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_text_is_written_as_utf8_with_the_given_permissions(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"

    replace_file(path, '{"tenant": "Zürich"}\n', 0o644)

    assert path.read_bytes() == '{"tenant": "Zürich"}\n'.encode()
    assert mode_of(path) == 0o644


def test_bytes_are_written_as_they_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "proof.json"

    replace_file(path, b"\x00\xff proof")

    assert path.read_bytes() == b"\x00\xff proof"
    assert mode_of(path) == 0o600


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "2024" / "06" / "10" / "proof.json"

    replace_file(path, b"proof")

    assert path.read_bytes() == b"proof"


def test_the_old_content_is_replaced_and_no_temporary_file_remains(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("old")

    replace_file(path, "new", 0o600)

    assert path.read_text() == "new"
    assert list(tmp_path.iterdir()) == [path]


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    path.write_text("old")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        replace_file(path, "new", 0o600)

    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(("sync_directory", "synced_directories"), [(False, 0), (True, 1)])
def test_the_directory_is_synced_only_when_asked(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sync_directory: bool,
    synced_directories: int,
) -> None:
    synced: list[bool] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    replace_file(tmp_path / "proof.json", b"proof", sync_directory=sync_directory)

    assert synced.count(False) == 1
    assert synced.count(True) == synced_directories
