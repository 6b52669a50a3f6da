"""Coop — wiring only: the Chalice app, its blueprints, middleware and event handlers."""

from typing import Any

from chalice import Chalice, Rate

from chalicelib.web import register

app = Chalice(app_name="coop")
register(app)

# The real stream ARN is set by the deployment template (infra/); locally the pump maps the
# logical table name ("activities") to the embedded table.
ACTIVITIES_STREAM = "arn:aws:dynamodb:eu-west-3:000000000000:table/activities/stream/placeholder"


@app.on_dynamodb_record(
    stream_arn=ACTIVITIES_STREAM,
    batch_size=100,
    starting_position="TRIM_HORIZON",
    name="statistiques",
)
def statistiques(event: Any) -> dict[str, list[dict[str, str]]]:
    from chalicelib.stats.handlers import on_activity_records

    return on_activity_records(event)


@app.schedule(Rate(1, unit=Rate.DAYS), name="verification_statistiques")
def verification_statistiques(event: Any) -> dict[str, int]:
    from chalicelib.stats.handlers import daily_verification

    return daily_verification(event)


# A placeholder ARN whose last part is the logical queue name: the deployment template (infra/)
# replaces it by the real queue's ARN (a plain string, so the merge replaces it instead of
# mixing two intrinsic functions) and sets ReportBatchItemFailures; locally the pump maps
# "exports" to EXPORT_QUEUE_URL.
EXPORT_QUEUE_ARN = "arn:aws:sqs:eu-west-3:000000000000:exports"


@app.on_sqs_message(queue_arn=EXPORT_QUEUE_ARN, batch_size=1, name="exports")
def exports(event: Any) -> dict[str, list[dict[str, str]]]:
    from chalicelib.exports.handlers import on_export_messages

    return on_export_messages(event)
