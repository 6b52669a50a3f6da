"""French communes reference: lookup by INSEE code and accent-insensitive search-as-you-type.

The data file is built by `infra/build_communes.py` (`make assets`). Pure Python: no AWS, no web.

Search design (~35k communes, well under 1 ms per query):
- Every commune gets an id equal to its rank by population (largest first, then name): sorting a
  set of ids is then sorting by "most likely the one the user means", entirely in C.
- Name keys: each normalised word of the name, plus the whole name without separators
  ("lhaylesroses"), so that "l hay", "lhay" and "l'Haÿ" all work. Keys live in one sorted list; a
  typed word is a prefix, found with two bisects, which yields a contiguous slice of ids.
- Postal codes are a second sorted list searched the same way.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "communes.json.gz"

# Nobody types a commune name this long (the longest is 45 characters); longer input is noise, and
# capping it bounds the work a single request can cause.
MAX_QUERY_LENGTH = 100
MIN_POSTAL_PREFIX = 2
# Below this many candidates, a typed word is checked against each candidate's own keys.
FEW_CANDIDATES = 64
# Abbreviations people type for the very common "Saint-"/"Sainte-" prefix.
ABBREVIATIONS = {"st": "saint", "ste": "sainte"}
# Ligatures that NFKD does not decompose ("Œuilly", "Lœuilley").
LIGATURES = (("œ", "oe"), ("æ", "ae"))
# NFKD splits "é" into "e" + U+0301; French diacritics are all in this block.
COMBINING_MARKS = re.compile("[\u0300-\u036f]")
# Line breaks survive so that many names can be normalised at once (see `_words_of_all`).
SEPARATORS = re.compile(r"[^\w\n]+")
# Sorts after any character of a key: `prefix + END` bounds the keys that start with prefix.
END = "\U0010ffff"


@dataclass(frozen=True)
class Commune:
    insee: str
    nom: str
    codes_postaux: tuple[str, ...]
    departement: str

    @property
    def libelle(self) -> str:
        """Label shown in forms: "Lyon 3e Arrondissement (69003)"."""
        if not self.codes_postaux:
            return self.nom
        return f"{self.nom} ({self.codes_postaux[0]})"


def words(text: str) -> list[str]:
    """Lower-case, accent-free words; hyphens, apostrophes and punctuation all separate words."""
    return _plain(text).split()


def _plain(text: str) -> str:
    # Whole-string C operations only (no per-character Python, not even str.translate).
    text = text.lower()
    for ligature, letters in LIGATURES:
        text = text.replace(ligature, letters)
    text = COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))
    return SEPARATORS.sub(" ", text).replace("_", " ")


def _words_of_all(names: list[str]) -> list[list[str]]:
    """`words` of every name, in one pass over one big string: C loops instead of 35k calls
    (this runs at cold start)."""
    if any("\n" in name for name in names):
        raise ValueError("a commune name contains a line break")
    return [line.split() for line in _plain("\n".join(names)).split("\n")]


def _prefix_slice(keys: list[str], ids: list[int], prefix: str) -> list[int]:
    return ids[bisect_left(keys, prefix) : bisect_right(keys, prefix + END)]


def _exact_slice(keys: list[str], ids: list[int], key: str) -> list[int]:
    return ids[bisect_left(keys, key) : bisect_right(keys, key)]


class CommuneIndex:
    """In-memory index over rows `[insee, nom, [codes postaux], departement, population?]`."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        # Rows are kept as they are and become `Commune`s only when returned: creating 35k
        # objects nobody asked for would double the cold-start cost.
        given = list(rows)
        name_words = _words_of_all([str(row[1]) for row in given])
        compact = ["".join(ws) for ws in name_words]
        # A commune's id is its rank: most populated first, then by name (see module docstring).
        # Two stable sorts on precomputed keys, because a Python key function is slower.
        order = sorted(range(len(given)), key=compact.__getitem__)
        order.sort(key=[-_population(row) for row in given].__getitem__)
        self._rows = [given[i] for i in order]
        self._by_insee = {str(row[0]): rank for rank, row in enumerate(self._rows)}
        # A name's keys: its words and the whole name without separators.
        self._keys_of = [[*name_words[i], compact[i]] for i in order]
        self._name_keys, self._name_ids = _sorted_index(
            [key for keys in self._keys_of for key in keys],
            [rank for rank, keys in enumerate(self._keys_of) for _ in keys],
        )
        self._compact_keys, self._compact_ids = _sorted_index(
            [compact[i] for i in order], list(range(len(order)))
        )
        self._postal_keys, self._postal_ids = _sorted_index(
            [str(code) for row in self._rows for code in row[2]],
            [rank for rank, row in enumerate(self._rows) for _ in row[2]],
        )

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Commune]:
        return (_commune(row) for row in self._rows)

    def __contains__(self, insee: object) -> bool:
        return isinstance(insee, str) and insee in self._by_insee

    def get(self, insee: str) -> Commune | None:
        i = self._by_insee.get(insee)
        return None if i is None else _commune(self._rows[i])

    def search(self, q: str, limit: int = 10) -> list[Commune]:
        """Communes matching what a user typed: a name, a postal code (prefix) or an INSEE code.

        Order for a name: exact INSEE code, exact name, names starting with the query, other
        matches. For digits: exact postal code, exact INSEE code, postal codes starting with them.
        Within a group, the most populated commune first.
        """
        q = q[:MAX_QUERY_LENGTH].strip()
        if not q or limit <= 0:
            return []
        insee_id = self._by_insee.get(q.upper())
        by_insee = [] if insee_id is None else [insee_id]
        if q.isascii() and q.isdigit():
            # Mediators type postal codes far more often than INSEE codes, and the two overlap
            # ("69003" is Lyon 3e's postal code and Albigny-sur-Saône's INSEE code).
            exact, prefixed = self._search_postal(q)
            ranked = exact + by_insee + prefixed
        else:
            ranked = by_insee + self._search_name(words(q), limit)
        return [_commune(self._rows[i]) for i in _first_unique(ranked, limit)]

    def _search_postal(self, q: str) -> tuple[list[int], list[int]]:
        """Ids with exactly this postal code, and ids with a postal code that starts with it."""
        if len(q) < MIN_POSTAL_PREFIX:
            return [], []
        exact = set(_exact_slice(self._postal_keys, self._postal_ids, q))
        prefixed = set(_prefix_slice(self._postal_keys, self._postal_ids, q)) - exact
        # With an exact code, the commune that has fewer codes is the more precise answer
        # ("69003" is Lyon 3e Arrondissement before Lyon itself).
        exact_ranked = sorted(exact, key=lambda i: (len(self._rows[i][2]), i))
        return exact_ranked, sorted(prefixed)

    def _search_name(self, typed: list[str], limit: int) -> list[int]:
        """Exact name, then names starting with the query, then names where every typed word
        starts a word. Spacing is free: "saintetienne" and "l hay" match as whole-name prefixes."""
        if not typed:
            return []
        exact: set[int] = set()
        starting: set[int] = set()
        for compact in _compact_variants(typed):
            exact.update(_exact_slice(self._compact_keys, self._compact_ids, compact))
            starting.update(_prefix_slice(self._compact_keys, self._compact_ids, compact))
        ranked = sorted(exact) + sorted(starting - exact)
        if len(ranked) >= limit:
            # Broad queries ("s", "saint") stop here: word matching would only add lower ranks.
            return ranked
        return ranked + sorted(self._matching_all_words(typed) - starting)

    def _matching_all_words(self, typed: list[str]) -> set[int]:
        """Ids whose name has, for every typed word, a word (or the whole name) starting with it."""
        # Rarest word first (two bisects count its keys) so the candidates shrink fast; once few
        # remain, checking their own keys beats materialising a large slice ("saint loup s").
        ordered = sorted(set(typed), key=self._count_keys_starting)
        result = self._matching_word(ordered[0])
        for word in ordered[1:]:
            if not result:
                break
            if len(result) <= FEW_CANDIDATES:
                result = {i for i in result if self._has_word_starting(i, word)}
            else:
                result &= self._matching_word(word)
        return result

    def _count_keys_starting(self, word: str) -> int:
        keys = self._name_keys
        return bisect_right(keys, word + END) - bisect_left(keys, word)

    def _matching_word(self, word: str) -> set[int]:
        found: set[int] = set()
        for prefix in _prefixes(word):
            found.update(_prefix_slice(self._name_keys, self._name_ids, prefix))
        if _is_postal_prefix(word):
            # "Lyon 3e Arrondissement (69003)", the label itself, typed or pasted back, must match.
            found.update(_prefix_slice(self._postal_keys, self._postal_ids, word))
        return found

    def _has_word_starting(self, i: int, word: str) -> bool:
        """Same rule as `_matching_word`, for one commune."""
        prefixes = _prefixes(word)
        if any(key.startswith(prefixes) for key in self._keys_of[i]):
            return True
        return _is_postal_prefix(word) and any(code.startswith(word) for code in self._rows[i][2])


