"""Case 5: searching one's beneficiaries (search index `IDX#<mediator>`).

A mediator with 5 000 people and one with 500, among 20 other mediators with 500 people each
(their index entries share the table). The same 1–3 word searches — as typed at the desk: a
surname, the start of one, "prénom nom", "nom prénom", a name and a commune — are run for both:
the DynamoDB items the search reads (index entries + the people read back) must not grow with
the number of people, and the in-process request GET /api/beneficiaires?q= stays fast.
"""

from __future__ import annotations

import random
import time
import unicodedata
from typing import Any

from bench import seed
from bench.common import Result, dynamodb_meter, percentile

OTHERS = 20
PER_OTHER = 500
QUERIES = 120


def _plain(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def queries(people: list[Any], rnd: random.Random) -> list[str]:
    """What is typed at the desk to find one of one's own people: 1 to 3 words."""
    found = []
    for person in rnd.sample(people, QUERIES):
        prenom, nom = person.data.prenom, person.data.nom
        form = rnd.randrange(5)
        if form == 0:
            found.append(nom)
        elif form == 1:
            found.append(_plain(nom)[: max(4, len(nom) - 2)])  # typing not finished
        elif form == 2:
            found.append(f"{prenom} {nom}")
        elif form == 3:
            found.append(f"{_plain(nom)} {_plain(prenom)}")
        else:
            found.append(f"{prenom} {nom} {rnd.choice(('Lyon', 'Marseille', 'Paris'))}")
    return found


def _items_read(container: Any, mediateur_id: str, searches: list[str]) -> tuple[int, int]:
    meter = dynamodb_meter()
    total = found = 0
    for q in searches:
        with meter.counting():
            found += len(container.beneficiaries.search(mediateur_id, q).items)
        total += meter.items_read
    return total, found


def search_cases(container: Any, browser: Any, rnd: random.Random) -> list[Result]:
    big_id = browser.api("GET", "/api/moi").json()["id"]
    started = time.perf_counter()
    big_people = seed.seed_people(container, big_id, 5_000, rnd)
    small = seed.new_mediator(container, "search500")
    small_people = seed.seed_people(container, small.id, 500, rnd)
    for n in range(OTHERS):
        other = seed.new_mediator(container, f"other{n}")
        seed.seed_people(container, other.id, PER_OTHER, rnd)
    seeded = time.perf_counter() - started
    searches = queries(big_people, rnd)
    big_items, big_found = _items_read(container, big_id, searches)
    small_items, small_found = _items_read(container, small.id, queries(small_people, rnd))
    durations = []
    for q in searches * 2:
        started = time.perf_counter()
        page = browser.api("GET", "/api/beneficiaires?" + _query(q))
        durations.append(time.perf_counter() - started)
        assert page.status == 200, page.status
    raw = {
        "searches": len(searches),
        "items_read_5k": big_items,
        "items_read_500": small_items,
        "items_read_per_search_5k": round(big_items / len(searches), 1),
        "items_read_per_search_500": round(small_items / len(searches), 1),
        "people_found_5k": big_found,
        "people_found_500": small_found,
        "seed_s": round(seeded, 1),
    }
    return [
        Result(
            "search_items_read_ratio_5k_vs_500",
            big_items / max(1, small_items),
            "×",
            "<= 1.5",
            raw,
        ),
        Result(
            "beneficiary_search_p95_ms_5k",
            percentile(durations, 95) * 1000,
            "ms",
            "<= 150",
            {
                "requests": len(durations),
                "p50_ms": round(percentile(durations, 50) * 1000, 1),
                "p95_ms": round(percentile(durations, 95) * 1000, 1),
            },
        ),
    ]


def _query(q: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": q})
