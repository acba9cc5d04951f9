"""The `credlink` command line; `streams.cli.main` assembles it."""
