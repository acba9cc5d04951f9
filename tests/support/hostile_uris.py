"""URIs an attacker would put in an image-reference event: loopback and metadata addresses in
every spelling, authority confusion, traversal in every encoding, buckets and schemes off the
allow-lists. Shared by the fetcher's property tests and the worker's hostile-input run."""

from __future__ import annotations

from pathlib import Path

from streams.core.fetching import MAX_URI_LENGTH

__all__ = ["HOSTILE_URIS", "hostile_uri"]

# Templates: `{host}`, `{bucket}` and `{root}` stand for the allowed host, bucket and directory.
HOSTILE_URIS = [
    # loopback and link-local metadata, in every spelling of an address
    "http://127.0.0.1/latest/meta-data/",
    "https://127.0.0.1/image.png",
    "https://localhost/image.png",
    "http://[::ffff:127.0.0.1]/image.png",
    "https://[::ffff:127.0.0.1]/image.png",
    "https://[::ffff:7f00:1]/image.png",
    "https://[::1]/image.png",
    "http://2130706433/image.png",
    "https://2130706433/image.png",
    "https://0x7f.1/image.png",
    "https://0x7f000001/image.png",
    "https://0177.0.0.1/image.png",
    "https://127.1/image.png",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[fe80::1%25eth0]/image.png",
    "https://metadata.google.internal/computeMetadata/v1/",
    # userinfo and authority confusion
    "https://{host}@169.254.169.254/latest/meta-data/",
    "https://{host}:443@169.254.169.254/",
    "https://{host}%40169.254.169.254/",
    "https://169.254.169.254#@{host}/",
    "https://169.254.169.254\\@{host}/",
    "https://{host}\\@169.254.169.254/",
    "https:\\\\{host}/image.png",
    "https:/\\169.254.169.254/",
    "//169.254.169.254/latest/meta-data/",
    "https://{host}.evil.test/image.png",
    "https://{host}:80/image.png",
    "http://{host}/image.png",
    "https://{host}/image.png\r\nHost: 169.254.169.254",
    "https://{host}/ima\x00ge.png",
    "https://{host}/" + "a" * MAX_URI_LENGTH,
    "https://{host}\u3002evil.test/image.png",  # an ideographic full stop: a dot to IDNA
    "https://{host}\uff0fevil.test/image.png",  # a fullwidth solidus
    " https://{host}/image.png",
    # files: outside the root, traversal in every encoding, other hosts, NUL
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file://evil.test/share/image.png",
    "file://{root}/../private/passwd",
    "file://{root}/%2e%2e/private/passwd",
    "file://{root}/%2E%2E/private/passwd",
    "file://{root}/..%2fprivate/passwd",
    "file://{root}/%2e%2e%2fprivate%2fpasswd",
    "file://{root}/..\\private\\passwd",
    "file://{root}/cat.png%00.jpg",
    "file://{root}/cat.png\x00.jpg",
    "file://{root}/%c0%ae%c0%ae/private/passwd",
    # buckets off the list, traversal in keys, userinfo
    "s3://other-bucket/cat.png",
    "s3://{bucket}.evil/cat.png",
    "s3://user@{bucket}/cat.png",
    "s3://{bucket}/../other-bucket/cat.png",
    "s3://{bucket}/images/./cat.png",
    "s3://{bucket}",
    "s3:///{bucket}/cat.png",
    # schemes that are never served
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:11211/stats",
    "ftp://files.example.com/cat.png",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "jar:https://{host}/x.zip!/cat.png",
    "",
    "cat.png",
]


def hostile_uri(template: str, *, host: str, bucket: str, root: Path) -> str:
    """The URI of one of `HOSTILE_URIS` for a fetcher allowing `host`, `bucket` and `root`."""
    return (
        template.replace("{host}", host)
        .replace("{bucket}", bucket)
        .replace("{root}", root.as_posix())
    )
