"""Statistics maths (SPEC §5), pure.

Unit: an *accompagnement* is one person helped in one activity (an atelier counts its
participants). Every activity contributes integer counters to the bucket of its month, filed
under its combination `type|canal|lieu` so that the page's filters (type, canal, lieu) select
combinations instead of re-reading activities. Counters only ever add up: a bucket is the sum
of its activities' contributions, which is what makes "aggregates == recomputation" checkable
and the recomputation idempotent.

Counter keys are short (items are billed by size): `n` accompagnements, `a` activities,
`ty:` accompagnements by type, `at` ateliers, `th:` thématiques, `td:` thématiques de la
démarche, `ma:` matériel, `ca:` canal, `du:` durée band, `li:` lieu, `co:` commune of the
place, `au:` autonomie, `re:` redirection structure, `pa:` partner, `ge:` genre, `tr:`
tranche d'âge, `st:` statut, `cr:` commune de résidence, `an` anonymous people, `anv` new
anonymous people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chalicelib.domain import vocab
from chalicelib.domain.activites import Activite, Personne
from chalicelib.domain.statistiques import largest_remainder, share

NON_COMMUNIQUE = "non_communique"
NON_RENSEIGNE = "non_renseigne"


@dataclass
class Combo:
    """Counters and followed people of one combination in one bucket."""

    counters: Counter[str] = field(default_factory=Counter)
    suivis: set[str] = field(default_factory=set)

    def add(self, other: Combo) -> None:
        self.counters.update(other.counters)
        self.suivis |= other.suivis


Bucket = dict[str, Combo]  # combination key -> Combo


def combo_key(type_: str, canal: str, lieu: str | None) -> str:
    return f"{type_}|{canal}|{lieu or ''}"


def parse_combo(key: str) -> tuple[str, str, str | None]:
    type_, canal, lieu = [*key.split("|"), "", "", ""][:3]
    return type_, canal, lieu or None


# --- one activity's contribution --------------------------------------------------------------


def _person_counters(counters: Counter[str], people: Iterable[Mapping[str, str | None]]) -> None:
    for person in people:
        counters["ge:" + (person.get("genre") or NON_COMMUNIQUE)] += 1
        counters["tr:" + (person.get("tranche_age") or NON_COMMUNIQUE)] += 1
        counters["st:" + (person.get("statut") or NON_COMMUNIQUE)] += 1
        counters["cr:" + (person.get("commune_insee") or NON_COMMUNIQUE)] += 1


def _breakdown(counters: Counter[str], prefix: str, counts: Mapping[str, int], total: int) -> None:
    """An atelier's anonymous breakdown; the remainder is « Non communiqué »."""
    known = 0
    for slug, count in counts.items():
        if count > 0 and slug != NON_COMMUNIQUE:
            counters[f"{prefix}:{slug}"] += count
            known += count
    if total - known > 0:
        counters[f"{prefix}:{NON_COMMUNIQUE}"] += total - known


def _snapshot(p: Personne) -> dict[str, str | None]:
    return {
        "genre": p.genre,
        "tranche_age": p.tranche_age,
        "statut": p.statut,
        "commune_insee": p.commune_insee,
    }


def _people(a: Activite, counters: Counter[str]) -> None:
    d = a.data
    _person_counters(counters, [_snapshot(p) for p in a.personnes])
    if d.type == "collectif":
        pa = d.participants_anonymes
        total = pa.total if pa else 0
        counters["an"] += total
        counters["anv"] += max(0, total - (pa.deja_accompagnes if pa else 0))
        if pa and total:
            _breakdown(counters, "ge", pa.genres, total)
            _breakdown(counters, "tr", pa.tranches_age, total)
            _breakdown(counters, "st", pa.statuts, total)
            counters["cr:" + NON_COMMUNIQUE] += total
        return
    if not d.beneficiaire_id:
        anonyme = d.anonyme
        counters["an"] += 1
        counters["anv"] += 0 if anonyme and anonyme.deja_accompagne else 1
        _person_counters(
            counters,
            [
                {
                    "genre": anonyme.genre if anonyme else None,
                    "tranche_age": anonyme.tranche_age if anonyme else None,
                    "statut": anonyme.statut if anonyme else None,
                    "commune_insee": anonyme.commune_insee if anonyme else None,
                }
            ],
        )


def _place(a: Activite, counters: Counter[str], n: int) -> None:
    d = a.data
    counters[f"ca:{d.canal}"] += n
    if d.canal == "lieu_activite" and d.lieu_id:
        counters[f"li:{d.lieu_id}"] += n
        if a.commune_lieu:
            counters[f"co:{a.commune_lieu}"] += n
    elif d.commune_insee:
        counters[f"co:{d.commune_insee}"] += n


