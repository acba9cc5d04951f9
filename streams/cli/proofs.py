"""`credlink proofs tail|get|export`: read proof events from `proofs.created`.

Every command reads as a throwaway consumer that commits no offsets, so it never disturbs the
workers or any downstream consumer group.
"""

from __future__ import annotations

import enum
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connectors.output_topics import find_proof, proof_events, verify_stored_proof
from connectors.reader import Record, Start, parse_instant
from streams.cli.output import console, fails_cleanly
from streams.core.assembly import build_store
from streams.core.clock import from_epoch_millis
from streams.core.codecs.records import ProofCreated
from streams.core.errors import DecodeFailed
from streams.core.signing import load_key_set
from streams.core.stores.base import ProofNotFound
from streams.kafka.clients import require_cluster
from streams.kafka.topics import PROOFS_CREATED
from streams.settings import get_settings

__all__ = ["app"]

app = typer.Typer(
    help="Read proof events from proofs.created (never commits a consumer offset).",
    no_args_is_help=True,
)

_stderr = Console(stderr=True, highlight=False)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


Tenant = Annotated[str | None, typer.Option("--tenant", help="Only proofs of this tenant.")]
FromTime = Annotated[
    str | None,
    typer.Option(
        "--from-time",
        help="Start at the first proof event published at or after this ISO 8601 time "
        "(UTC unless it has an offset).",
    ),
]


@app.command()
@fails_cleanly
def tail(
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C or SIGTERM."),
    ] = False,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest event.")
    ] = False,
    from_time: FromTime = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="A table, or one JSON object per line.")
    ] = OutputFormat.TABLE,
    tenant: Tenant = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Stop after this many events.")
    ] = None,
) -> None:
    """Print proof events: by default only those published from now on (with --follow, as they
    come), or from the beginning or a point in time. Without --follow it stops at the end the
    topic had when it started."""
    if from_beginning and from_time is not None:
        raise typer.BadParameter("give --from-beginning or --from-time, not both")
    start_ms = _instant(from_time, "--from-time")
    start: Start = "beginning" if from_beginning else "end" if start_ms is None else start_ms
    write = _jsonl_writer() if output_format is OutputFormat.JSONL else _table_writer()
    settings = get_settings()
    require_cluster(settings)
    shown = 0
    with _stopped_by_signals() as stopping, _quiet_when_reader_leaves():
        events = proof_events(
            settings,
            start=start,
            follow=follow,
            stop=stopping.is_set,
            tenant=tenant,
            on_undecodable=_report_undecodable,
        )
        with closing(events):
            for proof in events:
                write(proof)
                shown += 1
                if limit is not None and shown >= limit:
                    break
    if not shown and not follow and start == "end":
        _stderr.print(
            "no new proof events; add --follow to wait for them, "
            "or --from-beginning / --from-time to read older ones"
        )


@app.command()
@fails_cleanly
def get(
    proof_id: Annotated[str, typer.Argument(help="The proof id (32 hex digits).")],
    with_document: Annotated[
        bool,
        typer.Option(
            "--with-document",
            help="Also fetch the signed proof from the store and verify its signature.",
        ),
    ] = False,
) -> None:
    """Print the proof event with PROOF_ID as JSON, found by scanning proofs.created from its
    beginning (slow on a large topic: the downstream index service answers in O(1)). Exit 1 if
    there is none, or if the stored proof is missing or does not verify."""
    settings = get_settings()
    require_cluster(settings)
    proof = find_proof(settings, proof_id, on_undecodable=_report_undecodable)
    if proof is None:
        topic = settings.kafka.topic(PROOFS_CREATED)
        _stderr.print(f"no proof event with id {proof_id} in {topic}", markup=False, soft_wrap=True)
        raise typer.Exit(code=1)
    answer: dict[str, Any] = {"event": proof.to_avro()}
    trusted = True
    if with_document:
        keyset = load_key_set(settings.signing.keyset_file)
        try:
            envelope, verdict = verify_stored_proof(build_store(settings), keyset, proof)
        except ProofNotFound as error:
            answer["signed_proof"] = None
            answer["verification"] = {"outcome": "not_stored", "reason": str(error)}
            trusted = False
        else:
            document = verdict.document
            matches = document is not None and (document.proof_id, document.image.sha256) == (
                proof.proof_id,
                proof.sha256,
            )
            answer["signed_proof"] = _json_or_text(envelope)
            answer["verification"] = {
                "outcome": verdict.outcome.value,
                "reason": verdict.reason,
                "key_id": verdict.key_id,
                "matches_event": matches,
            }
            trusted = verdict.is_valid and matches
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    if not trusted:
        raise typer.Exit(code=1)


