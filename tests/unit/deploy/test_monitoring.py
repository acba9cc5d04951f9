"""The monitoring stack in `deploy/monitoring/` is valid for Prometheus and Alertmanager, uses
only the worker's metric contract, and every alert has its runbook.

promtool comes from Debian's `prometheus` package, amtool from `prometheus-alertmanager`; the
tests fail without them rather than skip, so CI must install both.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPO

ROOT = REPO
MONITORING = ROOT / "deploy" / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
ALERTS = MONITORING / "alerts.yml"
ALERT_TESTS = MONITORING / "tests" / "alerts_test.yml"
ALERTMANAGER_CONFIG = MONITORING / "alertmanager.yml"
GRAFANA = MONITORING / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "credlink-streams.json"
RUNBOOKS = ROOT / "docs" / "runbooks.md"

RUNBOOK_URL = "https://github.com/credlink/credlink-streams/blob/main/docs/runbooks.md#"
SEVERITIES = {"critical", "warning", "info"}
TOOL_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}

#: The metrics a worker and the verify service export (`streams/ops/metrics.py`), with their
#: labels.
COUNTERS = {
    "credlink_events_consumed_total": {"agent"},
    "credlink_proofs_created_total": {"agent", "format"},
    "credlink_credentials_issued_total": {"agent", "media_type"},
    "credlink_dead_letters_total": {"agent", "stage", "error_class"},
    "credlink_failures_total": {"agent", "stage", "error_class"},
    "credlink_retries_total": {"agent", "error_class"},
    "credlink_s3_errors_total": {"operation", "error"},
    "credlink_verify_requests_total": {"route", "method", "status"},
}
GAUGES = {
    "credlink_events_in_flight": {"agent"},
    "credlink_consumer_lag_records": {"group", "topic", "partition"},
    "credlink_table_proofs": {"tenant"},
    "credlink_table_proofs_by_format": {"format"},
    "credlink_table_credentials": {"tenant"},
    "credlink_table_credentials_by_format": {"format"},
    "credlink_worker_ready": set(),
}
HISTOGRAMS = {
    "credlink_stage_duration_seconds": {"agent", "stage"},
    "credlink_event_duration_seconds": {"agent", "outcome"},
    "credlink_image_bytes": {"agent"},
    "credlink_image_pixels": {"agent"},
    "credlink_s3_request_duration_seconds": {"operation"},
    "credlink_verify_request_duration_seconds": {"route", "method"},
}
CONTRACT_SERIES = {
    **COUNTERS,
    **GAUGES,
    **{
        f"{name}{suffix}": labels
        for name, labels in HISTOGRAMS.items()
        for suffix in ("", "_bucket", "_count", "_sum")
    },
}
METRIC_NAME = re.compile(r"(?<![A-Za-z0-9_])credlink_[a-z0-9_]+")


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(tool)
    assert executable is not None, (
        f"{tool} not found on PATH: apt-get install {TOOL_PACKAGES[tool]}"
    )
    return subprocess.run(
        [executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _alert_rules() -> list[dict[str, Any]]:
    groups = _yaml(ALERTS)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _runbook_anchors() -> set[str]:
    """The anchors GitHub gives the headings of docs/runbooks.md."""
    anchors = set()
    for line in RUNBOOKS.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(slug.replace(" ", "-"))
    return anchors


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return dashboard


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows and the panels of collapsed rows included."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard_queries() -> list[str]:
    """The PromQL of every panel target and template variable, variables substituted."""
    dashboard = _dashboard()
    queries = [
        target["expr"]
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            selector = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"])
            assert selector, f"variable {variable['name']}: not a label_values() query"
            queries.append(selector.group(1))
    return [
        re.sub(r"\$\{?\w+\}?", ".*", query.replace("$__rate_interval", "5m")) for query in queries
    ]


def _runbook_queries() -> list[str]:
    return re.findall(r"```promql\n(.*?)```", RUNBOOKS.read_text(encoding="utf-8"), re.DOTALL)


def _check_promql(queries: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """promtool's verdict on `queries`, given to it as recording rules."""
    rules = {
        "groups": [
            {
                "name": "queries",
                "rules": [
                    {"record": f"query:{number}", "expr": query.strip()}
                    for number, query in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "queries.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")
    return _run("promtool", "check", "rules", str(path))


def _routed_receiver(*labels: str) -> str:
    routed = _run(
        "amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels
    )
    assert routed.returncode == 0, routed.stderr
    return routed.stdout.strip()


def test_prometheus_config_passes_promtool_check_config() -> None:
    checked = _run("promtool", "check", "config", str(PROMETHEUS_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alert_rules_pass_promtool_check_rules() -> None:
    checked = _run("promtool", "check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alert_unit_tests_pass_promtool_test_rules() -> None:
    tested = _run("promtool", "test", "rules", str(ALERT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_alert_unit_tests_cover_firing_and_silent_cases() -> None:
    cases = [case for test in _yaml(ALERT_TESTS)["tests"] for case in test["alert_rule_test"]]
    assert sum(1 for case in cases if case.get("exp_alerts")) >= 3
    assert any(not case.get("exp_alerts") for case in cases)


def test_prometheus_scrapes_the_workers_and_the_verify_service_and_alerts_alertmanager() -> None:
    config = _yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "credlink-worker"]
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    assert {"127.0.0.1:6066", "127.0.0.1:6067"} <= targets
    assert job.get("metrics_path", "/metrics") == "/metrics"
    (verify,) = [job for job in config["scrape_configs"] if job["job_name"] == "credlink-verify"]
    assert verify["static_configs"][0]["targets"] == ["127.0.0.1:8080"]
    assert config["rule_files"] == ["alerts.yml"]
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def test_there_are_at_least_15_alerts_with_unique_names() -> None:
    names = [rule["alert"] for rule in _alert_rules()]
    assert len(names) >= 15
    assert len(set(names)) == len(names)


def test_every_alert_has_a_severity_summary_description_and_runbook() -> None:
    for rule in _alert_rules():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert annotations.get(key, "").strip(), f"{rule['alert']}: no {key}"


def test_every_runbook_url_points_at_the_section_of_its_alert() -> None:
    anchors = _runbook_anchors()
    for rule in _alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == RUNBOOK_URL + rule["alert"].lower(), rule["alert"]
        assert url.removeprefix(RUNBOOK_URL) in anchors, f"{url}: no such section"


@pytest.mark.parametrize("path", [ALERTS, DASHBOARD, RUNBOOKS], ids=lambda path: path.name)
def test_only_metrics_of_the_worker_contract_are_referenced(path: Path) -> None:
    referenced = set(METRIC_NAME.findall(path.read_text(encoding="utf-8")))
    assert referenced, f"{path.name} references no credlink metric"
    assert referenced <= CONTRACT_SERIES.keys(), sorted(referenced - CONTRACT_SERIES.keys())


def test_dashboard_is_json_with_a_schema_version_and_at_least_9_panels_with_unique_ids() -> None:
    dashboard = _dashboard()
    assert isinstance(dashboard["schemaVersion"], int)
    assert dashboard["uid"]
    panels = list(_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    assert len([panel for panel in panels if panel["type"] != "row"]) >= 9


def test_dashboard_queries_filter_by_the_agent_and_instance_variables() -> None:
    dashboard = _dashboard()
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert {"agent", "instance"} <= variables
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            expr = target["expr"]
            assert 'instance=~"$instance"' in expr, f"panel {panel['id']}: {expr}"
            if any("agent" in CONTRACT_SERIES[name] for name in METRIC_NAME.findall(expr)):
                assert 'agent=~"$agent"' in expr, f"panel {panel['id']}: {expr}"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    checked = _check_promql(_dashboard_queries(), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_runbook_queries_are_valid_promql(tmp_path: Path) -> None:
    queries = _runbook_queries()
    assert queries
    checked = _check_promql(queries, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboard_folder() -> None:
    datasources = _yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (datasource,) = datasources["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://127.0.0.1:9090"
    providers = _yaml(GRAFANA / "provisioning" / "dashboards" / "credlink.yml")["providers"]
    assert [provider["type"] for provider in providers] == ["file"]


def test_alertmanager_config_passes_amtool_check_config() -> None:
    checked = _run("amtool", "check-config", str(ALERTMANAGER_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("severity", "receiver", "integration"),
    [
        ("critical", "credlink-pager", "pagerduty_configs"),
        ("warning", "credlink-slack", "slack_configs"),
        ("info", "credlink-email", "email_configs"),
    ],
)
def test_alertmanager_routes_each_severity_to_its_receiver(
    severity: str, receiver: str, integration: str
) -> None:
    assert _routed_receiver("alertname=CredlinkTest", f"severity={severity}") == receiver
    receivers = {entry["name"]: entry for entry in _yaml(ALERTMANAGER_CONFIG)["receivers"]}
    assert receivers[receiver].get(integration)


def test_the_deployment_window_mutes_warnings_but_never_critical_alerts() -> None:
    config = _yaml(ALERTMANAGER_CONFIG)
    intervals = {interval["name"] for interval in config["time_intervals"]}
    routes = {
        route["matchers"][0]: route.get("mute_time_intervals", [])
        for route in config["route"]["routes"]
    }
    assert routes['severity="warning"'] == ["deployment-window"]
    assert routes['severity="critical"'] == []
    assert set(routes['severity="warning"']) <= intervals


def test_alertmanager_reads_every_secret_from_a_file() -> None:
    config = _yaml(ALERTMANAGER_CONFIG)
    inline = {
        "smtp_auth_password",
        "slack_api_url",
        "auth_password",
        "api_url",
        "routing_key",
        "service_key",
    }

    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    present = set(keys(config))
    assert not present & inline
    assert {"smtp_auth_password_file", "slack_api_url_file", "routing_key_file"} <= present
