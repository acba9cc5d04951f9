"""`credlink replay`: re-publish a range of a topic so that the pipeline processes it again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from connectors.reader import parse_instant
from connectors.replay import AtOffset, AtTime, Bound, ReplayReport
from connectors.replay import replay as replay_range
from streams.cli.output import console, fails_cleanly
from streams.kafka.clients import require_cluster
from streams.settings import get_settings


@fails_cleanly
def replay(
    topic: Annotated[
        str,
        typer.Option(
            "--topic",
            help="Full name of the topic to replay, prefix included (as `kafka-topics --list` "
            "shows it), e.g. prod.images.submitted.",
        ),
    ],
    from_offset: Annotated[
        int | None,
        typer.Option("--from-offset", min=0, help="First offset to replay, in each partition."),
    ] = None,
    from_time: Annotated[
        str | None,
        typer.Option(
            "--from-time",
            help="Start at each partition's first record stamped at or after this ISO 8601 "
            "time (UTC unless it has an offset), e.g. 2026-01-01T09:30:00Z.",
        ),
    ] = None,
    to_offset: Annotated[
        int | None,
        typer.Option(
            "--to-offset", min=0, help="Last offset to replay (inclusive); default: the end."
        ),
    ] = None,
    to_time: Annotated[
        str | None,
        typer.Option("--to-time", help="Stop after the records stamped up to this ISO 8601 time."),
    ] = None,
    partition: Annotated[
        list[int] | None,
        typer.Option("--partition", min=0, help="Partition to replay; repeatable; default: all."),
    ] = None,
    target_topic: Annotated[
        str | None,
        typer.Option(
            "--target-topic", help="Full name of the topic to publish to; default: --topic."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and count the range; publish nothing.")
    ] = False,
) -> None:
    """Re-publish a range of a topic, each record with its key, value and headers, to the
    partition it came from. The range ends at the latest at the end each partition has when the
    replay starts; exit status 1 if the broker did not acknowledge every record."""
    start = _bound(from_offset, from_time, "--from-offset", "--from-time")
    until = _bound(to_offset, to_time, "--to-offset", "--to-time")
    if start is None:
        raise typer.BadParameter("give --from-offset or --from-time")
    if isinstance(start, AtOffset) and isinstance(until, AtOffset) and until.offset < start.offset:
        raise typer.BadParameter("--to-offset is before --from-offset")
    if (
        isinstance(start, AtTime)
        and isinstance(until, AtTime)
        and until.timestamp_ms < start.timestamp_ms
    ):
        raise typer.BadParameter("--to-time is before --from-time")
    settings = get_settings()
    require_cluster(settings)
    report = replay_range(
        settings,
        topic,
        start=start,
        until=until,
        partitions=partition,
        target_topic=target_topic,
        dry_run=dry_run,
    )
    _print(report)
    if report.failed:
        for error in report.errors:
            typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1)


def _bound(
    offset: int | None, moment: str | None, offset_flag: str, time_flag: str
) -> Bound | None:
    if offset is not None and moment is not None:
        raise typer.BadParameter(f"give {offset_flag} or {time_flag}, not both")
    if offset is not None:
        return AtOffset(offset)
    if moment is None:
        return None
    try:
        return AtTime(parse_instant(moment))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=time_flag) from None


def _print(report: ReplayReport) -> None:
    table = Table(title=f"{report.source} → {report.target}")
    table.add_column("partition", justify="right")
    table.add_column("offsets", justify="right")
    table.add_column("records", justify="right")
    if not report.dry_run:
        table.add_column("delivered", justify="right")
    for replayed in report.partitions:
        first, end = replayed.range.start, replayed.range.end
        cells = [replayed.range.partition, f"{first}-{end - 1}" if first < end else "none"]
        cells += [replayed.read] if report.dry_run else [replayed.read, replayed.delivered]
        table.add_row(*(str(cell) for cell in cells))
    console.print(table)
    if report.dry_run:
        console.print(f"dry run: {report.read} records would be re-published")
    else:
        console.print(f"re-published {report.delivered} of {report.read} records")