def _prefixes(word: str) -> tuple[str, ...]:
    expanded = ABBREVIATIONS.get(word)
    return (word,) if expanded is None else (word, expanded)


def _is_postal_prefix(word: str) -> bool:
    return word.isascii() and word.isdigit() and len(word) >= MIN_POSTAL_PREFIX


def _commune(row: Sequence[Any]) -> Commune:
    """A data row `[insee, nom, [codes postaux], departement, population?]` as a Commune."""
    insee, nom, codes_postaux, departement = row[0], row[1], row[2], row[3]
    return Commune(str(insee), str(nom), tuple(map(str, codes_postaux)), str(departement))


def _population(row: Sequence[Any]) -> int:
    return int(row[4]) if len(row) > 4 else 0


def _sorted_index(keys: list[str], ids: list[int]) -> tuple[list[str], list[int]]:
    """Keys sorted for bisect, with their ids alongside (ascending ids for equal keys)."""
    # Sorting positions by key compares strings only, much faster than sorting (key, id) tuples;
    # the sort is stable and ids come ascending, so equal keys keep ascending ids.
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [keys[j] for j in order], [ids[j] for j in order]


def _compact_variants(typed: list[str]) -> set[str]:
    """The query as a whole-name prefix, as typed and with "st"/"ste" spelled out."""
    expanded = [ABBREVIATIONS.get(word, word) for word in typed]
    return {"".join(typed), "".join(expanded)}


