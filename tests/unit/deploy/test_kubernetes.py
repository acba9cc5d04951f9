"""deploy/kubernetes: every manifest passes the Kubernetes OpenAPI schemas, every setting it
passes exists, every command it runs is a real `credlink` command, the probes hit paths the
services serve, the signing key reaches the worker in a mode it accepts, and no secret value is
in the repository.

No cluster is needed: the schemas ship with `kubernetes-validate`, the commands are run with
`--help`, and the key hand-over is run on local files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faust
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from typer.testing import CliRunner

from connectors.verify_service.app import OPENAPI_PATH
from streams.cli.main import app
from streams.core.errors import SetupError
from streams.core.signing import generate_key_pair, load_private_key
from streams.kafka.web import register_endpoints
from streams.ops.metrics import new_registry
from streams.settings import FetchSettings, Settings, WorkerSettings
from tests.support.paths import REPO
from tests.unit.deploy.test_compose import CLI_VARIABLES, DOCKERFILE, services, settings_variables

ROOT = REPO
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
OPERATOR_README = KUBERNETES / "README.md"
MANIFESTS = sorted(path for path in KUBERNETES.glob("*.yaml") if path != KUSTOMIZATION)
# The oldest Kubernetes release the manifests are meant for, and the newest with a schema.
KUBERNETES_VERSIONS = ("1.28", kubernetes_validate.latest_version())
IMAGE = "credlink-streams"
# In a pod the services must listen beyond loopback for probes, scrapes and clients.
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104
# README's figures: a worker idles at about 160 MB and stayed under 400 MB proving four
# 9-megapixel images at once; a decoded image takes about 4 bytes per pixel.
IDLE_BYTES = 160 * 1000 * 1000
MEASURED_BOUND_BYTES = 400 * 1000 * 1000
BYTES_PER_PIXEL = 4
QUANTITY = re.compile(r"(?P<number>\d+)(?P<unit>Ki|Mi|Gi|)")
BINARY_UNITS = {"": 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def documents(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def resources() -> list[dict[str, Any]]:
    return [document for path in MANIFESTS for document in documents(path)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [resource for resource in resources() if resource["kind"] == kind]


def deployments() -> dict[str, dict[str, Any]]:
    """Deployments by component: worker, indexer, verify."""
    return {
        deployment["metadata"]["labels"]["app.kubernetes.io/component"]: deployment
        for deployment in of_kind("Deployment")
    }


def pod(component: str) -> dict[str, Any]:
    spec: dict[str, Any] = deployments()[component]["spec"]["template"]
    return spec


def container(component: str) -> dict[str, Any]:
    (only,) = pod(component)["spec"]["containers"]
    found: dict[str, Any] = only
    return found


def all_containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def config_map_data() -> dict[str, str]:
    (settings,) = [
        cm for cm in of_kind("ConfigMap") if cm["metadata"]["name"] == "credlink-settings"
    ]
    data: dict[str, str] = settings["data"]
    return data


def literal_env(component: str) -> dict[str, str]:
    """What the container's environment holds apart from Secrets: the shared settings and its
    own values."""
    own = {
        entry["name"]: entry["value"] for entry in container(component)["env"] if "value" in entry
    }
    return {**config_map_data(), **own}


def secret_env(component: str) -> dict[str, dict[str, Any]]:
    return {
        entry["name"]: entry["valueFrom"]["secretKeyRef"]
        for entry in container(component)["env"]
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


def volumes(component: str) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in pod(component)["spec"]["volumes"]}


def writable_mounts(each: dict[str, Any]) -> dict[str, str]:
    """Mount path -> volume name of the container's mounts it may write to."""
    return {
        mount["mountPath"]: mount["name"]
        for mount in each["volumeMounts"]
        if not mount.get("readOnly")
    }


def selects(selector: dict[str, str], component: str) -> bool:
    labels: dict[str, str] = pod(component)["metadata"]["labels"]
    return selector.items() <= labels.items()


def quantity_bytes(quantity: str) -> int:
    match = QUANTITY.fullmatch(quantity)
    assert match is not None, f"unexpected quantity {quantity}"
    return int(match["number"]) * BINARY_UNITS[match["unit"]]


