"""S3 response bodies for stubbed clients: one whose connection breaks while it is read."""

from __future__ import annotations

import io

from botocore.response import StreamingBody
from urllib3.exceptions import ProtocolError

__all__ = ["body_cut_off"]


class _ResetStream(io.BytesIO):
    """A raw HTTP body stream whose connection is reset, as urllib3 reports it."""

    def read(self, size: int | None = -1, /) -> bytes:
        reset = ConnectionResetError(104, "Connection reset by peer")
        raise ProtocolError(f"Connection broken: {reset!r}", reset)


def body_cut_off(content_length: int) -> StreamingBody:
    """A GetObject `Body` announcing `content_length` bytes whose connection breaks on the
    first read."""
    return StreamingBody(_ResetStream(), content_length)