def _first_unique(ids: Iterable[int], limit: int) -> list[int]:
    """The first `limit` distinct ids: an INSEE match may also match by name or postal code."""
    seen: set[int] = set()
    first: list[int] = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            first.append(i)
            if len(first) == limit:
                break
    return first


@lru_cache(maxsize=4)
def load_index(path: Path | None = None) -> CommuneIndex:
    """The communes index, read from the built data file on first use (never at import)."""
    source = path or DATA_FILE
    try:
        raw = gzip.decompress(source.read_bytes())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"communes reference {source} is missing: run `make assets` to build it"
        ) from None
    document = json.loads(raw)
    return CommuneIndex(document["rows"])


class CommuneReference(Protocol):
    """What the rules and pages ask of the reference (`CommuneIndex` and `Communes` both are)."""

    def __contains__(self, insee: object) -> bool: ...
    def get(self, insee: str) -> Commune | None: ...
    def search(self, q: str, limit: int = 10) -> list[Commune]: ...


class Communes:
    """The reference, loaded on first use: a request that never looks a commune up never pays
    for reading it (about 100 ms of a cold start)."""

    def __init__(self, load: Callable[[], CommuneIndex] = load_index) -> None:
        self._load = load

    def index(self) -> CommuneIndex:
        return self._load()

    def __contains__(self, insee: object) -> bool:
        return insee in self.index()

    def get(self, insee: str) -> Commune | None:
        return self.index().get(insee)

    def search(self, q: str, limit: int = 10) -> list[Commune]:
        return self.index().search(q, limit=limit)

    def nom(self, insee: str | None) -> str | None:
        """The commune's name, or None for no code or an unknown one."""
        found = self.get(insee) if insee else None
        return found.nom if found else None
