"""Specification of the `credlink` command: every subcommand is there, and running one loads no
other subcommand's module."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from streams.cli.main import SUBCOMMANDS, app
from tests.support.fresh_python import fresh_python_output


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    # A row of the commands panel starts with the name; its wrapped lines start with spaces.
    rows = [line.removeprefix("│ ").split(" ")[0] for line in result.output.splitlines()]
    assert [name for name in rows if name in SUBCOMMANDS] == list(SUBCOMMANDS)


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_each_subcommand_shows_its_own_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert f"credlink {name} [OPTIONS]" in result.output


def test_a_mistyped_subcommand_is_answered_with_the_nearest_name() -> None:
    result = CliRunner().invoke(app, ["workr"])

    assert result.exit_code == 2
    assert "Did you mean 'worker'?" in result.output


def test_the_worker_command_loads_no_other_subcommand_module() -> None:
    code = """
import json, sys
from streams.cli.main import main
sys.argv = ["credlink", "worker", "--help"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.startswith("streams.cli."))))
"""

    loaded = json.loads(fresh_python_output(code, timeout=120).splitlines()[-1])

    assert loaded == ["streams.cli.main", "streams.cli.output", "streams.cli.worker"]
