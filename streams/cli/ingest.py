"""`credlink ingest dir|s3|jsonl`: publish image references to `images.submitted`.

Each event is keyed by its image URI, so the events of one image keep their order on one
partition. Event ids are derived from the image version (see `connectors.ingest`): ingesting an
unchanged source again republishes the same ids, which the pipeline treats as replays.
Progress goes to stderr (only on a terminal), the summary line to stdout; the exit status is 1
if any event failed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from connectors.ingest import (
    ImageReferencePublisher,
    Rejected,
    SourceFailed,
    SourceItem,
    directory_references,
    jsonl_references,
    parse_s3_url,
    s3_references,
)
from connectors.reader import parse_instant
from streams.cli.output import console, fails_cleanly
from streams.core.assembly import s3_client
from streams.kafka.clients import require_cluster
from streams.settings import Settings, get_settings

__all__ = ["app"]

app = typer.Typer(
    help="Publish image references (a directory, an S3 prefix, JSON lines) for proving.",
    no_args_is_help=True,
)

_stderr = Console(stderr=True, highlight=False)

Tenant = Annotated[str, typer.Option("--tenant", help="Tenant the images belong to.")]
SubmittedAt = Annotated[
    str | None,
    typer.Option(
        "--submitted-at",
        help="Submission time of every event, ISO 8601 (default: each image's modification "
        "time, so an unchanged source ingested again gives identical events).",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


@app.command("dir")
@fails_cleanly
def directory(
    path: Annotated[
        Path,
        typer.Argument(exists=True, file_okay=False, dir_okay=True, help="Directory of images."),
    ],
    tenant: Tenant,
    glob: Annotated[
        str,
        typer.Option(
            "--glob",
            help="Files to publish: a pattern with '/' matches the path below PATH "
            "('**' spans directories), one without matches the file name.",
        ),
    ] = "*",
    recursive: Annotated[
        bool, typer.Option("--recursive/--no-recursive", help="Descend into subdirectories.")
    ] = True,
    submitted_at: SubmittedAt = None,
    quiet: Quiet = False,
) -> None:
    """Publish a reference to each matching file under PATH, as a file:// URI."""
    source = directory_references(
        path,
        tenant=tenant,
        pattern=glob,
        recursive=recursive,
        submitted_at=_instant(submitted_at),
    )
    _publish(get_settings(), source, quiet=quiet)


@app.command("s3")
@fails_cleanly
def s3(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix to list.")],
    tenant: Tenant,
    submitted_at: SubmittedAt = None,
    quiet: Quiet = False,
) -> None:
    """Publish a reference to each object under an S3 prefix, as an s3://bucket/key URI."""
    try:
        bucket, prefix = parse_s3_url(url)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="URL") from None
    settings = get_settings()
    source = s3_references(
        s3_client(settings), bucket, prefix, tenant=tenant, submitted_at=_instant(submitted_at)
    )
    _publish(settings, source, quiet=quiet)


@app.command("jsonl")
@fails_cleanly
def jsonl(
    source: Annotated[
        str, typer.Argument(help="File of JSON lines, or - for standard input.")
    ] = "-",
    quiet: Quiet = False,
) -> None:
    """Publish a reference per JSON line {"tenant", "uri", "event_id"?, "submitted_at"? (ms or
    ISO 8601), "content_type"?, "attributes"?}; a bad line is reported with its number and
    counted as failed, and the other lines are still published."""
    with _lines(source) as lines:
        _publish(get_settings(), jsonl_references(lines), quiet=quiet)


def _publish(settings: Settings, items: Iterable[SourceItem], *, quiet: bool) -> None:
    require_cluster(settings)
    publisher = ImageReferencePublisher(settings)
    rejected = 0
    source_error: SourceFailed | None = None
    started = time.monotonic()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[sent]} sent, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=_stderr,
        disable=quiet or not _stderr.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task("publishing", total=None, sent=0, failed=0)
        try:
            for item in items:
                if isinstance(item, Rejected):
                    rejected += 1
                    _report_failure(f"{item.where}: {item.reason}")
                else:
                    try:
                        publisher.publish(item)
                    except (ValueError, TypeError) as error:
                        rejected += 1
                        _report_failure(f"{item.uri}: {error}")
                so_far = publisher.report
                progress.update(task, sent=so_far.sent, failed=so_far.failed + rejected)
        except SourceFailed as error:
            source_error = error
        progress.update(task, description="waiting for the broker's acknowledgements")
        report = publisher.flush()
        publisher.close()
    elapsed = max(time.monotonic() - started, 1e-6)
    for message in report.errors:
        _report_failure(message)
    if source_error is not None:
        _stderr.print(f"[bold red]error:[/] {escape(str(source_error))}", soft_wrap=True)
    failed = report.failed + rejected
    console.print(f"sent {report.sent}, failed {failed}, {report.sent / elapsed:.1f} events/s")
    if failed or source_error is not None:
        raise typer.Exit(code=1)


def _report_failure(what: str) -> None:
    _stderr.print(f"failed: {what}", markup=False, soft_wrap=True)


def _instant(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--submitted-at") from None


@contextmanager
def _lines(source: str) -> Iterator[BinaryIO]:
    if source == "-":
        yield sys.stdin.buffer
        return
    path = Path(source)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise typer.BadParameter(f"{source} is no readable file", param_hint="SOURCE")
    with path.open("rb") as file:
        yield file
