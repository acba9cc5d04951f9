"""Specification of `credlink index`'s options: a DSN that does not parse is one line naming
the option, and never shows the password it holds."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from streams.cli.index import app


def test_a_malformed_dsn_is_one_line_naming_the_option() -> None:
    result = CliRunner().invoke(
        app, ["query", "--dsn", "not a dsn", "--tenant", "acme", "--sha256", "00"]
    )

    assert result.exit_code == 1
    assert "--dsn is not a PostgreSQL connection string" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://credlink:pa55word-xyz@[::1/proofs",
        "host=db user=credlink password='pa55word-xyz",
    ],
)
def test_a_malformed_dsn_never_shows_its_password(dsn: str) -> None:
    result = CliRunner().invoke(app, ["query", "--dsn", dsn, "--tenant", "acme", "--sha256", "00"])

    assert result.exit_code == 1
    assert "--dsn is not a PostgreSQL connection string" in result.output
    assert "pa55word" not in result.output