def _follow_up(a: Activite, counters: Counter[str]) -> None:
    """Autonomy and orientation: of the one person helped (individuel, démarche), and in an
    atelier the autonomy noted for each followed participant (SPEC §3.5)."""
    d = a.data
    if d.type == "collectif":
        for person in set(d.participants_ids):
            level = d.autonomies.get(person)
            if level:
                counters["au:" + level] += 1
        return
    counters["au:" + (d.autonomie or NON_RENSEIGNE)] += 1
    if d.oriente and d.structure_redirection:
        counters["re:" + d.structure_redirection] += 1
        if d.partenaire_id:
            counters["pa:" + d.partenaire_id] += 1


def contribution(a: Activite) -> tuple[str, Combo]:
    """The counters one activity adds to its month's bucket, and under which combination."""
    d = a.data
    n = d.participants
    counters: Counter[str] = Counter({"a": 1, "n": n, "ty:" + d.type: n})
    if d.type == "collectif":
        counters["at"] += 1
    for slug in set(d.thematiques):
        counters["th:" + slug] += n
    for slug in set(d.thematiques_demarche):
        counters["td:" + slug] += n
    for slug in set(d.materiel):
        counters["ma:" + slug] += n
    counters["du:" + vocab.bande_duree(d.duree or 0)] += n
    _place(a, counters, n)
    _follow_up(a, counters)
    _people(a, counters)
    suivis = {p.id for p in a.personnes} or set(d.beneficiaires_lies())
    key = combo_key(d.type, d.canal or "", d.lieu_id if d.canal == "lieu_activite" else None)
    return key, Combo(counters, suivis)


def bucket_of(activites: Iterable[Activite]) -> Bucket:
    bucket: Bucket = {}
    for a in activites:
        key, combo = contribution(a)
        bucket.setdefault(key, Combo()).add(combo)
    return bucket


def structure_key(key: str) -> str:
    """A structure files its mediators' combinations without the lieu (lieux are each
    mediator's own, and the structure's page filters by type and canal only; the lieux still
    count in its `li:` counters)."""
    type_, canal, _ = parse_combo(key)
    return combo_key(type_, canal, None)


def structure_bucket(members: Iterable[Bucket]) -> Bucket:
    """A structure's month: the sum of its mediators' month buckets. Their followed people are
    distinct (a beneficiary belongs to one mediator), so the union of their sets is exact."""
    result: Bucket = {}
    for bucket in members:
        for key, combo in bucket.items():
            result.setdefault(structure_key(key), Combo()).add(combo)
    return result


def bucket_to_map(bucket: Bucket) -> dict[str, Any]:
    """What the stats table stores. Each combination packs its counters into one string
    ("a=3 n=4 th:email=2") and its followed people into another ("id1 id2"): a bucket holds
    hundreds of them, and as DynamoDB maps and lists every one is a value to parse on every
    read (botocore walks them one by one: ~1 s to read a year of a busy mediator's buckets,
    ~20× the packed strings) for about the same stored size. Keys and ids never contain
    spaces or "=" (slugs, ids, INSEE codes)."""
    return {
        key: {
            "c": " ".join(f"{name}={count}" for name, count in sorted(c.counters.items())),
            "s": " ".join(sorted(c.suivis)),
        }
        for key, c in sorted(bucket.items())
        if c.counters.get("a")
    }


def _counters_from(raw: Any) -> Counter[str]:
    if isinstance(raw, str):
        pairs = (part.rpartition("=") for part in raw.split())
        return Counter({name: int(count) for name, _, count in pairs})
    return Counter({str(k): int(v) for k, v in dict(raw or {}).items()})  # earlier maps


def _people_from(raw: Any) -> set[str]:
    if isinstance(raw, str):
        return set(raw.split())
    return {str(s) for s in raw or []}  # earlier lists


def bucket_from_map(raw: Mapping[str, Any]) -> Bucket:
    return {
        str(key): Combo(_counters_from(value.get("c")), _people_from(value.get("s")))
        for key, value in raw.items()
    }


# --- reading: filters, totals, figures --------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    type: str | None = None
    canal: str | None = None
    lieu: str | None = None

    def accepts(self, key: str) -> bool:
        type_, canal, lieu = parse_combo(key)
        return (
            (self.type is None or self.type == type_)
            and (self.canal is None or self.canal == canal)
            and (self.lieu is None or self.lieu == lieu)
        )


def total(buckets: Iterable[Bucket], selection: Selection) -> Combo:
    result = Combo()
    for bucket in buckets:
        for key, combo in bucket.items():
            if selection.accepts(key):
                result.add(combo)
    return result


Labeller = Callable[[str], str]


