"""Mes bénéficiaires: the pages, the form translation and the JSON API."""
