"""docker-compose.yml and its image: every setting it passes exists, every command it runs is a
real `credlink` command, no secret has a default, and nothing listens beyond loopback.

No Docker engine is needed: the file is read as YAML, the commands are run with `--help`, and
the Compose Prometheus configuration is checked by promtool like deploy/monitoring's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from streams.cli.main import app
from streams.settings import Settings
from tests.support.paths import REPO
from tests.unit.deploy.test_monitoring import ALERTS, _run

ROOT = REPO
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "compose" / "Dockerfile"
COMPOSE_PROMETHEUS = ROOT / "deploy" / "compose" / "prometheus.yml"

# Variables the CLI reads through typer (`envvar=`) rather than through Settings.
CLI_VARIABLES = {"CREDLINK_INDEX_DSN"}
# Names of variables whose values are secrets.
SECRET_SUFFIXES = ("PASSWORD", "SECRET_ACCESS_KEY", "ACCESS_KEY_ID", "DSN", "TOKEN")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<rule>:?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def credlink_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in services().items()
        if service.get("image") == "credlink-streams:local"
    }


def settings_variables() -> set[str]:
    return {name for variable in Settings.variables() for name in variable.names}


def test_every_credlink_variable_the_services_set_is_a_setting_or_a_cli_option() -> None:
    known = settings_variables() | CLI_VARIABLES
    for name, service in credlink_services().items():
        unknown = {
            variable
            for variable in service.get("environment", {})
            if variable.startswith(("CREDLINK_", "SENTRY_")) and variable not in known
        }
        assert not unknown, f"service {name} sets unknown variables {sorted(unknown)}"


def test_the_worker_indexer_and_verify_service_run_real_credlink_commands() -> None:
    commands = {
        name: service["command"]
        for name, service in credlink_services().items()
        if "entrypoint" not in service
    }
    assert set(commands) == {"worker", "indexer", "verify"}
    for name, command in commands.items():
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0, f"service {name}: credlink {' '.join(command)}: {result}"


def test_the_key_generating_service_runs_a_real_credlink_command() -> None:
    script = services()["keys"]["command"][0]
    words = script.split("|| credlink ", 1)[1].split()
    options = [word for word in words if word.startswith("--")]
    result = CliRunner().invoke(app, [*words[:2], "--help"])
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.output


def test_no_secret_has_a_default_value() -> None:
    text = COMPOSE.read_text()
    for match in INTERPOLATION.finditer(text):
        name, rule = match["name"], match["rule"] or ""
        if name.endswith(SECRET_SUFFIXES) and rule.startswith((":-", "-")):
            assert rule in {":-", "-"}, f"{name} has a default value in docker-compose.yml"
    for name, service in services().items():
        for variable, value in (service.get("environment") or {}).items():
            if variable.endswith(SECRET_SUFFIXES) and value:
                assert "${" in str(value), f"service {name} hard-codes {variable}"


def test_published_ports_bind_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"service {name} publishes {port}"


def test_files_the_image_and_the_services_need_exist() -> None:
    copied = re.findall(r"^COPY (.+) \S+$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./deploy/"):
                assert (ROOT / source).exists(), f"service {name} mounts missing {source}"


def test_compose_prometheus_config_passes_promtool_with_the_alert_rules(tmp_path: Path) -> None:
    shutil.copy(COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    checked = _run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def test_the_image_installs_the_pinned_dependencies_and_runs_as_its_own_user() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "pip install -c constraints.txt" in dockerfile
    assert re.search(r"^USER credlink$", dockerfile, flags=re.MULTILINE)
    subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", ".env"], check=True)
