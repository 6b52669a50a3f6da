"""The merge template given to `chalice package --merge-template` (see `make package`).

Generated, never hand-written: tables, queues and bucket come from `chalicelib/store/tables.py`
(the definitions the local stack uses), and function overrides come from the app's own event
sources, so a new handler cannot ship without its role, its event settings and its alarms.

    python -m infra.template prod > build/prod/merge.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from chalicelib.store.tables import EXPORT_BUCKET, EXPORT_QUEUE, TABLES, TableDef

API_FUNCTION = "APIHandler"
REGION = "eu-west-3"
THROTTLE_RATE = 500  # requests/s for the whole API: 2x the computed peak (README "Operations")
THROTTLE_BURST = 1000
EXPORT_CONCURRENCY = 20  # exports never take more than this many Lambdas: forms keep theirs
ERROR_PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Page introuvable — Coop'
    "</title></head><body><main><h1>Page introuvable</h1><p>La page que vous cherchez est "
    'introuvable.</p><p><a href="/">Retour à l\'accueil</a></p></main></body></html>'
)


def logical_id(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def table_resource_id(logical: str) -> str:
    return logical_id(logical) + "Table"


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(resource: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, "Arn"]}


# --- storage ------------------------------------------------------------------------------------


def table(definition: TableDef, stage: str) -> dict[str, Any]:
    props = definition.properties(f"coop-{stage}-{definition.logical}")
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    props["SSESpecification"] = {"SSEEnabled": True}
    props["DeletionProtectionEnabled"] = stage == "prod"
    resource: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": props}
    if stage == "prod":
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"
    return resource


def storage(stage: str) -> dict[str, Any]:
    resources = {table_resource_id(t.logical): table(t, stage) for t in TABLES}
    resources["ExportBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            "BucketName": _sub(f"coop-{stage}-{EXPORT_BUCKET.logical}-${{AWS::AccountId}}"),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-exports",
                        "Status": "Enabled",
                        "ExpirationInDays": EXPORT_BUCKET.expire_after_days,
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        },
    }
    resources["ExportBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "ExportBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            _arn("ExportBucket"),
                            _sub("${ExportBucket.Arn}/*"),
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }
    queue = EXPORT_QUEUE.properties(f"coop-{stage}-{EXPORT_QUEUE.logical}")
    queue["RedrivePolicy"] = {
        "deadLetterTargetArn": _arn("ExportDeadLetterQueue"),
        "maxReceiveCount": EXPORT_QUEUE.max_receive_count,
    }
    queue["SqsManagedSseEnabled"] = True
    resources["ExportQueue"] = {"Type": "AWS::SQS::Queue", "Properties": queue}
    resources["ExportDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"coop-{stage}-{EXPORT_QUEUE.logical}-dlq",
            "MessageRetentionPeriod": EXPORT_QUEUE.dlq_retention_seconds,
            "SqsManagedSseEnabled": True,
        },
    }
    resources["StatsFailureQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": f"coop-{stage}-statistiques-echecs",
            "MessageRetentionPeriod": 14 * 24 * 3600,
            "SqsManagedSseEnabled": True,
        },
    }
    resources["AlarmTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": f"coop-{stage}-alarmes"},
    }
    return resources


# --- permissions --------------------------------------------------------------------------------


def _table_arns(*logicals: str, indexes: bool = True) -> list[Any]:
    arns: list[Any] = []
    for logical in logicals:
        rid = table_resource_id(logical)
        arns.append(_arn(rid))
        if indexes:
            arns.append(_sub(f"${{{rid}.Arn}}/index/*"))
    return arns


READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
]


def _statement(actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(set(actions)), "Resource": resources}


def _logs(function_name: str) -> dict[str, Any]:
    return _statement(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        [
            _sub(
                f"arn:aws:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/{function_name}:*"
            )
        ],
    )


def role(function_name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "least-privilege",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [_logs(function_name), *statements],
                    },
                }
            ],
        },
    }


def api_statements() -> list[dict[str, Any]]:
    return [
        _statement(READ + WRITE, _table_arns("app", "sessions", "activities", "beneficiaries")),
        _statement(READ + WRITE, _table_arns("stats")),  # newcomers items, buckets read
        _statement(["s3:GetObject"], [_sub("${ExportBucket.Arn}/*")]),  # presigned downloads
        _statement(["s3:ListBucket"], [_arn("ExportBucket")]),  # health check (HeadBucket)
        _statement(["sqs:SendMessage"], [_arn("ExportQueue")]),
        _statement(
            ["ssm:GetParameter"],
            [
                _sub(
                    "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                    "${ProConnectClientSecretParameter}"
                )
            ],
        ),
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [_sub("arn:aws:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/ssm")],
            "Condition": {
                "StringEquals": {"kms:ViaService": _sub("ssm.${AWS::Region}.amazonaws.com")}
            },
        },
    ]


def stream_statements() -> list[dict[str, Any]]:
    return [
        _statement(
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            [{"Fn::GetAtt": [table_resource_id("activities"), "StreamArn"]}],
        ),
        _statement(READ, _table_arns("activities", "beneficiaries")),
        _statement(READ + WRITE, _table_arns("stats")),
        _statement(["sqs:SendMessage"], [_arn("StatsFailureQueue")]),
    ]


def queue_statements() -> list[dict[str, Any]]:
    return [
        _statement(
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",  # a failed attempt comes back after a backoff
            ],
            [_arn("ExportQueue")],
        ),
        _statement(READ + WRITE, _table_arns("app")),
        _statement(READ, _table_arns("activities", "beneficiaries", "stats")),
        _statement(["s3:PutObject", "s3:AbortMultipartUpload"], [_sub("${ExportBucket.Arn}/*")]),
    ]


def schedule_statements() -> list[dict[str, Any]]:
    return [
        _statement(READ, _table_arns("app", "activities", "beneficiaries")),
        _statement(READ + WRITE, _table_arns("stats")),
    ]


# --- functions ----------------------------------------------------------------------------------


def environment(stage: str) -> dict[str, Any]:
    return {
        "Variables": {
            "STAGE": stage,
            "TABLE_PREFIX": f"coop-{stage}",
            "EXPORT_BUCKET": {"Ref": "ExportBucket"},
            "EXPORT_QUEUE_URL": {"Ref": "ExportQueue"},
            "PUBLIC_URL": {"Ref": "PublicUrl"},
            "OIDC_ISSUER": {"Ref": "ProConnectIssuer"},
            "OIDC_CLIENT_ID": {"Ref": "ProConnectClientId"},
            "OIDC_CLIENT_SECRET_PARAMETER": {"Ref": "ProConnectClientSecretParameter"},
            "POWERTOOLS_SERVICE_NAME": "coop",
            "POWERTOOLS_METRICS_NAMESPACE": "Coop",
        }
    }


def function_overrides(
    stage: str, event_sources: list[Any], schedules: list[str]
) -> dict[str, Any]:
    """Role, name, environment and event settings of every function of the app."""
    resources: dict[str, Any] = {}
    functions = {API_FUNCTION: ("api", api_statements(), {})}
    for source in event_sources:
        kind = type(source).__name__
        name = logical_id(source.name)
        if kind == "DynamoDBEventConfig":
            events = {
                f"{name}DynamodbEventSource": {
                    "Properties": {
                        "Stream": {"Fn::GetAtt": [table_resource_id("activities"), "StreamArn"]},
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        "MaximumRetryAttempts": 10,
                        "BisectBatchOnFunctionError": True,
                        "MaximumRecordAgeInSeconds": 6 * 3600,
                        "ParallelizationFactor": 1,
                        "DestinationConfig": {
                            "OnFailure": {"Type": "SQS", "Destination": _arn("StatsFailureQueue")}
                        },
                    }
                }
            }
            functions[name] = (source.name, stream_statements(), {"Events": events})
        elif kind == "SQSEventConfig":
            events = {
                f"{name}SqsEventSource": {
                    "Properties": {
                        "Queue": _arn("ExportQueue"),
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    }
                }
            }
            extra = {
                "Events": events,
                "ReservedConcurrentExecutions": EXPORT_CONCURRENCY,
                "Timeout": 150,  # ≤ queue visibility timeout / 6: never redelivered while running
            }
            functions[name] = (source.name, queue_statements(), extra)
    for schedule in schedules:
        functions[logical_id(schedule)] = (schedule, schedule_statements(), {"Timeout": 300})
    for resource_id, (short, statements, extra) in functions.items():
        function_name = f"coop-{stage}-{short}"
        resources[resource_id + "Role"] = role(function_name, statements)
        resources[resource_id] = {
            "Properties": {
                "FunctionName": function_name,
                "Role": _arn(resource_id + "Role"),
                "Environment": environment(stage),
                **extra,
            }
        }
    return resources


def api_overrides() -> dict[str, Any]:
    return {
        "RestAPI": {
            "Properties": {
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": THROTTLE_RATE,
                        "ThrottlingBurstLimit": THROTTLE_BURST,
                        "MetricsEnabled": True,
                    }
                ],
                "DefinitionBody": {
                    # The app base64-encodes gzip and fonts: API Gateway must decode every type.
                    "x-amazon-apigateway-binary-media-types": ["*/*"],
                    "x-amazon-apigateway-gateway-responses": {
                        "MISSING_AUTHENTICATION_TOKEN": {
                            "statusCode": 404,
                            "responseParameters": {
                                "gatewayresponse.header.Content-Type": "'text/html; charset=utf-8'"
                            },
                            "responseTemplates": {
                                "text/html": ERROR_PAGE,
                                "application/json": ERROR_PAGE,
                            },
                        }
                    },
                },
            }
        }
    }


# --- alarms and dashboard -------------------------------------------------------------------------


def _alarm(name: str, description: str, metric: dict[str, Any], threshold: float) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            **metric,
        },
    }


def _metric(
    namespace: str, name: str, dimensions: list[dict[str, Any]], stat: str = "Sum"
) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Dimensions": dimensions,
        "Statistic": stat,
        "Period": 300,
    }


def alarms(stage: str, function_ids: list[str]) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for fid in function_ids:
        dims = [{"Name": "FunctionName", "Value": {"Ref": fid}}]
        resources[f"{fid}ErrorsAlarm"] = _alarm(
            f"coop-{stage}-{fid}-erreurs", "Lambda errors", _metric("AWS/Lambda", "Errors", dims), 0
        )
        resources[f"{fid}ThrottlesAlarm"] = _alarm(
            f"coop-{stage}-{fid}-throttles",
            "Lambda throttles",
            _metric("AWS/Lambda", "Throttles", dims),
            0,
        )
    api_dims = [{"Name": "ApiName", "Value": "coop"}]
    resources["Api5xxAlarm"] = _alarm(
        f"coop-{stage}-api-5xx",
        "5xx rate above 1 % over 5 minutes",
        {
            "Metrics": [
                {
                    "Id": "errors",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ApiGateway",
                            "MetricName": "5XXError",
                            "Dimensions": api_dims,
                        },
                        "Period": 300,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {
                    "Id": "requests",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/ApiGateway",
                            "MetricName": "Count",
                            "Dimensions": api_dims,
                        },
                        "Period": 300,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {
                    "Id": "rate",
                    "Expression": "IF(requests > 0, 100 * errors / requests, 0)",
                    "ReturnData": True,
                },
            ]
        },
        1,
    )
    if "Statistiques" in function_ids:
        resources["StreamIteratorAgeAlarm"] = _alarm(
            f"coop-{stage}-statistiques-retard",
            "Statistics lag behind activities by more than 2 minutes",
            _metric(
                "AWS/Lambda",
                "IteratorAge",
                [{"Name": "FunctionName", "Value": {"Ref": "Statistiques"}}],
                "Maximum",
            ),
            120_000,
        )
    for queue in ("ExportDeadLetterQueue", "StatsFailureQueue"):
        resources[f"{queue}DepthAlarm"] = _alarm(
            f"coop-{stage}-{queue}-messages",
            "Messages that failed every retry are waiting",
            _metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
                "Maximum",
            ),
            0,
        )
    service = [{"Name": "service", "Value": "coop"}]
    resources["ExportFailuresAlarm"] = _alarm(
        f"coop-{stage}-exports-echecs",
        "Exports ended in failure",
        _metric("Coop", "ExportFailures", service),
        0,
    )
    resources["StatsDriftAlarm"] = _alarm(
        f"coop-{stage}-statistiques-ecarts",
        "The daily verification found statistics drift (and repaired it)",
        _metric("Coop", "StatsDrift", service),
        0,
    )
    return resources


def dashboard(stage: str, function_ids: list[str]) -> dict[str, Any]:
    widgets = [
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "API : requêtes et erreurs",
                "region": REGION,
                "metrics": [
                    ["AWS/ApiGateway", "Count", "ApiName", "coop"],
                    [".", "5XXError", ".", "."],
                    [".", "4XXError", ".", "."],
                ],
                "stat": "Sum",
            },
        },
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Lambda : durée p95",
                "region": REGION,
                "metrics": [["AWS/Lambda", "Duration", "FunctionName", f"coop-{stage}-api"]],
                "stat": "p95",
            },
        },
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Statistiques : retard du flux (ms)",
                "region": REGION,
                "metrics": [
                    ["AWS/Lambda", "IteratorAge", "FunctionName", f"coop-{stage}-statistiques"]
                ],
                "stat": "Maximum",
            },
        },
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Exports : file d'attente",
                "region": REGION,
                "metrics": [
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        f"coop-{stage}-exports",
                    ]
                ],
                "stat": "Maximum",
            },
        },
    ]
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": f"coop-{stage}",
                "DashboardBody": json.dumps({"widgets": widgets}),
            },
        }
    }


def parameters(stage: str) -> dict[str, Any]:
    return {
        "PublicUrl": {
            "Type": "String",
            "Description": "https URL of the service (cookies __Host-)",
        },
        "ProConnectIssuer": {"Type": "String", "Description": "ProConnect OIDC issuer (https)"},
        "ProConnectClientId": {"Type": "String"},
        "ProConnectClientSecretParameter": {
            "Type": "String",
            "Default": f"/coop/{stage}/proconnect/client_secret",
            "Description": "Name of the SSM SecureString holding the client secret",
        },
    }


def merge_template(stage: str, app: Any) -> dict[str, Any]:
    schedules = [
        getattr(s, "name", "")
        for s in getattr(app, "event_sources", [])
        if type(s).__name__ in ("ScheduledEventConfig", "CloudWatchEventConfig")
    ]
    sources = [
        s
        for s in app.event_sources
        if type(s).__name__ in ("DynamoDBEventConfig", "SQSEventConfig")
    ]
    functions = function_overrides(stage, sources, [s for s in schedules if s])
    function_ids = [k for k, v in functions.items() if not k.endswith("Role") and "Type" not in v]
    resources = {
        **storage(stage),
        **functions,
        **api_overrides(),
        **alarms(stage, function_ids),
        **dashboard(stage, function_ids),
    }
    return {"Parameters": parameters(stage), "Resources": resources}


def main(argv: list[str]) -> int:
    stage = argv[1] if len(argv) > 1 else "dev"
    if stage not in ("dev", "prod"):
        print("usage: python -m infra.template dev|prod", file=sys.stderr)
        return 2
    import app as app_module

    json.dump(merge_template(stage, app_module.app), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
