"""The app process of the local stack: Chalice's local HTTP server plus the event pumps.

Started (and restarted on code changes) by `python -m infra.local run`, which owns the
embedded AWS and the fake ProConnect. Running the pumps here means they always invoke the
current code.

- The environment is this process's own (PUBLIC_URL for the right PORT): the composition root is
  built from it before the pumps or the server start, and the pumps invoke the handlers without
  swapping `os.environ` (chalice.test's invoke swaps it process-wide for `.chalice/config.json`'s
  values — PUBLIC_URL on port 8000 — so an event delivered before the first request used to
  build the container with the wrong public URL, and sign-in went to port 8000).
- It exits when its parent does (infra/local/guard.py); SIGTERM, SIGHUP and Ctrl-C stop it
  cleanly.
- No request line in the console: the app logs each request itself with the route *template*
  (never the path, the query string or a form value).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from infra.local.pump import (
    Checkpoints,
    DeadLetters,
    PumpThread,
    QueuePump,
    QueueSource,
    StreamPump,
    StreamSource,
)

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("coop.local")
_TABLE_IN_ARN = re.compile(r":table/([^/]+)/stream/")


def stage_environment(stage: str = "local") -> dict[str, str]:
    """Environment variables that .chalice/config.json declares for a stage."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config.get("stages", {}).get(stage, {}).get("environment_variables", {}))
    return {k: str(v) for k, v in env.items()}


def table_for_stream(stream_arn: str, table_prefix: str) -> str:
    """app.py names a stream by its logical table ("…:table/activities/stream/…")."""
    match = _TABLE_IN_ARN.search(stream_arn)
    if not match:
        raise ValueError(f"cannot find the table in {stream_arn}")
    logical = match.group(1)
    return logical if logical.startswith(table_prefix) else f"{table_prefix}-{logical}"


