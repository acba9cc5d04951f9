"""Sentry error reports of a worker, scrubbed of secrets, image bytes and Kafka record payloads.

Reported, as Sentry events, once `init_error_reporting` was given a DSN:

- dead-lettered inputs (`SentryObserver.dead_lettered`): the exception with the traceback,
  tagged `event_id` and `tenant` (when the record decoded), `stage`, `agent`, `error_class`, with
  the source topic, partition, offset and attempts as the `kafka` context. At most
  `DEAD_LETTER_REPORTS_PER_MINUTE` per error class and agent: a flood of bad input must not
  flood Sentry (or drop the SDK's queue of real errors). The dead-letter topic and the
  `credlink_dead_letters_total` metric keep every one; the next report of a class says how
  many of it were not reported (`kafka.unreported_since_last_report`);
- every agent crash, i.e. an exception escaping a Faust agent: Faust (mode's `Service.crash`)
  logs it as "Crashed reason=..." with `logger.exception` on `faust.agents.actor`, which the
  logging integration turns into an event with the traceback;
- every other log record at ERROR or above (the `count` agent skipping a record that is no
  proof, Faust's and aiokafka's own errors) and exceptions uncaught in threads.

Events captured inside an agent's task (dead letters, crashes, its error logs) are tagged with
the agent's name. Log records at INFO and above and transient retries are kept as breadcrumbs,
not sent on their own.

Never sent: local variables of stack frames, request bodies and cookies, Kafka record keys and
values, any `bytes` (shown as `[redacted bytes]`), bytes literals, long base64 or hex runs and
binary-looking strings (so no image data leaves), and every configured secret: each value and
each of its lines, wherever it occurs, is replaced by `[redacted]`. Secrets shorter than
`MIN_SECRET_CHARS` are not matched (they would match everywhere). No performance traces are
sent and no trace headers are added to the worker's outgoing requests. An event the scrubber
fails on is dropped, not sent unscrubbed.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any, cast
from urllib.parse import quote, quote_plus

import sentry_sdk
from faust.agents import current_agent
from pydantic import SecretStr
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import Transport
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

from streams import __version__
from streams.core.codecs.records import ProcessingFailed
from streams.core.dead_letters import InputEvent
from streams.core.observing import PipelineObserver
from streams.settings import Settings

__all__ = [
    "DEAD_LETTER_REPORTS_PER_MINUTE",
    "MIN_SECRET_CHARS",
    "REDACTED",
    "RELEASE",
    "SentryObserver",
    "init_error_reporting",
    "scrub_event",
    "settings_secrets",
]

log = logging.getLogger(__name__)

#: The Sentry release of this code: releases are organisation-wide, hence the package name.
RELEASE = f"credlink-streams@{__version__}"
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6
DEAD_LETTER_REPORTS_PER_MINUTE = 10

_REDACTED_BYTES = "[redacted bytes]"
_REDACTED_BINARY = "[redacted binary]"
# Field names under which the pipeline holds record payloads and image bytes.
_PAYLOAD_KEYS = frozenset({"original_key", "original_value", "inline_bytes"})
# A bytes literal as `repr` writes it, possibly cut short by the SDK's value truncation.
_BYTES_LITERAL = re.compile(
    r"""(?<![\w'"])b(?:'(?:[^'\\]|\\.)*(?:'|$)|"(?:[^"\\]|\\.)*(?:"|$))""", re.DOTALL
)
# Longer than a SHA-256 in hex or an Ed25519 signature in base64: base64 or hex of some blob.
_LONG_RUN = re.compile(r"[A-Za-z0-9+/_-]{100,}=*")
_HEX_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}")
_BINARY_MIN_CHARS = 64
_TAG_MAX_CHARS = 200


