"""`make package STAGE=prod`, validated offline: SAM transform, cfn-lint, the resources that
matter, and the deployment zip itself (templates, assets, bytecode, a page rendered from it)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store.tables import TABLES

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "prod"
pytestmark = pytest.mark.slow
PARAMETERS = {
    "PublicUrl": "https://coop.example.gouv.fr",
    "ProConnectIssuer": "https://auth.agentconnect.gouv.fr/api/v2",
    "ProConnectClientId": "coop-prod",
}


@pytest.fixture(scope="module")
def package() -> Path:
    env = {**os.environ, "STAGE": "prod"}
    subprocess.run(
        ["make", "package", "STAGE=prod"], cwd=ROOT, check=True, env=env, capture_output=True
    )
    return BUILD


@pytest.fixture(scope="module")
def cfn(package: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The SAM template turned into plain CloudFormation, as `sam deploy` would."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    from samtranslator.translator.transform import transform

    sam = json.loads((package / "sam.json").read_text())
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://coop-artefacts/deployment.zip"

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    return dict(transform(copy.deepcopy(sam), PARAMETERS, NoManagedPolicies()))


def resources(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def test_the_transformed_template_passes_cfn_lint(cfn: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "coop-prod.json"
    path.write_text(json.dumps(cfn))

    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "eu-west-3"},
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_tables_are_the_shared_definitions_with_pitr_encryption_and_protection(
    cfn: dict[str, Any],
) -> None:
    tables = {
        v["Properties"]["TableName"]: v for v in resources(cfn, "AWS::DynamoDB::Table").values()
    }

    for definition in TABLES:
        table = tables[f"coop-prod-{definition.logical}"]
        props = table["Properties"]
        expected = definition.properties(f"coop-prod-{definition.logical}")
        for key, value in expected.items():
            assert props[key] == value, (definition.logical, key)
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
    assert tables["coop-prod-activities"]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }


def test_the_stream_mapping_reports_partial_failures_and_is_bounded(cfn: dict[str, Any]) -> None:
    (mapping,) = [
        v["Properties"]
        for v in resources(cfn, "AWS::Lambda::EventSourceMapping").values()
        if "StreamArn" in json.dumps(v["Properties"]["EventSourceArn"])
    ]

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["ActivitiesTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["StatsFailureQueue", "Arn"]
    }


def test_the_export_queue_has_a_dead_letter_queue(cfn: dict[str, Any]) -> None:
    queue = cfn["Resources"]["ExportQueue"]["Properties"]

    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ExportDeadLetterQueue", "Arn"]
    }
    assert 1 <= queue["RedrivePolicy"]["maxReceiveCount"] <= 5


def test_the_export_bucket_is_private_encrypted_tls_only_and_expires_exports(
    cfn: dict[str, Any],
) -> None:
    bucket = cfn["Resources"]["ExportBucket"]["Properties"]
    policy = cfn["Resources"]["ExportBucketPolicy"]["Properties"]["PolicyDocument"]

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Statement"]
    )


def _statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement
        assert not role["Properties"].get("ManagedPolicyArns"), name


def test_no_role_allows_every_action_on_every_resource(cfn: dict[str, Any]) -> None:
    seen = 0
    for name, statement in _statements(cfn):
        seen += 1
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        targets = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        assert not any(a == "*" or a.endswith(":*") for a in actions), (name, actions)
        assert "*" not in targets, (name, targets)
    assert seen > 10


def test_every_function_has_its_own_role_and_the_variables_the_app_reads(
    cfn: dict[str, Any],
) -> None:
    config = (ROOT / "chalicelib" / "config.py").read_text()
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', config))
    # Provided by Lambda itself, only for local runs, or optional with a default:
    optional = {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "OIDC_CLIENT_SECRET",
        "OIDC_SCOPES",
        "SESSION_IDLE_SECONDS",
        "SESSION_ABSOLUTE_SECONDS",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_SERVICE_NAME",
    }
    functions = resources(cfn, "AWS::Lambda::Function")
    roles = {json.dumps(f["Properties"]["Role"]) for f in functions.values()}

    assert len(roles) == len(functions)  # one role per function
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert read - optional <= set(variables), (name, sorted(read - optional - set(variables)))
        assert variables["STAGE"] == "prod"
        assert "OIDC_CLIENT_SECRET" not in variables  # the secret lives in SSM only


def test_the_api_is_throttled_decodes_binary_and_answers_404_in_french(cfn: dict[str, Any]) -> None:
    (stage,) = resources(cfn, "AWS::ApiGateway::Stage").values()
    (api,) = resources(cfn, "AWS::ApiGateway::RestApi").values()

    settings = stage["Properties"]["MethodSettings"][0]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    body = api["Properties"]["Body"]
    assert body["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    assert "Page introuvable" in json.dumps(
        body["x-amazon-apigateway-gateway-responses"], ensure_ascii=False
    )


def test_alarms_cover_errors_throttles_lag_dead_letters_and_drift(cfn: dict[str, Any]) -> None:
    alarms = {
        v["Properties"]["AlarmName"] for v in resources(cfn, "AWS::CloudWatch::Alarm").values()
    }

    for expected in (
        "api-5xx",
        "statistiques-retard",
        "ExportDeadLetterQueue",
        "StatsFailureQueue",
        "exports-echecs",
        "statistiques-ecarts",
        "APIHandler-erreurs",
        "APIHandler-throttles",
    ):
        assert any(expected in a for a in alarms), expected
    assert resources(cfn, "AWS::CloudWatch::Dashboard")


def test_the_zip_ships_templates_assets_data_and_valid_bytecode(package: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        names = set(archive.namelist())
        app_pyc = next(n for n in names if re.match(r"__pycache__/app\.cpython-311\.pyc$", n))
        header = archive.read(app_pyc)[:16]

    assert "chalicelib/templates/base.html" in names
    assert "chalicelib/static/manifest.json" in names
    assert any(n.endswith("/dsfr/dsfr.min.css.gz") for n in names)
    assert "chalicelib/data/communes.json.gz" in names
    assert any(
        n.startswith("chalicelib/web/__pycache__/") and n.endswith(".cpython-311.pyc")
        for n in names
    )
    assert not any(n.startswith(("tests/", "infra/", ".venv/")) for n in names)
    flags = int.from_bytes(header[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: valid whatever the zip's timestamps


def test_a_page_renders_from_the_unzipped_package_alone(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    # An API Gateway proxy event, handled the way the Lambda runtime calls the handler.
    script = (
        "import app, base64, types\n"
        "path = '/mentions-legales'\n"
        "event = {'resource': path, 'path': path, 'httpMethod': 'GET', 'headers': {'Host': 'x'},\n"
        "  'multiValueHeaders': {}, 'queryStringParameters': None,\n"
        "  'multiValueQueryStringParameters': None, 'pathParameters': None, 'stageVariables': None,\n"
        "  'requestContext': {'resourcePath': path, 'httpMethod': 'GET', 'path': path,\n"
        "  'requestId': 'r1'}, 'body': None, 'isBase64Encoded': False}\n"
        "context = types.SimpleNamespace(aws_request_id='r1', function_name='api')\n"
        "r = app.app(event, context)\n"
        "assert r['statusCode'] == 200, r\n"
        "body = base64.b64decode(r['body']) if r.get('isBase64Encoded') else r['body'].encode()\n"
        "assert 'Mentions légales' in body.decode(), body[:300]\n"
        "print('ok')\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path),
        "STAGE": "local",
        "HOME": str(tmp_path),
    }

    # -S: no site-packages, so only what the zip ships can be imported.
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