def queue_url(sqs: Any, queue: str, table_prefix: str) -> str:
    """app.py names the export queue by its logical name ("exports"): it is the stage's queue,
    whose URL the app itself uses (EXPORT_QUEUE_URL), else `<TABLE_PREFIX>-exports`. Any other
    name is a real queue name."""
    from chalicelib.store.tables import EXPORT_QUEUE

    if queue == EXPORT_QUEUE.logical:
        configured = os.environ.get("EXPORT_QUEUE_URL")
        if configured:
            return configured
        queue = f"{table_prefix}-{EXPORT_QUEUE.logical}"
    return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def build_pumps(app: Any, state_dir: Path, invoke: Any) -> list[PumpThread]:
    import boto3
    from chalice.app import DynamoDBEventConfig, SQSEventConfig

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    region = os.environ.get("AWS_REGION", "eu-west-3")
    session = boto3.session.Session(region_name=region)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    streams = session.client("dynamodbstreams", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    checkpoints = Checkpoints(state_dir / "pump-checkpoints.json")
    checkpoints.load()
    dead_letters = DeadLetters(state_dir / "failed-events")
    prefix = os.environ.get("TABLE_PREFIX", "coop-local")
    threads: list[PumpThread] = []
    for source in app.event_sources:
        if isinstance(source, DynamoDBEventConfig):
            table = table_for_stream(source.stream_arn, prefix)
            stream_source = StreamSource(source.name, table, source.batch_size or 100)
            pump: StreamPump | QueuePump = StreamPump(
                stream_source, dynamodb, streams, invoke, checkpoints, dead_letters, region=region
            )
            threads.append(PumpThread(pump))
        elif isinstance(source, SQSEventConfig):
            queue = source.queue or str(source.queue_arn).rsplit(":", 1)[-1]
            url = queue_url(sqs, queue, prefix)
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            queue_source = QueueSource(source.name, url, arn, source.batch_size or 1)
            threads.append(
                PumpThread(QueuePump(queue_source, sqs, invoke, dead_letters, region=region))
            )
    return threads


def lambda_invoker(app: Any, memory_size: int = 1024) -> Any:
    """Invoke an event handler like Lambda does, in this process's environment. Unlike
    chalice.test's invoke, it never replaces `os.environ` (that swap is process-wide: every
    request thread would see the config file's values while an event is handled)."""
    from chalice.local import LambdaContext

    def invoke(function: str, payload: dict[str, Any]) -> Any:
        handler = app.handler_map[function]
        return handler(payload, LambdaContext(function, memory_size=memory_size))

    return invoke


def not_found_handler() -> type:
    """Chalice's local gateway answers unknown paths with API Gateway's 403; we show our 404.
    The base class's request lines (path and query string) are not printed."""
    from chalice.local import ChaliceRequestHandler, RouteMatcher

    class Handler(ChaliceRequestHandler):
        def __init__(
            self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
        ) -> None:
            # Set before super().__init__, which handles the request right away.
            self._routes = list(app_object.routes)
            super().__init__(request, client_address, server, app_object, config)

        def _generic_handle(self) -> None:
            matcher = RouteMatcher(self._routes)
            try:
                matcher.match_route(self.path.split("?", 1)[0])
            except ValueError:
                self.path = "/introuvable"
            super()._generic_handle()

        # The base class binds do_GET & co. to its own _generic_handle at class creation.
        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            pass  # the app's own log line has the route template, method, status and duration

        def log_error(self, format: str, *args: Any) -> None:
            # e.g. "code 400, message Bad request syntax ('<the raw request line>')"
            code = args[0] if args and isinstance(args[0], int) else "?"
            log.warning("HTTP request refused before reaching the app (%s)", code)

    return Handler


def _seed_demo() -> None:
    from chalicelib import bootstrap
    from infra.local.demo import seed

    try:
        seed(bootstrap.get())
    except Exception:  # demo data is a convenience: never stop the app for it
        log.exception("could not create the demo data")


class Stopped(Exception):
    """SIGTERM/SIGHUP: leave serve_forever and stop cleanly."""


def _stop_on_signals() -> None:
    def stop(signum: int, _frame: Any) -> None:
        _ignore_signals()  # a second signal must not interrupt the stop itself
        raise Stopped(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


def _ignore_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


def _memory_size() -> int:
    try:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        return int(config.get("lambda_memory_size", 1024))
    except (OSError, ValueError):
        return 1024


def serve(port: int, state_dir: Path, parent_pid: int | None = None) -> None:
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from infra.local.guard import exit_with_parent

    _stop_on_signals()
    if parent_pid is not None:
        exit_with_parent(parent_pid)
    # This process's values win over the config file's (PUBLIC_URL follows --port).
    os.environ.setdefault("PUBLIC_URL", f"http://127.0.0.1:{port}")
    for name, value in stage_environment("local").items():
        os.environ.setdefault(name, value)
    import app as app_module
    from chalicelib import bootstrap

    app = app_module.app
    # Built now, from this environment, before any pump or request can build it.
    settings = bootstrap.get().settings
    if not settings.public_url.endswith(f":{port}"):
        log.warning("PUBLIC_URL %s does not use the app's port %s", settings.public_url, port)
    invoke = lambda_invoker(app, _memory_size())
    server = None
    pumps = []
    try:
        if os.environ.get("DEMO", "1") != "0":
            _seed_demo()
        pumps = build_pumps(app, state_dir, invoke)
        for pump in pumps:
            pump.start()
        config = Config.create(chalice_stage="local", app_name="coop", chalice_app=app)
        # Subclassing keeps Chalice's request translation; only the unknown-route answer and the
        # request log change.
        server = LocalDevServer(app, config, "127.0.0.1", port, handler_cls=not_found_handler())
        log.info("Coop is served on http://127.0.0.1:%s (%d event pump(s))", port, len(pumps))
        server.serve_forever()
    except (Stopped, KeyboardInterrupt):
        _ignore_signals()
    finally:
        for pump in pumps:
            pump.stop()
        if server is not None:
            server.server.server_close()
    # Nothing is left to save here (checkpoints are written as they move): skip the interpreter's
    # teardown, which waits for idle worker threads (over a second), so a restart is quick.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)