def operator_commands() -> list[str]:
    """The shell lines of the operator README's code blocks, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", OPERATOR_README.read_text(), flags=re.DOTALL)
    return " ".join(blocks).replace("\\\n", " ").splitlines()


def documented_sources() -> dict[str, set[str]]:
    """Secret and ConfigMap names the README creates, with the keys each gets."""
    created: dict[str, set[str]] = {}
    for line in operator_commands():
        match = re.search(r"create (?:secret generic|configmap) (?P<name>[a-z0-9-]+)", line)
        if match:
            keys = re.findall(r"--from-(?:literal|file)=([^\s=\"]+)", line)
            created[match["name"]] = {Path(key).name for key in keys}
    return created


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_passes_the_kubernetes_schemas(manifest: Path, version: str) -> None:
    for document in documents(manifest):
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(part) for part in error.absolute_path)
            pytest.fail(f"{manifest.name} ({version}): {path}: {error.message}")


def test_the_kustomization_lists_every_manifest_file() -> None:
    listed = yaml.safe_load(KUSTOMIZATION.read_text())["resources"]
    assert sorted(listed) == [path.name for path in MANIFESTS]


def test_every_container_runs_the_image_whose_tag_kustomize_sets_to_the_project_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = yaml.safe_load(KUSTOMIZATION.read_text())["images"]
    assert images == [{"name": IMAGE, "newTag": version}]
    for component in deployments():
        for each in all_containers(pod(component)["spec"]):
            assert each["image"] == IMAGE, f"{component}/{each['name']} runs {each['image']}"


def test_every_credlink_variable_is_a_setting_or_a_cli_option() -> None:
    known = settings_variables() | CLI_VARIABLES
    assert not set(config_map_data()) - known
    for component in deployments():
        for each in all_containers(pod(component)["spec"]):
            names = {entry["name"] for entry in each.get("env", [])}
            assert not names - known, f"{component}/{each['name']} sets unknown {names - known}"


@pytest.mark.parametrize("component", ["worker", "indexer", "verify"])
def test_the_settings_each_component_gets_are_valid(
    component: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("CREDLINK_", "SENTRY_")):
            monkeypatch.delenv(name)
    for name, value in literal_env(component).items():
        monkeypatch.setenv(name, value)
    # What the operator's Secrets provide (the DSN of the index is a CLI option, not a setting).
    for name in secret_env(component):
        monkeypatch.setenv(name, "a-secret-value")
    settings = Settings(_env_file=None)
    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.kafka.sasl_password is not None
    assert settings.store.backend == "s3"


def test_the_worker_indexer_and_verify_service_run_real_credlink_commands() -> None:
    commands = {component: container(component)["command"] for component in deployments()}
    assert set(commands) == {"worker", "indexer", "verify"}
    for component, command in commands.items():
        assert command[0] == "credlink", f"{component} runs {command}"
        result = CliRunner().invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{component}: {' '.join(command)}: {result.output}"
    # The same commands as the Compose deployment's services.
    assert {tuple(command[1:]) for command in commands.values()} == {
        tuple(services()[name]["command"]) for name in ("worker", "indexer", "verify")
    }


def test_the_worker_probes_hit_paths_the_worker_serves_on_its_port() -> None:
    worker_app = faust.App("probe-paths", autodiscover=False)
    register_endpoints(worker_app, new_registry())
    served = set(worker_app.web.views)
    worker = container("worker")
    probes = {
        kind: worker[kind]["httpGet"]
        for kind in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
    env = literal_env("worker")
    assert env["CREDLINK_WORKER_WEB_HOST"] == EVERY_INTERFACE
    for kind, probe in probes.items():
        assert probe["path"] in served, f"{kind} asks for {probe['path']}"
        assert ports[probe["port"]] == int(env["CREDLINK_WORKER_WEB_PORT"])


def test_the_verify_service_probes_and_service_hit_its_port_and_routes() -> None:
    routes = set(json.loads(OPENAPI_PATH.read_text())["paths"])
    verify = container("verify")
    ports = {port["name"]: port["containerPort"] for port in verify["ports"]}
    env = literal_env("verify")
    assert env["CREDLINK_VERIFY_WEB_HOST"] == EVERY_INTERFACE
    for kind in ("livenessProbe", "readinessProbe"):
        probe = verify[kind]["httpGet"]
        assert probe["path"] in routes
        assert ports[probe["port"]] == int(env["CREDLINK_VERIFY_WEB_PORT"])
    (service,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "credlink-verify"]
    assert selects(service["spec"]["selector"], "verify")
    (port,) = service["spec"]["ports"]
    assert ports[port["targetPort"]] == int(env["CREDLINK_VERIFY_WEB_PORT"])
    annotations = service["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == int(env["CREDLINK_VERIFY_WEB_PORT"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_metrics_service_is_headless_and_annotated_for_scraping_every_worker() -> None:
    (service,) = [s for s in of_kind("Service") if s["spec"].get("clusterIP") == "None"]
    # The alert rules expect the job `credlink-worker`, a ServiceMonitor's default job label.
    assert service["metadata"]["name"] == "credlink-worker"
    selector = service["spec"]["selector"]
    assert [c for c in deployments() if selects(selector, c)] == ["worker"]
    assert service["spec"]["publishNotReadyAddresses"] is True
    annotations = service["metadata"]["annotations"]
    ports = {port["name"]: port["containerPort"] for port in container("worker")["ports"]}
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    assert annotations["prometheus.io/path"] == "/metrics"
    (port,) = service["spec"]["ports"]
    assert ports[port["targetPort"]] == port["port"]


def test_the_worker_runs_three_replicas_in_one_group_and_disruptions_take_one() -> None:
    worker = deployments()["worker"]
    assert worker["spec"]["replicas"] == 3
    assert "CREDLINK_APP_ID" not in literal_env("worker").keys() - config_map_data().keys()
    (budget,) = of_kind("PodDisruptionBudget")
    assert [c for c in deployments() if selects(budget["spec"]["selector"]["matchLabels"], c)] == [
        "worker"
    ]
    assert budget["spec"]["maxUnavailable"] == 1


def test_every_deployment_selects_its_own_pods_only() -> None:
    for component, deployment in deployments().items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert [c for c in deployments() if selects(selector, c)] == [component]


def test_the_worker_gets_as_long_to_stop_as_under_compose_and_beyond_a_store_retry() -> None:
    grace = pod("worker")["spec"]["terminationGracePeriodSeconds"]
    compose_grace = services()["worker"]["stop_grace_period"]
    assert compose_grace.endswith("s")
    assert grace >= int(compose_grace.removesuffix("s"))
    assert grace > WorkerSettings().transient_retry_max_seconds


def test_the_worker_memory_covers_the_measured_bound_and_the_worst_case_of_its_settings() -> None:
    resources = container("worker")["resources"]
    concurrency = int(config_map_data()["CREDLINK_PROVE_CONCURRENCY"])
    max_pixels = FetchSettings().max_image_pixels
    worst_case = IDLE_BYTES + concurrency * max_pixels * BYTES_PER_PIXEL
    assert quantity_bytes(resources["requests"]["memory"]) >= MEASURED_BOUND_BYTES
    assert quantity_bytes(resources["limits"]["memory"]) >= worst_case


def test_every_pod_runs_as_the_image_user_read_only_without_capabilities() -> None:
    image_user = re.search(r"--uid (\d+)", DOCKERFILE.read_text())
    assert image_user is not None, "the Dockerfile creates no user with a fixed uid"
    uid = int(image_user[1])
    for component in deployments():
        spec = pod(component)["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == uid
        assert spec["automountServiceAccountToken"] is False
        empty_dirs = {name for name, volume in volumes(component).items() if "emptyDir" in volume}
        for each in all_containers(spec):
            where = f"{component}/{each['name']}"
            context = each["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert set(writable_mounts(each).values()) <= empty_dirs, where
        # What a service writes lands in an emptyDir: its working directory and /tmp.
        writable = writable_mounts(container(component))
        assert "/tmp" in writable, component
        assert container(component)["workingDir"] in writable, component


def test_the_signing_key_reaches_the_worker_with_mode_0400_from_a_0400_secret(
    tmp_path: Path,
) -> None:
    spec = pod("worker")["spec"]
    (init,) = spec["initContainers"]
    worker_volumes = volumes("worker")
    secret_volume = worker_volumes["signing-key-secret"]
    assert secret_volume["secret"]["secretName"] == "credlink-signing-key"
    assert secret_volume["secret"]["defaultMode"] == 0o400
    # The copy lives in memory, never on the node's disk.
    assert worker_volumes["signing-key"]["emptyDir"]["medium"] == "Memory"

    def on_disk(path: str, mounts: list[dict[str, Any]]) -> str:
        for mount in mounts:
            if path.startswith(mount["mountPath"] + "/"):
                return str(tmp_path / mount["name"]) + path.removeprefix(mount["mountPath"])
        return path

    # The Secret file as the kubelet writes it with the pod's fsGroup: 0400 plus group read.
    secret_file = tmp_path / "signing-key-secret" / "signing-key.pem"
    generate_key_pair(secret_file, tmp_path / "keyset.json")
    secret_file.chmod(0o440)
    with pytest.raises(SetupError, match="accessible to group or others"):
        load_private_key(secret_file)
    (tmp_path / "signing-key").mkdir()
    subprocess.run([on_disk(word, init["volumeMounts"]) for word in init["command"]], check=True)

    key_file = on_disk(
        literal_env("worker")["CREDLINK_SIGNING_KEY_FILE"], container("worker")["volumeMounts"]
    )
    assert Path(key_file).stat().st_mode & 0o777 == 0o400
    load_private_key(Path(key_file))


def test_every_secret_and_config_map_the_pods_use_is_created_in_the_operator_readme() -> None:
    created = documented_sources()
    shared = "credlink-settings"
    for component in deployments():
        for name, reference in secret_env(component).items():
            assert reference["key"] in created.get(reference["name"], set()), (
                f"{component}: {name} reads {reference['name']}/{reference['key']}"
            )
        sources = {}
        for name, volume in volumes(component).items():
            source = volume.get("secret", {}).get("secretName") or volume.get("configMap", {}).get(
                "name"
            )
            if source and source != shared:
                assert source in created, f"{component} mounts {source}"
                sources[name] = source
        # A settings path under a mounted Secret or ConfigMap names one of its keys.
        for mount in container(component)["volumeMounts"]:
            if mount["name"] not in sources:
                continue
            for variable, value in literal_env(component).items():
                if variable.endswith("_FILE") and value.startswith(mount["mountPath"] + "/"):
                    assert Path(value).name in created[sources[mount["name"]]], variable


def test_no_secret_with_data_is_in_the_repository() -> None:
    listed = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "*.yaml",
            "*.yml",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    readme_blocks = re.findall(r"```yaml\n(.*?)```", OPERATOR_README.read_text(), re.DOTALL)
    texts = {name: (ROOT / name).read_text() for name in listed} | {
        f"{OPERATOR_README.name} block {number}": block
        for number, block in enumerate(readme_blocks)
    }
    assert "deploy/kubernetes/worker-deployment.yaml" in texts
    for name, text in texts.items():
        for document in yaml.safe_load_all(text):
            if isinstance(document, dict) and document.get("kind") == "Secret":
                assert not document.keys() & {"data", "stringData"}, f"{name} holds a Secret"


def test_network_policies_admit_only_the_ports_each_component_serves() -> None:
    policies = of_kind("NetworkPolicy")
    for component in deployments():
        selecting = [
            policy
            for policy in policies
            if selects(policy["spec"]["podSelector"]["matchLabels"], component)
        ]
        assert len(selecting) == 1, f"{component} is selected by {len(selecting)} policies"
        (policy,) = selecting
        assert "Ingress" in policy["spec"]["policyTypes"]
        admitted = {
            port["port"] for rule in policy["spec"].get("ingress", []) for port in rule["ports"]
        }
        served = {port["containerPort"] for port in container(component).get("ports", [])}
        assert admitted == served, component


def test_only_prometheus_reaches_the_worker_port() -> None:
    (policy,) = [
        policy
        for policy in of_kind("NetworkPolicy")
        if policy["metadata"]["name"] == "credlink-worker"
    ]
    (rule,) = policy["spec"]["ingress"]

    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
