"""A minimal Faust worker: one agent reads a topic, counts keys in a table, forwards upper-cased.

Run as `python faust_smoke_worker.py BOOTSTRAP APP_ID IN_TOPIC OUT_TOPIC`.
"""

from __future__ import annotations

import sys

import faust


def main(bootstrap: str, app_id: str, source: str, sink: str) -> None:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=1,
        topic_replication_factor=1,
    )
    inbox = app.topic(source, key_serializer="raw", value_serializer="raw")
    outbox = app.topic(sink, key_serializer="raw", value_serializer="raw")
    counts = app.Table("counts", default=int, partitions=1)

    @app.agent(inbox)
    async def forward(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            key = event.key.decode()
            counts[key] += 1
            value = event.value.upper() + f"|{counts[key]}".encode()
            await outbox.send(key=event.key, value=value)

    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main(*sys.argv[1:5])
