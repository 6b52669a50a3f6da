"""pydantic errors -> {"field": "message en français"}."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "string_type": "Saisissez un texte.",
    "string_too_long": "Ce texte est trop long ({max_length} caractères au plus).",
    "string_too_short": "Ce champ est obligatoire.",
    "int_type": "Saisissez un nombre entier.",
    "int_parsing": "Saisissez un nombre entier.",
    "int_parsing_size": "Saisissez un nombre entier.",
    "int_from_float": "Saisissez un nombre entier.",
    "finite_number": "Saisissez un nombre entier.",
    "bool_type": "Répondez par oui ou non.",
    "bool_parsing": "Répondez par oui ou non.",
    "list_type": "Choisissez une ou plusieurs valeurs dans la liste.",
    "literal_error": "Choisissez une valeur dans la liste.",
    "enum": "Choisissez une valeur dans la liste.",
    "date_type": "Saisissez une date valide.",
    "date_parsing": "Saisissez une date valide (AAAA-MM-JJ).",
    "date_from_datetime_parsing": "Saisissez une date valide (AAAA-MM-JJ).",
    "date_from_datetime_inexact": "Saisissez une date valide (AAAA-MM-JJ).",
    "too_long": "Choisissez {max_length} valeurs au plus.",
    "greater_than_equal": "La valeur doit être au moins {ge}.",
    "less_than_equal": "La valeur doit être au plus {le}.",
    "extra_forbidden": "Ce champ n'est pas attendu.",
    "model_type": "Le corps de la requête doit être un objet JSON.",
    "dict_type": "Saisissez un objet.",
}


def field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "corps"


def french_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = field_name(tuple(error.get("loc", ())))
        if name in errors:
            continue
        kind = error["type"]
        if kind == "model_type" and name != "corps":
            kind = "dict_type"  # a nested object (e.g. `anonyme`), not the whole body
        template = _MESSAGES.get(kind)
        if template is None:
            # Our own validators raise ValueError with a French message.
            message = str(error.get("msg", "")).removeprefix("Value error, ")
        else:
            message = template.format(**(error.get("ctx") or {}))
        errors[name] = message or "Valeur invalide."
    return errors
