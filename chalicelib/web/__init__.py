"""Web layer: blueprints (pages, API, static), middleware."""

from __future__ import annotations

from chalice import Chalice


def register(app: Chalice) -> None:
    from chalicelib.web import api, auth_routes, ops, pages
    from chalicelib.web.middleware import http_middleware
    from chalicelib.web.static import static_blueprint

    app.register_middleware(http_middleware, "http")
    for blueprint in (pages.bp, auth_routes.bp, api.bp, ops.bp, static_blueprint):
        app.register_blueprint(blueprint)
