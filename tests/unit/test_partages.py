"""Share links (SPEC §5 « Partager »): the rules of `domain/partages.py`, and `PartageService`
over one contract run against the in-memory fake and the DynamoDB store (moto).

Time is a settable clock; the statistics and the profiles are small fakes that record what they
were asked (the figures themselves are the statistics' tests' business).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.dates import Calendar, Periode, periode
from chalicelib.domain.errors import Forbidden, NotFound, TooManyRequests, ValidationFailed
from chalicelib.domain.mediateurs import ROLE_GESTIONNAIRE, ROLE_MEDIATEUR, Mediateur, Profile
from chalicelib.domain.partages import (
    MAX_ACTIFS,
    PartageFiltres,
    check_expiration,
    digest,
    looks_like_token,
)
from chalicelib.services.partages import PartageService
from tests.fakes import FakePartageStore

T0 = datetime(2025, 3, 12, 10, 0, 5, tzinfo=UTC)


# --- pure rules -----------------------------------------------------------------------------------


def test_an_expiry_date_is_after_today_and_within_a_year() -> None:
    today = date(2025, 3, 12)

    assert check_expiration(None, today) == {}
    assert check_expiration(today + timedelta(days=1), today) == {}
    assert check_expiration(today + timedelta(days=366), today) == {}
    assert set(check_expiration(today, today)) == {"expire_le"}
    assert set(check_expiration(today - timedelta(days=1), today)) == {"expire_le"}
    assert set(check_expiration(today + timedelta(days=367), today)) == {"expire_le"}


def test_a_token_has_the_shape_of_256_random_bits() -> None:
    import secrets

    token = secrets.token_urlsafe(32)

    assert looks_like_token(token)
    for bad in ("", "x" * 42, "x" * 44, "é" * 43, "/" * 43, token[:-1] + "="):
        assert not looks_like_token(bad), bad
    assert digest(token) != token and len(digest(token)) == 64


def test_filters_keep_a_preset_live_and_a_range_fixed() -> None:
    preset = PartageFiltres(periode="ce_mois", type="individuel")
    custom = PartageFiltres(periode="ce_mois", du=date(2024, 1, 1), au=date(2024, 6, 30))

    assert PartageFiltres().preset == "cette_annee"
    assert preset.preset == "ce_mois"
    assert custom.preset is None  # dates win, as on /api/statistiques
    for filtres in (preset, custom, PartageFiltres(lieu="01LIEU", canal="a_distance")):
        assert PartageFiltres.from_map(filtres.to_map()).to_map() == filtres.to_map()
    assert custom.to_map() == {"du": "2024-01-01", "au": "2024-06-30"}


# --- the service over both stores -------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeStatistics:
    calendar: Calendar
    asked: list[tuple[Any, ...]] = field(default_factory=list)

    def periode(self, preset: str | None, du: date | None, au: date | None) -> Periode:
        return periode(preset, du, au, self.calendar.today(), self.calendar.latest_allowed())

    def figures(self, profile: Profile, p: Periode, *filters: Any) -> dict[str, Any]:
        self.asked.append(("mediateur", profile.mediateur.id, p, *filters))
        return {"periode": {"du": p.du, "au": p.au}}

    def structure_figures(self, siret: str, p: Periode, *filters: Any) -> dict[str, Any]:
        self.asked.append(("structure", siret, p, *filters))
        return {"periode": {"du": p.du, "au": p.au}}


@dataclass
class FakeProfiles:
    known: dict[str, Profile] = field(default_factory=dict)

    def profile(self, mediateur_id: str) -> Profile | None:
        return self.known.get(mediateur_id)


def person(name: str, siret: str | None = None, gestionnaire: bool = False) -> Mediateur:
    roles = (ROLE_MEDIATEUR, ROLE_GESTIONNAIRE) if gestionnaire else (ROLE_MEDIATEUR,)
    return Mediateur(
        id=f"m{name}{random.randrange(10**9)}",
        prenom=name.title(),
        nom="Test",
        email=f"{name}@example.org",
        siret=siret,
        roles=roles,
        cree_le=T0,
        derniere_connexion=T0,
    )


@dataclass
class World:
    service: PartageService
    clock: Clock
    statistics: FakeStatistics
    profiles: FakeProfiles
    dump: Any

    def mediator(self, name: str, **kwargs: Any) -> Mediateur:
        mediateur = person(name, **kwargs)
        self.profiles.known[mediateur.id] = Profile(mediateur, [])
        return mediateur


@pytest.fixture(scope="module")
def dynamodb_models(aws: Any) -> Any:
    from chalicelib.config import Settings
    from chalicelib.store.models import Database
    from tests.conftest import app_env

    return Database.for_settings(Settings.from_env(app_env(aws, issuer="http://127.0.0.1:1")))


@pytest.fixture(params=["fake", "dynamodb"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "fake":
        store: Any = FakePartageStore()
        dump = store.dump
    else:
        from chalicelib.store.partages import DynamoPartageStore, OuverturesItem, PartageItem

        store = DynamoPartageStore(request.getfixturevalue("dynamodb_models"))

        def dump() -> str:
            return repr(
                [list(PartageItem.scan()), list(OuverturesItem.scan())]
            )  # the test tables are small

    clock = Clock()
    calendar = Calendar(clock)
    statistics = FakeStatistics(calendar)
    profiles = FakeProfiles()
    service = PartageService(store, statistics, profiles, calendar, limit=3)
    return World(service, clock, statistics, profiles, dump)


def make(world: World, who: Mediateur, portee: str = "mediateur", **kwargs: Any) -> Any:
    return world.service.create(
        who,
        kwargs.pop("lieux", set()),
        portee,
        kwargs.pop("filtres", PartageFiltres()),
        kwargs.pop("expire_le", None),
    )


def test_a_link_opens_with_its_filters_and_its_opens_are_counted(world: World) -> None:
    alice = world.mediator("alice")
    filtres = PartageFiltres(periode="mois_dernier", type="collectif", lieu="01LIEU")
    partage, jeton = make(world, alice, filtres=filtres, lieux={"01LIEU"})

    seen = world.service.open(jeton)
    world.clock.now += timedelta(seconds=1)
    world.service.open(jeton)

    assert seen.periode == Periode(date(2025, 2, 1), date(2025, 2, 28))
    assert world.statistics.asked[0] == (
        "mediateur",
        alice.id,
        seen.periode,
        "collectif",
        None,
        "01LIEU",
    )
    (listed,) = world.service.list(alice)
    assert listed.id == partage.id and listed.ouvertures == 2
    assert listed.derniere_ouverture == T0 + timedelta(seconds=1)
    assert jeton not in world.dump() and digest(jeton) in world.dump()


def test_unknown_malformed_revoked_and_expired_tokens_are_not_found(world: World) -> None:
    alice = world.mediator("alice")
    _, revoked = make(world, alice)
    expiring, jeton = make(world, alice, expire_le=date(2025, 3, 14))
    world.service.revoke(alice, _.id)

    for token in ("", "nimportequoi", "A" * 43, revoked):
        with pytest.raises(NotFound):
            world.service.open(token)
    world.clock.now = T0 + timedelta(days=1)
    assert world.service.open(jeton).partage.id == expiring.id  # the eve of its expiry
    world.clock.now = datetime(2025, 3, 13, 23, 0, tzinfo=UTC)  # 14 March in Paris
    with pytest.raises(NotFound):
        world.service.open(jeton)


def test_opens_beyond_the_limit_wait_for_the_next_minute_and_are_not_counted(
    world: World,
) -> None:
    alice = world.mediator("alice")
    _, jeton = make(world, alice)
    for _ in range(3):
        world.service.open(jeton)

    with pytest.raises(TooManyRequests) as refused:
        world.service.open(jeton)

    assert refused.value.retry_after == 55  # T0 is 5 s into its minute
    assert world.service.list(alice)[0].ouvertures == 3
    world.clock.now = T0 + timedelta(seconds=55)
    world.service.open(jeton)
    assert world.service.list(alice)[0].ouvertures == 4


def test_a_mediator_lists_and_revokes_only_their_own_links(world: World) -> None:
    alice, bob = world.mediator("alice"), world.mediator("bob")
    first, _ = make(world, alice)
    world.clock.now += timedelta(milliseconds=5)
    second, _ = make(world, alice)
    theirs, jeton = make(world, bob)

    assert [p.id for p in world.service.list(alice)] == [second.id, first.id]  # newest first
    with pytest.raises(NotFound):
        world.service.revoke(alice, theirs.id)
    with pytest.raises(NotFound):
        world.service.revoke(alice, "../../x")
    assert world.service.open(jeton).partage.id == theirs.id
    world.service.revoke(bob, theirs.id)
    with pytest.raises(NotFound):
        world.service.revoke(bob, theirs.id)


def test_a_structure_link_belongs_to_every_gestionnaire_of_its_siret_and_nobody_else(
    world: World,
) -> None:
    siret = str(random.randrange(10**13, 10**14))
    alice = world.mediator("alice", siret=siret, gestionnaire=True)
    claire = world.mediator("claire", siret=siret, gestionnaire=True)
    bob = world.mediator("bob", siret=siret)
    # Another SIRET for sure (a random one starting with « 1 » made them equal one time in nine).
    other_siret = ("2" if siret.startswith("1") else "1") + siret[1:]
    other = world.mediator("other", siret=other_siret, gestionnaire=True)

    partage, jeton = make(world, alice, "structure", filtres=PartageFiltres(canal="a_distance"))

    assert partage.proprietaire == siret and partage.createur == alice.id
    assert [p.id for p in world.service.list(claire)] == [partage.id]
    assert world.service.list(bob) == [] and world.service.list(other) == []
    with pytest.raises(Forbidden):
        make(world, bob, "structure")
    for stranger in (bob, other):
        with pytest.raises(NotFound):
            world.service.revoke(stranger, partage.id)
    seen = world.service.open(jeton)
    assert seen.profile is None
    assert world.statistics.asked[-1][:2] == ("structure", siret)
    assert world.statistics.asked[-1][3:] == (None, "a_distance")  # type, canal: no lieu
    world.service.revoke(claire, partage.id)
    with pytest.raises(NotFound):
        world.service.open(jeton)


def test_the_service_refuses_what_the_statistics_refuse(world: World) -> None:
    alice = world.mediator("alice", siret="12345678900011", gestionnaire=True)
    cases = {
        "expire_le": {"expire_le": date(2025, 3, 12)},
        "filters.du": {"filtres": PartageFiltres(du=date(2019, 12, 31))},
        "filters.au": {"filtres": PartageFiltres(du=date(2025, 1, 1), au=date(2026, 1, 1))},
        "filters.lieu": {"filtres": PartageFiltres(lieu="01AUTRE")},
    }
    for name, kwargs in cases.items():
        with pytest.raises(ValidationFailed) as refused:
            make(world, alice, **kwargs)
        assert name in refused.value.errors, name
    with pytest.raises(ValidationFailed) as structure_lieu:
        make(world, alice, "structure", filtres=PartageFiltres(lieu="01LIEU"), lieux={"01LIEU"})
    assert "filters.lieu" in structure_lieu.value.errors
    assert world.service.list(alice) == []


def test_an_owner_keeps_at_most_the_maximum_of_live_links(world: World) -> None:
    alice = world.mediator("alice")
    make(world, alice, expire_le=date(2025, 3, 13))
    for _ in range(MAX_ACTIFS - 1):
        make(world, alice)
    with pytest.raises(ValidationFailed):
        make(world, alice)

    world.clock.now = T0 + timedelta(days=1)  # the first one has expired: room for one more

    make(world, alice)
    assert len(world.service.list(alice)) == MAX_ACTIFS + 1
