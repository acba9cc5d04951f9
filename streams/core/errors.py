"""The error hierarchy that decides how a failure is routed.

`InputRejected` and its subclasses mean the event itself is bad: retrying cannot help, so the
event goes to the dead-letter topic with the reason. `TransientError` means the world is
temporarily bad (a store or broker hiccup): the work is retried with backoff, never dead-lettered.
`SetupError` is a misconfigured local environment: one line naming the problem and the fix.
"""

from __future__ import annotations

from typing import ClassVar

from streams.core.observing import Stage

__all__ = [
    "CredlinkError",
    "DecodeFailed",
    "DependencyUnavailable",
    "FetchFailed",
    "ImageRejected",
    "ImageTooLarge",
    "InputRejected",
    "InvalidEvent",
    "SetupError",
    "TransientError",
    "UnexpectedFailure",
    "UnsupportedMediaType",
    "UriNotAllowed",
]


class CredlinkError(Exception):
    """Base of every error this project raises on purpose."""


class InputRejected(CredlinkError):
    """The event cannot be processed as submitted; it belongs in the dead-letter topic."""

    stage: Stage = Stage.VALIDATE


class DecodeFailed(InputRejected):
    """The event bytes are not a valid record of the expected schema."""

    stage = Stage.DECODE


class UriNotAllowed(InputRejected):
    """The image URI is malformed, of an unsupported scheme, or outside the allow-list."""

    stage = Stage.FETCH


class FetchFailed(InputRejected):
    """The image could not be fetched, permanently or after the bounded retries ran out."""

    stage = Stage.FETCH


class ImageRejected(InputRejected):
    """The bytes are not an image this pipeline accepts (undecodable, unsupported, hostile)."""

    stage = Stage.HASH


class ImageTooLarge(ImageRejected):
    """The image exceeds the configured byte or pixel bound."""


class UnsupportedMediaType(ImageRejected):
    """The image is of a format no Content Credential is issued for (JPEG, PNG, WebP, AVIF)."""


class InvalidEvent(InputRejected):
    """The event decoded, but a field holds a value the pipeline refuses."""

    stage = Stage.VALIDATE


class UnexpectedFailure(InputRejected):
    """An error of no known kind, raised while processing this event's input.

    Dead-lettered like any rejected input (with the original bytes, so nothing is lost), rather
    than crashing the worker into a loop on the same event.
    """

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        super().__init__(f"unexpected {type(cause).__name__} in stage {stage}: {cause}")
        self.stage = stage


class TransientError(CredlinkError):
    """A temporary failure of a dependency; the operation should be retried with backoff."""


class SetupError(CredlinkError):
    """The local environment cannot run the requested thing; the message says how to fix it."""

    exit_status: ClassVar[int] = 1
    """The CLI's exit status for it (README, "Troubleshooting")."""


class DependencyUnavailable(SetupError):
    """A service the command needs (the Kafka cluster, PostgreSQL, S3) did not answer in time.

    Exit status 69 (EX_UNAVAILABLE of sysexits.h), so that scripts can tell "try again later"
    from a wrong command line or a bad input."""

    exit_status: ClassVar[int] = 69
