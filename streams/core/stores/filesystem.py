"""A proof store on a local directory, for the development stack and tests.

Layout under `root`: `objects/<key>` holds the proof bytes and `metadata/<key>` its metadata as
JSON. Both are written atomically (temporary file, fsync, rename), metadata first, so an object
that exists always has its metadata. Content types are not kept: the key's extension says it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from streams.core.errors import TransientError
from streams.core.files import replace_file
from streams.core.stores.base import (
    InvalidProofKey,
    ProofNotFound,
    ProofStore,
    StoredObject,
    StoredProof,
    StoreMisconfigured,
)

__all__ = ["FilesystemProofStore"]


class FilesystemProofStore(ProofStore):
    """Proofs as files below `root`, never outside it (symlinks included)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._objects = self._root / "objects"
        self._metadata = self._root / "metadata"

    def __repr__(self) -> str:
        return f"FilesystemProofStore(root={str(self._root)!r})"

    def _put(
        self, key: str, data: bytes, metadata: Mapping[str, str], content_type: str
    ) -> StoredProof:
        stored = StoredProof(store=str(self._root), key=key)
        object_path = self._confined(self._objects, key)
        if self._read_if_present(object_path, key) == data:
            return stored
        metadata_json = json.dumps(dict(metadata), sort_keys=True, ensure_ascii=False)
        self._write_atomically(self._confined(self._metadata, key), metadata_json.encode(), key)
        self._write_atomically(object_path, data, key)
        return stored

    def _get(self, key: str) -> bytes:
        data = self._read_if_present(self._confined(self._objects, key), key)
        if data is None:
            raise ProofNotFound(key)
        return data

    def _exists(self, key: str) -> bool:
        return self._confined(self._objects, key).is_file()

    def _stat(self, key: str) -> StoredObject | None:
        object_path = self._confined(self._objects, key)
        metadata_json = self._read_if_present(self._confined(self._metadata, key), key)
        if metadata_json is None or not object_path.is_file():
            return None
        return StoredObject(
            location=StoredProof(store=str(self._root), key=key),
            size=object_path.stat().st_size,
            metadata=json.loads(metadata_json),
        )

    def _confined(self, tree: Path, key: str) -> Path:
        # Keys are already free of '..' and absolute paths; resolving catches symlinks that
        # someone placed inside the tree pointing elsewhere.
        path = (tree / key).resolve()
        if not path.is_relative_to(tree):
            raise InvalidProofKey(f"proof key {key!r} resolves outside the store root")
        return path

    @staticmethod
    def _read_if_present(path: Path, key: str) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except PermissionError as exc:
            raise StoreMisconfigured(f"reading proof {key!r} is not permitted") from exc
        except OSError as exc:
            raise TransientError(f"reading proof {key!r} failed: {exc.strerror}") from exc

    @staticmethod
    def _write_atomically(path: Path, data: bytes, key: str) -> None:
        try:
            replace_file(path, data, sync_directory=True)
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
            raise InvalidProofKey(f"proof key {key!r} collides with an existing key") from exc
        except PermissionError as exc:
            raise StoreMisconfigured(f"writing proof {key!r} is not permitted") from exc
        except OSError as exc:
            raise TransientError(f"writing proof {key!r} failed: {exc.strerror}") from exc
