"""Use cases of the signed-in mediator's account: sign-in, profile, lieux, tool preferences."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain import outils
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.ids import mediateur_id_for, new_id
from chalicelib.domain.mediateurs import (
    Identity,
    Lieu,
    LieuInput,
    Mediateur,
    Profile,
    profile_from_identity,
    validate_lieu,
)
from chalicelib.domain.outils import OutilsPrefs


class AccountStore(Protocol):
    def load(self, mediateur_id: str) -> tuple[Mediateur | None, list[Lieu], OutilsPrefs]: ...
    def save_sign_in(self, mediateur: Mediateur) -> Mediateur: ...
    def get_lieu(self, mediateur_id: str, lieu_id: str) -> Lieu: ...
    def add_lieu(self, mediateur_id: str, lieu_id: str, data: LieuInput, now: datetime) -> Lieu: ...
    def update_lieu(
        self, lieu: Lieu, data: LieuInput | None, archive: bool, version: int, now: datetime
    ) -> Lieu: ...
    def save_outils(self, mediateur_id: str, prefs: OutilsPrefs) -> OutilsPrefs: ...


@dataclass
class Account:
    profile: Profile
    outils: OutilsPrefs


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        communes: Callable[[], Container[str]],
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._communes = communes
        self._clock = clock

    def sign_in(self, identity: Identity) -> Mediateur:
        mediateur_id = mediateur_id_for(identity.idp_id, identity.sub)
        return self._store.save_sign_in(
            profile_from_identity(mediateur_id, identity, self._clock())
        )

    def account(self, mediateur_id: str) -> Account | None:
        mediateur, lieux, prefs = self._store.load(mediateur_id)
        if mediateur is None:
            return None
        return Account(Profile(mediateur, lieux), prefs)

    # --- lieux ---------------------------------------------------------------------------------

    def _checked(self, data: LieuInput) -> LieuInput:
        errors = validate_lieu(data, self._communes())
        if errors:
            raise ValidationFailed(errors)
        return LieuInput(data.nom.strip(), data.adresse.strip(), data.commune_insee.strip())

    def add_lieu(self, mediateur_id: str, data: LieuInput) -> Lieu:
        return self._store.add_lieu(mediateur_id, new_id(), self._checked(data), self._clock())

    def lieu(self, mediateur_id: str, lieu_id: str) -> Lieu:
        return self._store.get_lieu(mediateur_id, lieu_id)

    def update_lieu(self, mediateur_id: str, lieu_id: str, data: LieuInput, version: int) -> Lieu:
        lieu = self._store.get_lieu(mediateur_id, lieu_id)
        checked = self._checked(data)
        if lieu.version != version:
            raise Conflict(lieu_id)
        return self._store.update_lieu(lieu, checked, lieu.archive, version, self._clock())

    def set_archive(self, mediateur_id: str, lieu_id: str, archive: bool, version: int) -> Lieu:
        """Archived lieux disappear from the forms but keep their past activities."""
        lieu = self._store.get_lieu(mediateur_id, lieu_id)
        if lieu.version != version:
            raise Conflict(lieu_id)
        return self._store.update_lieu(lieu, None, archive, version, self._clock())

    # --- outils --------------------------------------------------------------------------------

    def move_outil(
        self, mediateur_id: str, prefs: OutilsPrefs, slug: str, direction: str
    ) -> OutilsPrefs:
        if slug not in outils.SLUGS:
            raise NotFound(slug)
        return self._store.save_outils(mediateur_id, outils.move(prefs, slug, direction))

    def pin_outil(self, mediateur_id: str, prefs: OutilsPrefs, slug: str) -> OutilsPrefs:
        if slug not in outils.SLUGS:
            raise NotFound(slug)
        return self._store.save_outils(mediateur_id, outils.toggle_pin(prefs, slug))

    def order_outils(self, mediateur_id: str, prefs: OutilsPrefs, order: list[str]) -> OutilsPrefs:
        return self._store.save_outils(mediateur_id, outils.with_order(prefs, order))