@app.command()
@fails_cleanly
def export(
    output: Annotated[
        str, typer.Option("--output", "-o", help="File to write (replaced at the end), or -.")
    ],
    from_time: FromTime = None,
    to_time: Annotated[
        str | None,
        typer.Option(
            "--to-time", help="Stop after the proof events published up to this ISO 8601 time."
        ),
    ] = None,
    tenant: Tenant = None,
) -> None:
    """Write every proof event in range as JSON lines, up to the end the topic had when the
    export started (so it terminates however busy the topic is)."""
    start_ms = _instant(from_time, "--from-time")
    until_ms = _instant(to_time, "--to-time")
    if start_ms is not None and until_ms is not None and until_ms < start_ms:
        raise typer.BadParameter("--to-time is before --from-time")
    settings = get_settings()
    require_cluster(settings)
    events = proof_events(
        settings,
        start="beginning" if start_ms is None else start_ms,
        until_time=until_ms,
        tenant=tenant,
        on_undecodable=_report_undecodable,
    )
    with _quiet_when_reader_leaves(), closing(events), _output(output) as sink:
        count = 0
        for proof in events:
            sink.write(_json_line(proof) + "\n")
            count += 1
    _stderr.print(f"exported {count} proof events to {'stdout' if output == '-' else output}")


def _json_line(proof: ProofCreated) -> str:
    return json.dumps(proof.to_avro(), ensure_ascii=False, separators=(",", ":"))


def _jsonl_writer() -> Callable[[ProofCreated], None]:
    def write(proof: ProofCreated) -> None:
        typer.echo(_json_line(proof))

    return write


def _table_writer() -> Callable[[ProofCreated], None]:
    """Rows printed as they come, in columns of fixed width, the header once: a table that
    can grow for as long as a follow runs."""
    columns = (
        ("issued at (UTC)", 19),
        ("tenant", 14),
        ("proof id", 32),
        ("event id", 36),
        ("format", 6),
        ("size", 11),
    )
    # As wide as the columns need: a narrow terminal wraps a row rather than cut a proof id.
    line_width = sum(width for _, width in columns) + 2 * (len(columns) - 1)
    out = Console(highlight=False, width=max(console.width, line_width))
    header = [True]

    def write(proof: ProofCreated) -> None:
        table = Table(box=None, show_header=header[0], header_style="bold", pad_edge=False)
        for name, width in columns:
            table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
        issued = from_epoch_millis(proof.issued_at)
        cells = (
            f"{issued:%Y-%m-%d %H:%M:%S}",
            proof.tenant,
            proof.proof_id,
            proof.event_id,
            proof.format,
            f"{proof.width}x{proof.height}",
        )
        table.add_row(*(Text(cell) for cell in cells))  # text, never markup
        out.print(table)
        header[0] = False

    return write


def _report_undecodable(record: Record, error: DecodeFailed) -> None:
    _stderr.print(
        f"skipped a record that is no proof event (partition {record.partition}, "
        f"offset {record.offset}): {error}",
        markup=False,
        soft_wrap=True,
    )


def _instant(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


def _json_or_text(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


@contextmanager
def _stopped_by_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM, so that a tail ends between two polls, cleanly."""
    stopping = threading.Event()

    def stop(_signal: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def _quiet_when_reader_leaves() -> Iterator[None]:
    """End without a traceback when whoever reads standard output stops (`| head`)."""
    try:
        yield
    except BrokenPipeError:
        # Point stdout at /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@contextmanager
def _output(target: str) -> Iterator[TextIO]:
    """Standard output, or a file written beside `target` and moved over it only once
    complete, so that an interrupted export leaves no truncated file behind."""
    if target == "-":
        yield sys.stdout
        return
    path = Path(target)
    partial = path.with_name(f".{path.name}.partial")
    try:
        file = partial.open("w", encoding="utf-8")
    except OSError as error:
        message = f"cannot write {partial}: {error.strerror}"
        raise typer.BadParameter(message, param_hint="--output") from None
    try:
        with file:
            yield file
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
