"""Coop — wiring only: the Chalice app, its blueprints, middleware and event handlers."""

from chalice import Chalice

from chalicelib.web import register

app = Chalice(app_name="coop")
register(app)
