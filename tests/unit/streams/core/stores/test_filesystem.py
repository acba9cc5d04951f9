"""The filesystem proof store: atomic, idempotent, and confined to its root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streams.core.errors import InputRejected
from streams.core.stores.base import (
    PROOF_METADATA_KEYS,
    InvalidProofKey,
    ProofNotFound,
    StoredProof,
)
from streams.core.stores.filesystem import FilesystemProofStore

METADATA = dict.fromkeys(PROOF_METADATA_KEYS, "value")

UNSAFE_KEYS = [
    "",
    "../escape.json",
    "proofs/../../escape.json",
    "proofs/..",
    "./proof.json",
    "/etc/passwd",
    "proofs//proof.json",
    "proofs/",
    "proofs\\..\\escape.json",
    "proof\x00.json",
    "proof\n.json",
    "proof\x7f.json",
    "\u202eevil.json",
    "a" * 600,
    "proofs/" + "b" * 300,
]


@pytest.fixture
def store(tmp_path: Path) -> FilesystemProofStore:
    return FilesystemProofStore(tmp_path / "store")


def test_put_then_get_returns_the_stored_bytes(store: FilesystemProofStore) -> None:
    store.put("proofs/2025/p-1.json", b'{"proof":1}', METADATA)

    assert store.get("proofs/2025/p-1.json") == b'{"proof":1}'


def test_put_names_the_store_root_and_key_without_a_version(tmp_path: Path) -> None:
    store = FilesystemProofStore(tmp_path)

    stored = store.put("p-1.json", b"{}", METADATA)

    assert stored == StoredProof(store=str(tmp_path.resolve()), key="p-1.json", version_id=None)


def test_metadata_is_kept_as_json_in_a_sidecar_tree(tmp_path: Path) -> None:
    store = FilesystemProofStore(tmp_path)

    store.put("proofs/p-1.json", b"{}", METADATA)

    sidecar = tmp_path / "metadata" / "proofs" / "p-1.json"
    assert json.loads(sidecar.read_text()) == METADATA


def test_identical_rewrite_leaves_the_stored_file_untouched(tmp_path: Path) -> None:
    store = FilesystemProofStore(tmp_path)
    first = store.put("p-1.json", b"{}", METADATA)
    before = os.stat(tmp_path / "objects" / "p-1.json")

    second = store.put("p-1.json", b"{}", METADATA)

    after = os.stat(tmp_path / "objects" / "p-1.json")
    assert second == first
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_rewrite_with_different_bytes_replaces_the_proof(store: FilesystemProofStore) -> None:
    store.put("p-1.json", b"old", METADATA)

    store.put("p-1.json", b"new", METADATA)

    assert store.get("p-1.json") == b"new"


def test_writes_leave_no_temporary_files_behind(tmp_path: Path) -> None:
    store = FilesystemProofStore(tmp_path)

    store.put("proofs/p-1.json", b"one", METADATA)
    store.put("proofs/p-1.json", b"two", METADATA)

    names = sorted(path.name for path in tmp_path.rglob("*") if path.is_file())
    assert names == ["p-1.json", "p-1.json"]


def test_get_of_a_missing_key_raises_proof_not_found(store: FilesystemProofStore) -> None:
    with pytest.raises(ProofNotFound, match="p-404"):
        store.get("proofs/p-404.json")


def test_exists_is_true_only_for_stored_keys(store: FilesystemProofStore) -> None:
    store.put("proofs/p-1.json", b"{}", METADATA)

    assert store.exists("proofs/p-1.json")
    assert not store.exists("proofs/p-2.json")
    assert not store.exists("proofs")


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys_are_refused_before_touching_disk(tmp_path: Path, key: str) -> None:
    store = FilesystemProofStore(tmp_path / "store")

    with pytest.raises(InvalidProofKey):
        store.put(key, b"{}", METADATA)
    with pytest.raises(InvalidProofKey):
        store.get(key)
    with pytest.raises(InvalidProofKey):
        store.exists(key)
    assert list(tmp_path.iterdir()) == []


def test_invalid_keys_are_rejected_inputs_for_the_dead_letter_topic() -> None:
    assert issubclass(InvalidProofKey, InputRejected)


def test_symlink_inside_the_root_cannot_lead_outside_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_bytes(b"secret")
    store = FilesystemProofStore(tmp_path / "store")
    store.put("proofs/p-1.json", b"{}", METADATA)
    (tmp_path / "store" / "objects" / "link").symlink_to(outside)

    with pytest.raises(InvalidProofKey, match="outside the store root"):
        store.get("link/secret.json")
    with pytest.raises(InvalidProofKey, match="outside the store root"):
        store.put("link/planted.json", b"{}", METADATA)
    assert not (outside / "planted.json").exists()


def test_key_colliding_with_a_directory_of_keys_is_refused(store: FilesystemProofStore) -> None:
    store.put("proofs/p-1.json", b"{}", METADATA)

    with pytest.raises(InvalidProofKey, match="collides"):
        store.put("proofs", b"{}", METADATA)
