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


class IdempotencyKeyReused(Conflict):
    """An idempotency key (a form's `jeton`, the API's `Idempotency-Key`) already created an
    activity with other values: nothing is saved, the user decides (SPEC §10, 409)."""


class Unavailable(DomainError):
    """The database stayed busy (transaction conflicts, throttling) after a few tries: nothing
    was saved; try again in a moment (503 with `Retry-After`)."""

    def __init__(self, what: str, retry_after: int = 2) -> None:
        super().__init__(what)
        self.retry_after = retry_after


class TooManyRequests(DomainError):
    """A signed-out client sent more than it may in a short time (429 with `Retry-After`)."""

    def __init__(self, what: str, retry_after: int = 600) -> None:
        super().__init__(what)
        self.retry_after = retry_after


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
