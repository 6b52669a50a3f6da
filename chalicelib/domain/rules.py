"""How rules are run, for activities and beneficiaries alike: every rule of the input, one French
message per field (the first rule broken for it), and the notes rule (`notes.check_notes`)."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib.domain.errors import NotesNeedConfirmation, ValidationFailed
from chalicelib.domain.notes import check_notes

T = TypeVar("T")
C = TypeVar("C")
Error = tuple[str, str]
Choices = tuple[tuple[str, Container[str], str], ...]  # field, allowed values, message


def member(value: object, allowed: Container[str]) -> bool:
    """Only text can be a slug, a code or an id; checking the type first also keeps unhashable
    values away from set/dict lookups, which would raise."""
    return isinstance(value, str) and value in allowed


def choice_errors(source: object, choices: Choices, prefix: str = "") -> Iterator[Error]:
    """Each optional choice that is given (neither None nor "") and not one of those offered."""
    for key, allowed, message in choices:
        value = getattr(source, key)
        if value is not None and value != "" and not member(value, allowed):
            yield prefix + key, message


@dataclass(frozen=True)
class Verdict(Generic[T]):
    """What the rules made of an input: the input as it will be stored (normalised once), every
    broken rule as {field: French message}, and the sensitive data found in its notes."""

    clean: T
    errors: dict[str, str]
    sensibles: tuple[str, ...] = ()

    def accepted(self, read_errors: Mapping[str, str] | None = None) -> T:
        """The clean input, or one error with every message: what could not even be read
        (`read_errors`, from a form; it wins for its field) and every broken rule."""
        errors = dict(read_errors or {})
        for key, message in self.errors.items():
            errors.setdefault(key, message)
        if not errors:
            return self.clean
        if "notes" in errors and self.sensibles:
            raise NotesNeedConfirmation(errors, list(self.sensibles))
        raise ValidationFailed(errors)


def judge(
    clean: T,
    ctx: C,
    rules: Iterable[Callable[[T, C], Iterator[Error]]],
    notes: object,
    confirmed: object,
) -> Verdict[T]:
    """Run `rules` over the (already normalised) input, then the notes rule."""
    errors: dict[str, str] = {}
    for rule in rules:
        for key, message in rule(clean, ctx):
            errors.setdefault(key, message)
    checked = check_notes(notes, confirmed)
    if checked.message:
        errors.setdefault("notes", checked.message)
    return Verdict(clean, errors, checked.sensibles)