def _items(counters: Counter[str], prefix: str) -> list[tuple[str, int]]:
    found = [(k[len(prefix) + 1 :], v) for k, v in counters.items() if k.startswith(prefix + ":")]
    return [(k, v) for k, v in found if v > 0]


def distribution(
    counters: Counter[str],
    prefix: str,
    label: Labeller,
    order: Iterable[str] = (),
    multi_whole: int | None = None,
) -> list[dict[str, Any]]:
    """[{cle, libelle, nombre, pourcentage}]: every slug of `order` (zeros included), then the
    other keys found, by count. Single-choice lists use the largest remainder; pass
    `multi_whole` for multi-choice lists."""
    found = dict(_items(counters, prefix))
    keys = list(dict.fromkeys([*order, *sorted(found, key=lambda k: (-found[k], k))]))
    counts = [found.get(k, 0) for k in keys]
    if multi_whole is not None:
        percents = [share(c, multi_whole) for c in counts]
    else:
        percents = largest_remainder(counts)
    return [
        {"cle": k, "libelle": label(k), "nombre": c, "pourcentage": p}
        for k, c, p in zip(keys, counts, percents, strict=True)
    ]


def vocab_label(vocabulary: vocab.Vocabulary, extra: Mapping[str, str] | None = None) -> Labeller:
    extras = {NON_RENSEIGNE: "Non renseigné", NON_COMMUNIQUE: "Non communiqué", **(extra or {})}

    def label(slug: str) -> str:
        return vocabulary.label(slug) if slug in vocabulary else extras.get(slug, slug)

    return label


@dataclass(frozen=True)
class Labels:
    """Names of things the vocabularies do not know (lieux, communes, partners)."""

    lieu: Labeller = str
    commune: Labeller = str
    partenaire: Labeller = str


def figures(
    combo: Combo,
    du: date,
    au: date,
    par_mois: list[tuple[str, int]],
    nouveaux_suivis: int,
    labels: Labels,
) -> dict[str, Any]:
    """Every figure of SPEC §5 in the JSON shape of SPEC §10."""
    c = combo.counters
    n = c.get("n", 0)
    by_type = {t: 0 for t in vocab.TYPES_ACTIVITE}
    for key in ("individuel", "demarche", "collectif"):
        by_type[key] = c.get(f"ty:{key}", 0)
    anonymes = c.get("an", 0)
    return {
        "periode": {"du": du.isoformat(), "au": au.isoformat()},
        "accompagnements": {"total": n, **by_type},
        "ateliers": c.get("at", 0),
        "beneficiaires": {
            "total": len(combo.suivis) + anonymes,
            "suivis": len(combo.suivis),
            "anonymes": anonymes,
            "nouveaux": nouveaux_suivis + c.get("anv", 0),
        },
        "par_mois": [{"mois": m, "accompagnements": v} for m, v in par_mois],
        **_distributions(c, n, labels),
    }


def _distributions(c: Counter[str], n: int, labels: Labels) -> dict[str, list[dict[str, Any]]]:
    person = vocab_label(vocab.GENRES)
    return {
        "thematiques": distribution(c, "th", vocab_label(vocab.THEMATIQUES), vocab.THEMATIQUES, n),
        "thematiques_demarche": distribution(
            c, "td", vocab_label(vocab.THEMATIQUES_DEMARCHE), vocab.THEMATIQUES_DEMARCHE, n
        ),
        "materiel": distribution(c, "ma", vocab_label(vocab.MATERIEL), vocab.MATERIEL, n),
        "canaux": distribution(c, "ca", vocab_label(vocab.CANAUX), vocab.CANAUX),
        "durees": distribution(c, "du", vocab_label(vocab.BANDES_DUREE), vocab.BANDES_DUREE),
        "lieux": distribution(c, "li", labels.lieu),
        "communes": distribution(c, "co", labels.commune),
        "autonomie": distribution(
            c, "au", vocab_label(vocab.AUTONOMIE), (*vocab.AUTONOMIE, NON_RENSEIGNE)
        ),
        "redirections": distribution(
            c, "re", vocab_label(vocab.STRUCTURES_REDIRECTION), vocab.STRUCTURES_REDIRECTION
        ),
        "partenaires": distribution(c, "pa", labels.partenaire),
        "genres": distribution(c, "ge", person, vocab.GENRES),
        "tranches_age": distribution(c, "tr", vocab_label(vocab.TRANCHES_AGE), vocab.TRANCHES_AGE),
        "statuts": distribution(c, "st", vocab_label(vocab.STATUTS), vocab.STATUTS),
        "communes_residence": distribution(
            c, "cr", lambda k: "Non communiqué" if k == NON_COMMUNIQUE else labels.commune(k)
        ),
    }
