"""A small directory tree of image-named files, for the ingest tests."""

from __future__ import annotations

from pathlib import Path


def image_tree(root: Path) -> dict[str, Path]:
    files = {
        "top.jpg": root / "top.jpg",
        "nested.jpg": root / "2024" / "05" / "nested.jpg",
        "other.png": root / "2024" / "other.png",
        "notes.txt": root / "2024" / "05" / "notes.txt",
    }
    for name, path in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"bytes of {name}".encode())
    return files
