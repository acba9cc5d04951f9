"""`credlink verify`: a real process against a real proof index, one verdict per exit code.

The command lives in `streams/cli/verify.py`; its tests live here, next to the deployment of
signed proofs and the PostgreSQL index they share with the verify service's tests.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from streams.core.image_verifier import PERCEPTUAL_THRESHOLD
from streams.devtools.devstack.worker import CREDLINK
from streams.devtools.samples import cdn_copy
from tests.integration.connectors.verify_service.conftest import Deployment
from tests.support.postgres_server import PostgresServer
from tests.support.stacks import free_port

pytestmark = pytest.mark.integration


def credlink_verify(
    deployment: Deployment, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CREDLINK, "verify", *args],
        env=env if env is not None else deployment.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(output: str) -> str:
    lines = output.splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_the_proven_bytes_are_verified_exactly_with_exit_code_0(deployment: Deployment) -> None:
    result = credlink_verify(deployment, str(deployment.image("acme")))

    assert result.returncode == 0, result.stderr
    assert one_line(result.stdout).startswith(
        f"verified: these exact bytes are the image of proof "
        f"{deployment.documents['acme'].proof_id} (tenant 'acme'"
    )


def test_a_cdn_copy_is_verified_by_similarity_with_its_distance_and_exit_code_10(
    deployment: Deployment, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(cdn_copy(deployment.image("acme").read_bytes()))

    result = credlink_verify(deployment, str(copy), "--json")

    assert result.returncode == 10, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["outcome"] == "verified_perceptual"
    assert verdict["proof_id"] == deployment.documents["acme"].proof_id
    assert 0 <= verdict["distance"] <= PERCEPTUAL_THRESHOLD
    assert verdict["proof"]["tenant"] == "acme"
    assert verdict["image"]["sha256"] != deployment.documents["acme"].image.sha256


def test_an_unrelated_image_is_not_found_with_exit_code_20(deployment: Deployment) -> None:
    result = credlink_verify(deployment, str(deployment.image("unrelated")))

    assert result.returncode == 20, result.stderr
    assert one_line(result.stdout).startswith("no proof found")


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("acme-tampered", 30, "is not genuine"),
        ("acme-outsider", 31, "is not in the key set"),
        ("acme-malformed", 32, "cannot be read"),
    ],
)
def test_a_proof_that_cannot_be_trusted_has_its_own_exit_code(
    deployment: Deployment, name: str, code: int, words: str
) -> None:
    result = credlink_verify(deployment, str(deployment.image(name)))

    assert result.returncode == code, result.stderr
    line = one_line(result.stdout)
    assert deployment.documents[name].proof_id in line
    assert words in line


def test_only_the_given_tenants_proofs_count(deployment: Deployment) -> None:
    image = str(deployment.image("acme"))

    assert credlink_verify(deployment, image, "--tenant", "globex").returncode == 20
    assert credlink_verify(deployment, image, "--tenant", "acme").returncode == 0


def test_a_file_uri_inside_the_allowed_roots_is_fetched(deployment: Deployment) -> None:
    result = credlink_verify(deployment, deployment.image("acme").as_uri())

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "case", ["file URI outside the roots", "http URI", "missing file", "not an image"]
)
def test_an_unusable_image_exits_1_with_one_error_line(
    deployment: Deployment, tmp_path: Path, case: str
) -> None:
    elsewhere = tmp_path / "elsewhere.jpg"
    elsewhere.write_bytes(deployment.image("acme").read_bytes())
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    argument = {
        "file URI outside the roots": elsewhere.as_uri(),
        "http URI": "http://images.example.com/a.jpg",
        "missing file": str(tmp_path / "missing.jpg"),
        "not an image": str(text),
    }[case]

    result = credlink_verify(deployment, argument)

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert one_line(result.stderr).startswith("error: ")
    assert "Traceback" not in result.stderr


def test_setup_errors_exit_2(
    deployment: Deployment, postgres: PostgresServer, tmp_path: Path
) -> None:
    image = str(deployment.image("acme"))
    no_keyset = {**deployment.env(), "CREDLINK_KEYSET_FILE": str(tmp_path / "none.json")}
    unreachable = f"host=127.0.0.1 port={free_port()} user=x dbname=x connect_timeout=2"
    empty_database = postgres.conninfo()

    cases = {
        "no key set": credlink_verify(deployment, image, env=no_keyset),
        "unreachable index": credlink_verify(deployment, image, "--dsn", unreachable),
        "no index in the database": credlink_verify(deployment, image, "--dsn", empty_database),
        "malformed DSN": credlink_verify(deployment, image, "--dsn", "not a dsn"),
    }

    for case, result in cases.items():
        assert result.returncode == 2, (case, result.stdout, result.stderr)
        assert one_line(result.stderr).startswith("error: "), case
    assert "key set file" in cases["no key set"].stderr
    assert "unavailable" in cases["unreachable index"].stderr
    assert "`credlink index run` creates it" in cases["no index in the database"].stderr


def test_a_usage_error_exits_2(deployment: Deployment) -> None:
    assert credlink_verify(deployment).returncode == 2
