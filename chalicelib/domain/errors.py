"""Domain errors. They carry no HTTP status: `web/errors.py` maps them to pages and JSON."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(DomainError):
    """Unknown id, or an id that belongs to someone else (never say which)."""


class Conflict(DomainError):
    """The item changed since the version the user edited."""


class Forbidden(DomainError):
    """The signed-in user may not do this (e.g. no lieu yet, wrong role)."""


class DuplicateRequest(DomainError):
    """An idempotency key was used before: `activite_id` is what that first request created."""

    def __init__(self, activite_id: str) -> None:
        super().__init__(activite_id)
        self.activite_id = activite_id


class ValidationFailed(DomainError):
    """Input broke a rule. `errors` maps each field to a French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


class NotesNeedConfirmation(ValidationFailed):
    """Validation failed and the notes look sensitive: the form offers a confirmation box."""

    def __init__(self, errors: dict[str, str], found: list[str]) -> None:
        super().__init__(errors)
        self.found = found
