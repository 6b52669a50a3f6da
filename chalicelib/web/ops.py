"""Operational endpoints."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.web.context import current
from chalicelib.web.http import json_response
from chalicelib.web.routing import api

bp = Blueprint(__name__)


@api(bp, "/healthz", auth=False)
def healthz() -> Response:
    c = current().container
    checks = c.health.check()
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "degraded", "stage": c.settings.stage, "checks": checks}
    return json_response(body, status=200 if healthy else 503)