def init_error_reporting(
    dsn: str | None,
    *,
    environment: str,
    release: str,
    secrets: Iterable[str],
    transport: Transport | None = None,
) -> bool:
    """Start reporting to Sentry at `dsn`; without a DSN do nothing and return False.

    `secrets` are scrubbed from every event and breadcrumb; `transport` replaces the HTTP
    transport to the DSN (tests capture events in-process with it).
    """
    if not dsn:
        return False
    known = tuple(secrets)

    def before_send(event: Event, hint: Hint) -> Event | None:
        scrubbed = scrub_event(event, known)
        agent = _current_agent_name()
        if agent is not None:
            tags = scrubbed.setdefault("tags", {})
            if isinstance(tags, dict):
                tags.setdefault("agent", agent)
        return scrubbed

    def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb | None:
        return cast(Breadcrumb, scrub_event(cast(Event, crumb), known))

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        trace_propagation_targets=[],
        integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        transport=transport,
    )
    return True


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret value in `settings` (S3 keys, signing key PEM, the Sentry DSN, ...)."""
    return [
        value.get_secret_value()
        for _, group in settings
        for _, value in group
        if isinstance(value, SecretStr)
    ]


def scrub_event(event: Event, secrets: Iterable[str]) -> Event:
    """`event` (or a breadcrumb) without secrets, binary data, request bodies, frame variables
    and record payloads; see the module docstring. Returns a new event."""
    pattern = _secrets_pattern(frozenset(secrets))
    scrubbed = _scrub(event, pattern)
    request = scrubbed.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies"):
            request.pop(key, None)
    return cast(Event, scrubbed)


class SentryObserver(PipelineObserver):
    """Reports the dead letters of one agent as Sentry events (a bounded number per error class
    and minute) and its retries as breadcrumbs."""

    def __init__(
        self,
        agent: str = "prove",
        *,
        reports_per_minute: int = DEAD_LETTER_REPORTS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._agent = agent
        self._budget = reports_per_minute
        self._clock = clock
        # error class -> (start of its current minute, reports in it, unreported since last)
        self._windows: dict[str, tuple[float, int, int]] = {}

    def _unreported_before(self, error_class: str) -> int | None:
        """How many of `error_class` went unreported before this one, or None if this one
        is over the budget of its minute (and goes unreported itself)."""
        now = self._clock()
        start, reports, unreported = self._windows.get(error_class, (now, 0, 0))
        if now - start >= 60.0:
            start, reports = now, 0
        if reports >= self._budget:
            self._windows[error_class] = (start, reports, unreported + 1)
            return None
        self._windows[error_class] = (start, reports + 1, 0)
        return unreported

    def dead_lettered(
        self, failure: ProcessingFailed, error: BaseException, event: InputEvent | None
    ) -> None:
        unreported = self._unreported_before(failure.error_class)
        if unreported is None:
            return
        tags = {
            "agent": self._agent,
            "stage": failure.stage,
            "error_class": failure.error_class,
            "event_id": event.event_id if event is not None else failure.event_id,
            "tenant": event.tenant if event is not None else failure.tenant,
        }
        kafka = {
            "topic": failure.source_topic,
            "partition": failure.source_partition,
            "offset": failure.source_offset,
            "attempts": failure.attempts,
        }
        if unreported:
            kafka["unreported_since_last_report"] = unreported
        try:
            sentry_sdk.capture_exception(
                error,
                tags={key: _tag(value) for key, value in tags.items() if value is not None},
                contexts={"kafka": kafka},
            )
        except Exception as report_error:  # an observer must never break the pipeline
            log.warning(
                "could not report the dead letter of %s[%d]@%d: %r",
                failure.source_topic,
                failure.source_partition,
                failure.source_offset,
                report_error,
            )

    def retrying(self, error: BaseException, attempt: int, delay: float) -> None:
        try:
            sentry_sdk.add_breadcrumb(
                category="retry",
                level="warning",
                message=f"{self._agent}: attempt {attempt} failed, retrying in {delay:.1f} s: "
                f"{type(error).__name__}: {error}",
                data={
                    "agent": self._agent,
                    "attempt": attempt,
                    "delay_seconds": delay,
                    "error_class": type(error).__name__,
                },
            )
        except Exception as report_error:  # an observer must never break the pipeline
            log.warning("could not record a retry breadcrumb: %r", report_error)


def _current_agent_name() -> str | None:
    agent = current_agent()
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) else None


def _tag(value: str) -> str:
    """`value` as Sentry accepts a tag value: printable, one line, at most 200 characters."""
    return "".join(c if c.isprintable() else "?" for c in value)[:_TAG_MAX_CHARS]


@lru_cache(maxsize=8)
def _secrets_pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    fragments = set()
    for secret in secrets:
        for fragment in (secret.strip(), *(line.strip() for line in secret.splitlines())):
            fragments.update(_spellings(fragment))
    usable = sorted((f for f in fragments if len(f) >= MIN_SECRET_CHARS), key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join(re.escape(fragment) for fragment in usable))


def _spellings(fragment: str) -> set[str]:
    """`fragment` as text may carry it: as is, escaped by `repr` or JSON, percent-encoded."""
    percent = {quote(fragment, safe=""), quote(fragment), quote_plus(fragment)}
    lower_hex = {re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), text) for text in percent}
    return {
        fragment,
        repr(fragment)[1:-1],
        repr(fragment + "\"'")[1:-4],  # inside a string that holds both quote characters
        json.dumps(fragment)[1:-1],
        json.dumps(fragment, ensure_ascii=False)[1:-1],
        *percent,
        *lower_hex,
    }


def _scrub(value: Any, secrets: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, bytes | bytearray | memoryview):
        return _REDACTED_BYTES
    if value is None or isinstance(value, bool | int | float | date):
        return value
    if isinstance(value, Mapping):
        return {
            _scrub_text(str(key), secrets): (
                REDACTED if key in _PAYLOAD_KEYS else _scrub(item, secrets)
            )
            for key, item in value.items()
            if key != "vars"  # local variables of a stack frame
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(item, secrets) for item in value]
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return _scrub_text(text, secrets)


def _scrub_text(text: str, secrets: re.Pattern[str] | None) -> str:
    if secrets is not None:
        text = secrets.sub(REDACTED, text)
    text = _BYTES_LITERAL.sub(_REDACTED_BYTES, text)
    text = _LONG_RUN.sub(_redact_run, text)
    return _REDACTED_BINARY if _looks_binary(text) else text


def _redact_run(match: re.Match[str]) -> str:
    run = match.group()
    kinds = sum(any(test(c) for c in run) for test in (str.isdigit, str.islower, str.isupper))
    # One kind of character only (a run of one letter, a long number) is no encoded blob.
    return _REDACTED_BINARY if kinds >= 2 else run


def _looks_binary(text: str) -> bool:
    if len(text) < _BINARY_MIN_CHARS:
        return False
    unprintable = sum(1 for c in text if c == "\ufffd" or not (c.isprintable() or c in "\n\r\t"))
    escaped = 4 * len(_HEX_ESCAPE.findall(text))
    return unprintable * 10 >= len(text) or escaped * 4 >= len(text)
