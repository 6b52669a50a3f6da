"""Web layer: blueprints (pages, API, static), middleware."""

from __future__ import annotations

from chalice import Chalice


def register(app: Chalice) -> None:
    from chalicelib.web import api, auth_routes, exports, ops, pages, statistiques, structure
    from chalicelib.web.activites import api as api_activites
    from chalicelib.web.activites import pages as activites
    from chalicelib.web.beneficiaires import api as api_beneficiaires
    from chalicelib.web.beneficiaires import pages as beneficiaires
    from chalicelib.web.middleware import http_middleware
    from chalicelib.web.partages import bp as partages_bp
    from chalicelib.web.static import static_blueprint

    app.register_middleware(http_middleware, "http")
    blueprints = (
        pages.bp,
        activites.bp,
        statistiques.bp,
        structure.bp,
        beneficiaires.bp,
        exports.bp,
        auth_routes.bp,
        api.bp,
        api_activites.bp,
        api_beneficiaires.bp,
        ops.bp,
        partages_bp,
    )
    for blueprint in (*blueprints, static_blueprint):
        app.register_blueprint(blueprint)
