"""DynamoDB repositories for sessions, mediators, lieux and preferences.

They return domain objects, never pynamodb items.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.auth.sessions import LoginAttempt, Quota, Session
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.mediateurs import (
    ROLE_GESTIONNAIRE,
    ROLE_MEDIATEUR,
    Lieu,
    LieuInput,
    Mediateur,
)
from chalicelib.domain.outils import OutilsPrefs
from chalicelib.store.dynamo import STR, condition_failed, med
from chalicelib.store.models import (
    Database,
    LieuItem,
    LoginAttemptItem,
    MediateurItem,
    OutilsPrefsItem,
    QuotaItem,
    SessionItem,
    StructureItem,
)


def _epoch(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class DynamoSessionStore:
    def __init__(self, db: Database) -> None:
        self._db = db  # models configured for it; transactions would use db.connection

    def put_session(self, session: Session, expires_at: int) -> None:
        SessionItem(
            pk="s#" + session.key,
            mediateur_id=session.mediateur_id,
            csrf_token=session.csrf_token,
            cree_le=session.cree_le,
            vu_le=session.vu_le,
            id_token=session.id_token,
            reprise=session.reprise,
            expires_at=_epoch(expires_at),
        ).save()

    def get_session(self, key: str) -> Session | None:
        try:
            item = SessionItem.get("s#" + key)
        except DoesNotExist:
            return None
        return Session(
            key=key,
            mediateur_id=item.mediateur_id,
            csrf_token=item.csrf_token,
            cree_le=int(item.cree_le),
            vu_le=int(item.vu_le),
            id_token=item.id_token,
            reprise=item.reprise,
        )

    def touch_session(self, key: str, vu_le: int, expires_at: int) -> None:
        item = SessionItem(pk="s#" + key)
        try:
            item.update(
                actions=[
                    SessionItem.vu_le.set(vu_le),
                    SessionItem.expires_at.set(_epoch(expires_at)),
                ],
                condition=SessionItem.pk.exists(),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise  # signed out meanwhile: nothing to touch

    def set_reprise(self, key: str, reprise: str | None) -> None:
        item = SessionItem(pk="s#" + key)
        action = SessionItem.reprise.set(reprise) if reprise else SessionItem.reprise.remove()
        try:
            item.update(actions=[action], condition=SessionItem.pk.exists())
        except UpdateError as exc:
            if not condition_failed(exc):
                raise

    def delete_session(self, key: str) -> None:
        SessionItem(pk="s#" + key).delete()

    def put_attempt(self, attempt: LoginAttempt) -> None:
        LoginAttemptItem(
            pk="l#" + attempt.key,
            state=attempt.state,
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            retour=attempt.retour,
            reprise=attempt.reprise,
            expires_at=_epoch(attempt.expires_at),
        ).save()

    def spend(self, client: str, window: int, size: int, quota: Quota) -> bool:
        """One conditional update: counted only while under the quota (atomic, whatever the
        number of concurrent requests)."""
        item = QuotaItem(pk=f"q#{client}#{window}")
        try:
            item.update(
                actions=[
                    QuotaItem.n.add(1),
                    QuotaItem.b.add(size),
                    QuotaItem.expires_at.set(_epoch(window + 2 * quota.window)),
                ],
                condition=QuotaItem.n.does_not_exist()
                | ((QuotaItem.n < quota.attempts) & (QuotaItem.b <= quota.bytes - size)),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return size <= quota.bytes

    def take_attempt(self, key: str) -> LoginAttempt | None:
        # A conditional delete is the atomic "consume once": a replayed callback finds nothing.
        try:
            item = LoginAttemptItem.get("l#" + key, consistent_read=True)
            item.delete(condition=LoginAttemptItem.pk.exists())
        except DoesNotExist:
            return None
        except DeleteError as exc:
            if condition_failed(exc):
                return None
            raise
        return LoginAttempt(
            key=key,
            state=item.state,
            nonce=item.nonce,
            code_verifier=item.code_verifier,
            retour=item.retour,
            reprise=item.reprise,
            expires_at=int(item.expires_at.timestamp()),
        )


def _mediateur(item: MediateurItem) -> Mediateur:
    return Mediateur(
        id=item.pk.removeprefix("MED#"),
        prenom=item.prenom,
        nom=item.nom,
        email=item.email,
        siret=item.siret,
        roles=tuple(sorted(item.roles or {ROLE_MEDIATEUR})),
        cree_le=item.cree_le,
        derniere_connexion=item.derniere_connexion,
        accompagne=item.accompagne,
    )


def _lieu(item: LieuItem) -> Lieu:
    return Lieu(
        id=item.sk.removeprefix("LIEU#"),
        mediateur_id=item.pk.removeprefix("MED#"),
        nom=item.nom,
        adresse=item.adresse,
        commune_insee=item.commune_insee,
        archive=bool(item.archive),
        version=int(item.version or 1),
        cree_le=item.cree_le,
        modifie_le=item.modifie_le,
    )


def _prefs(item: OutilsPrefsItem) -> OutilsPrefs:
    ordre: list[str] = list(item.ordre or [])  # type: ignore[arg-type]
    epingles: list[str] = list(item.epingles or [])  # type: ignore[arg-type]
    return OutilsPrefs(tuple(ordre), frozenset(epingles), int(item.version or 0))


def _query_partition(pk: str) -> list[dict]:
    """Raw items of one partition of the app table (several item types at once)."""
    connection = MediateurItem._get_connection()
    items: list[dict] = []
    start = None
    while True:
        page = connection.query(pk, exclusive_start_key=start, consistent_read=True)
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


class DynamoAccountStore:
    """Mediator profile, lieux and tool preferences: one partition per mediator."""

    def __init__(self, db: Database) -> None:
        self._db = db  # models configured for it; transactions would use db.connection

    def load(self, mediateur_id: str) -> tuple[Mediateur | None, list[Lieu], OutilsPrefs]:
        """Everything about a mediator in one Query (profile + lieux + preferences)."""
        mediateur: Mediateur | None = None
        lieux: list[Lieu] = []
        prefs = OutilsPrefs()
        for raw in _query_partition(med(mediateur_id)):
            sk = raw["sk"]["S"]
            if sk == "PROFIL":
                mediateur = _mediateur(MediateurItem.from_raw_data(raw))
            elif sk.startswith("LIEU#"):
                lieux.append(_lieu(LieuItem.from_raw_data(raw)))
            elif sk == "PREF#outils":
                prefs = _prefs(OutilsPrefsItem.from_raw_data(raw))
        lieux.sort(key=lambda lieu: (lieu.archive, lieu.nom.lower()))
        return mediateur, lieux, prefs

    def get_mediateur(self, mediateur_id: str) -> Mediateur | None:
        try:
            return _mediateur(MediateurItem.get(med(mediateur_id), "PROFIL"))
        except DoesNotExist:
            return None

    def get_mediateur_consistent(self, mediateur_id: str) -> Mediateur | None:
        try:
            return _mediateur(MediateurItem.get(med(mediateur_id), "PROFIL", consistent_read=True))
        except DoesNotExist:
            return None

    def save_sign_in(self, mediateur: Mediateur) -> Mediateur:
        """Create the profile on first sign-in, refresh the claims afterwards. Roles are kept,
        except the structure's ones when the structure changed: a gestionnaire who now works
        for another structure is no gestionnaire of the new one."""
        before = self.get_mediateur_consistent(mediateur.id)
        item = MediateurItem(med(mediateur.id), "PROFIL")
        now = mediateur.derniere_connexion or datetime.now(UTC)
        actions: list[Any] = [
            MediateurItem.prenom.set(mediateur.prenom),
            MediateurItem.nom.set(mediateur.nom),
            MediateurItem.email.set(mediateur.email),
            MediateurItem.derniere_connexion.set(now),
            MediateurItem.cree_le.set(MediateurItem.cree_le | (mediateur.cree_le or now)),
        ]
        if mediateur.siret:
            actions += [
                MediateurItem.siret.set(mediateur.siret),
                MediateurItem.gsi1pk.set("STRUCT#" + mediateur.siret),
                MediateurItem.gsi1sk.set(med(mediateur.id)),
            ]
        else:
            actions += [
                MediateurItem.siret.remove(),
                MediateurItem.gsi1pk.remove(),
                MediateurItem.gsi1sk.remove(),
            ]
        if before and before.siret != mediateur.siret and ROLE_GESTIONNAIRE in before.roles:
            actions.append(MediateurItem.roles.delete({ROLE_GESTIONNAIRE}))
        item.update(actions=actions)
        saved = self.get_mediateur(mediateur.id)
        assert saved is not None
        return saved

    def set_accompagne(self, mediateur_id: str, accompagne: bool) -> None:
        MediateurItem(med(mediateur_id), "PROFIL").update(
            actions=[MediateurItem.accompagne.set(accompagne)],
            condition=MediateurItem.pk.exists(),
        )

    # --- roles and structures -------------------------------------------------------------------

    def structure_nom(self, siret: str) -> str | None:
        try:
            return StructureItem.get(STR + siret, "STRUCTURE").nom
        except DoesNotExist:
            return None

    def set_structure_nom(self, siret: str, nom: str, now: datetime) -> None:
        StructureItem(STR + siret, "STRUCTURE", nom=nom, modifie_le=now).save()

    def grant_role(self, mediateur_id: str, role: str) -> Mediateur:
        """Add a role to an existing mediator (idempotent); NotFound when there is none."""
        item = MediateurItem(med(mediateur_id), "PROFIL")
        try:
            item.update(
                actions=[MediateurItem.roles.add({ROLE_MEDIATEUR, role})],
                condition=MediateurItem.pk.exists(),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise NotFound(mediateur_id) from None
            raise
        granted = self.get_mediateur_consistent(mediateur_id)
        assert granted is not None
        return granted

    def structure_mediateurs(self, siret: str) -> list[Mediateur]:
        """The mediators whose structure employeuse is this SIRET (gsi1, one query)."""
        found = [_mediateur(item) for item in MediateurItem.par_structure.query("STRUCT#" + siret)]
        # The index is eventually consistent: keep only profiles still filed under this SIRET.
        return sorted(
            (m for m in found if m.siret == siret), key=lambda m: (m.nom.lower(), m.prenom.lower())
        )

    def find_by_email(self, email: str) -> list[Mediateur]:
        """Every profile with this e-mail address. A Scan of the app table: ops commands only."""
        condition = (MediateurItem.sk == "PROFIL") & (MediateurItem.email == email.strip().lower())
        return [_mediateur(item) for item in MediateurItem.scan(condition)]

    def mediateur_ids(self) -> list[str]:
        """Every mediator who ever signed in. A Scan of the app table: ops commands only."""
        return [
            item.pk.removeprefix("MED#")
            for item in MediateurItem.scan(
                MediateurItem.sk == "PROFIL", attributes_to_get=["pk", "sk"]
            )
        ]

    # --- lieux ---------------------------------------------------------------------------------

    def get_lieu(self, mediateur_id: str, lieu_id: str) -> Lieu:
        try:
            return _lieu(LieuItem.get(med(mediateur_id), "LIEU#" + lieu_id))
        except DoesNotExist:
            raise NotFound(lieu_id) from None

    def add_lieu(self, mediateur_id: str, lieu_id: str, data: LieuInput, now: datetime) -> Lieu:
        item = LieuItem(
            med(mediateur_id),
            "LIEU#" + lieu_id,
            nom=data.nom.strip(),
            adresse=data.adresse.strip(),
            commune_insee=data.commune_insee.strip(),
            archive=False,
            cree_le=now,
            modifie_le=now,
        )
        item.save(condition=LieuItem.pk.does_not_exist())
        return _lieu(item)

    def update_lieu(
        self, lieu: Lieu, data: LieuInput | None, archive: bool, version: int, now: datetime
    ) -> Lieu:
        item = LieuItem(
            med(lieu.mediateur_id),
            "LIEU#" + lieu.id,
            nom=(data.nom.strip() if data else lieu.nom),
            adresse=(data.adresse.strip() if data else lieu.adresse),
            commune_insee=(data.commune_insee.strip() if data else lieu.commune_insee),
            archive=archive,
            cree_le=lieu.cree_le or now,
            modifie_le=now,
            version=version,
        )
        try:
            item.save()  # VersionAttribute adds "version = :expected" to the condition
        except PutError as exc:
            if condition_failed(exc):
                raise Conflict(lieu.id) from None
            raise
        return _lieu(item)

    # --- preferences ---------------------------------------------------------------------------

    def save_outils(self, mediateur_id: str, prefs: OutilsPrefs) -> OutilsPrefs:
        item = OutilsPrefsItem(
            med(mediateur_id),
            "PREF#outils",
            ordre=list(prefs.ordre),
            epingles=sorted(prefs.epingles),
        )
        if prefs.version:
            item.version = prefs.version  # saved before: the write is conditional on it
        try:
            item.save()
        except PutError as exc:
            if condition_failed(exc):
                raise Conflict("outils") from None
            raise
        return OutilsPrefs(prefs.ordre, prefs.epingles, int(item.version))
