"""Mes activités: the pages, the form translation and the JSON API."""
