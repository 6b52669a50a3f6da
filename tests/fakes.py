"""In-memory fakes of our ports. Each one has the same contract tests as its DynamoDB adapter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.auth.sessions import LoginAttempt, Quota, Session
from chalicelib.domain.partages import Partage


class FakeSessionStore:
    """`SessionStore` over dicts. Like DynamoDB in moto, nothing expires by itself: expiry is
    the app's job, and `expires_at` is only kept so that tests can look at it."""

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[Session, int]] = {}
        self.attempts: dict[str, LoginAttempt] = {}
        self.spent: dict[tuple[str, int], tuple[int, int]] = {}  # (client, window) -> (n, bytes)

    def put_session(self, session: Session, expires_at: int) -> None:
        self.sessions[session.key] = (session, expires_at)

    def get_session(self, key: str) -> Session | None:
        found = self.sessions.get(key)
        return found[0] if found else None

    def touch_session(self, key: str, vu_le: int, expires_at: int) -> None:
        found = self.sessions.get(key)
        if found is None:
            return  # signed out meanwhile: nothing to touch (same as the conditional update)
        session, _ = found
        self.sessions[key] = (replace(session, vu_le=vu_le), expires_at)

    def delete_session(self, key: str) -> None:
        self.sessions.pop(key, None)

    def set_reprise(self, key: str, reprise: str | None) -> None:
        found = self.sessions.get(key)
        if found is not None:
            session, expires_at = found
            self.sessions[key] = (replace(session, reprise=reprise), expires_at)

    def put_attempt(self, attempt: LoginAttempt) -> None:
        self.attempts[attempt.key] = attempt

    def take_attempt(self, key: str) -> LoginAttempt | None:
        return self.attempts.pop(key, None)

    def spend(self, client: str, window: int, size: int, quota: Quota) -> bool:
        count, used = self.spent.get((client, window), (0, 0))
        if (count or used) and (count >= quota.attempts or used > quota.bytes - size):
            return False
        self.spent[(client, window)] = (count + 1, used + size)
        return size <= quota.bytes

    def dump(self) -> str:
        """Everything stored, as text (to check what a leaked table would reveal)."""
        return repr((self.sessions, self.attempts))


class FakePartageStore:
    """`PartageStore` (share links) over dicts: the same contract as `DynamoPartageStore`."""

    def __init__(self) -> None:
        self.partages: dict[str, Partage] = {}  # by token digest
        self.opens: dict[tuple[str, int], int] = {}

    def create(self, partage: Partage) -> None:
        self.partages[partage.jeton] = partage

    def by_jeton(self, jeton_digest: str) -> Partage | None:
        found = self.partages.get(jeton_digest)
        return replace(found, ouvertures=0, derniere_ouverture=None) if found else None

    def of(self, portee: str, proprietaire: str) -> list[Partage]:
        mine = [
            p
            for p in self.partages.values()
            if (p.portee, p.proprietaire) == (portee, proprietaire)
        ]
        return sorted(mine, key=lambda p: p.id, reverse=True)

    def find(self, portee: str, proprietaire: str, partage_id: str) -> Partage | None:
        return next((p for p in self.of(portee, proprietaire) if p.id == partage_id), None)

    def delete(self, partage: Partage) -> bool:
        return self.partages.pop(partage.jeton, None) is not None

    def count_opening(self, partage: Partage, now: datetime) -> bool:
        found = self.partages.get(partage.jeton)
        if found is None:
            return False
        self.partages[partage.jeton] = replace(
            found, ouvertures=found.ouvertures + 1, derniere_ouverture=now
        )
        return True

    def spend(self, jeton_digest: str, window: int, limit: int, expires_at: int) -> bool:
        count = self.opens.get((jeton_digest, window), 0)
        if count >= limit:
            return False
        self.opens[(jeton_digest, window)] = count + 1
        return True

    def dump(self) -> str:
        return repr((self.partages, self.opens))
