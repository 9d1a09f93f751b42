"""The E4 query DSL subset of spec B5, as pure functions over product views.

Supported: `bool` (must, filter, must_not, should), `match`, `term`, `terms`,
`exists`, `match_all`; dotted paths; `sort`; `from`/`size`. Anything else is
a `QueryError` (400), so a client never gets silently wrong results from a
clause the sandbox ignored. Like Elasticsearch, which backs the real Gateway,
`from + size` may not exceed a result window of 10,000.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SIZE = 10
MAX_SIZE = 100
MAX_RESULT_WINDOW = 10_000
TEXT_FIELDS = frozenset({"name", "desc", "brief"})
LEAVES = frozenset({"match", "term", "terms", "exists", "match_all", "bool"})
BOOL_CLAUSES = frozenset({"must", "filter", "must_not", "should"})
_MISSING = object()

Predicate = Callable[[dict[str, Any]], bool]


class QueryError(ValueError):
    """The DSL is malformed or uses something this subset does not support."""


@dataclass(frozen=True)
class SortKey:
    path: str
    descending: bool


@dataclass(frozen=True)
class Search:
    query: dict[str, Any]
    sort: tuple[SortKey, ...]
    start: int
    size: int
    predicate: Predicate = field(compare=False, repr=False, default=lambda doc: True)


# -- parsing ---------------------------------------------------------------

def parse_search(dsl: Any) -> Search:
    """Validate a `dsl` object; raise QueryError with a message for the client."""
    if not isinstance(dsl, dict):
        raise QueryError("dsl must be an object")
    unknown = set(dsl) - {"query", "sort", "from", "size"}
    if unknown:
        raise QueryError(f"unsupported dsl keys: {', '.join(sorted(unknown))}")
    query = dsl.get("query", {"match_all": {}})
    predicate = compile_query(query)
    start = _count(dsl.get("from", 0), "from")
    size = _count(dsl.get("size", DEFAULT_SIZE), "size")
    if size > MAX_SIZE:
        raise QueryError(f"size must be at most {MAX_SIZE}, got {size}")
    if start + size > MAX_RESULT_WINDOW:
        raise QueryError(
            f"result window too large: from + size must be at most {MAX_RESULT_WINDOW}, "
            f"got {start + size}; narrow the query (for example by a timestamps.created range "
            f"of terms or a sort boundary) instead of paging deeper"
        )
    return Search(query=query, sort=parse_sort(dsl.get("sort", [])), start=start, size=size,
                  predicate=predicate)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryError(f"{name} must be a non-negative integer")
    return value


def parse_sort(sort: Any) -> tuple[SortKey, ...]:
    """`[{"field": "asc"}]`, `[{"field": {"order": "desc"}}]`, `"field"` or a list of these."""
    items = sort if isinstance(sort, list) else [sort]
    keys = []
    for item in items:
        if isinstance(item, str):
            keys.append(SortKey(item, False))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise QueryError("each sort entry must be a field name or {field: order}")
        (path, order), = item.items()
        if isinstance(order, dict):
            order = order.get("order", "asc")
        if order not in ("asc", "desc"):
            raise QueryError(f"sort order of {path} must be asc or desc")
        keys.append(SortKey(path, order == "desc"))
    return tuple(keys)


def compile_query(query: Any) -> Predicate:
    """Validate a query and turn it into a predicate, once per search rather than per document."""
    kind, body = _single(query)
    if kind == "bool":
        return _compile_bool(body)
    if kind == "exists":
        if not isinstance(body, dict) or not isinstance(body.get("field"), str) or len(body) != 1:
            raise QueryError('exists takes {"field": "<path>"}')
        path = body["field"]
        return lambda doc: bool(values_at(doc, path))
    if kind == "match_all":
        if body not in ({}, None):
            raise QueryError("match_all takes an empty object")
        return lambda doc: True
    path, value = _field_value(kind, body)
    if kind == "match" and path in TEXT_FIELDS:
        words = str(value).casefold().split()
        return lambda doc: _text_contains(values_at(doc, path), words)
    wanted = value if kind == "terms" else [value]
    return lambda doc: any(_equal(have, want) for have in values_at(doc, path) for want in wanted)


def _compile_bool(body: Any) -> Predicate:
    if not isinstance(body, dict) or set(body) - BOOL_CLAUSES:
        raise QueryError("bool supports must, filter, must_not and should only")
    required = [compile_query(c) for c in _clauses(body.get("must", [])) + _clauses(body.get("filter", []))]
    excluded = [compile_query(c) for c in _clauses(body.get("must_not", []))]
    should = [compile_query(c) for c in _clauses(body.get("should", []))]

    def test(doc: dict[str, Any]) -> bool:
        return (all(p(doc) for p in required) and not any(p(doc) for p in excluded)
                and (not should or any(p(doc) for p in should)))

    return test


def check_query(query: Any) -> None:
    """Raise QueryError for any malformed or unsupported clause."""
    compile_query(query)


def _single(query: Any) -> tuple[str, Any]:
    if not isinstance(query, dict) or len(query) != 1:
        raise QueryError("each query must be an object with exactly one key")
    (kind, body), = query.items()
    if kind not in LEAVES:
        raise QueryError(f"unsupported query: {kind}")
    return kind, body


def _clauses(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _field_value(kind: str, body: Any) -> tuple[str, Any]:
    if not isinstance(body, dict) or len(body) != 1:
        raise QueryError(f"{kind} takes exactly one field")
    (path, value), = body.items()
    if isinstance(value, dict):  # long form {"field": {"query"|"value": x}}
        value = value.get("query", value.get("value", _MISSING))
    if kind == "terms":
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
            raise QueryError(f"terms on {path} takes a list of values")
    elif value is _MISSING or isinstance(value, (dict, list)):
        raise QueryError(f"{kind} on {path} takes a single value")
    return path, value


# -- matching --------------------------------------------------------------

def values_at(doc: Any, path: str) -> list[Any]:
    """Every value at a dotted path; arrays are flattened like Elasticsearch does."""
    value = doc
    parts = path.split(".")
    for index, part in enumerate(parts):
        if isinstance(value, list):  # rare: fan out over the array's elements
            return _values_in(value, parts[index:])
        if not isinstance(value, dict) or part not in value:
            return []
        value = value[part]
    if isinstance(value, list):
        return [v for v in _flatten(value) if v is not None]
    return [] if value is None else [value]


def _values_in(values: list[Any], parts: list[str]) -> list[Any]:
    current = _flatten(values)
    for part in parts:
        current = _flatten(v[part] for v in current if isinstance(v, dict) and part in v)
    return [v for v in current if v is not None]


def _flatten(values: Iterable[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def matches(query: dict[str, Any], doc: dict[str, Any]) -> bool:
    return compile_query(query)(doc)


def _equal(have: Any, want: Any) -> bool:
    # Exact and type-aware: "3" never equals 3, and True never equals 1.
    if isinstance(have, bool) or isinstance(want, bool):
        return type(have) is type(want) and have == want
    return have == want


def _text_contains(found: list[Any], words: list[str]) -> bool:
    texts = [str(text).casefold() for text in found]
    return bool(texts) and all(any(word in text for text in texts) for word in words)


# -- sorting and paging ----------------------------------------------------

def _sort_value(doc: dict[str, Any], key: SortKey) -> Any:
    values = [v for v in values_at(doc, key.path) if not isinstance(v, dict)]
    if not values:
        return _MISSING
    ranked = [_rank(v) for v in values]
    return max(ranked) if key.descending else min(ranked)  # Elasticsearch's array rule


def _rank(value: Any) -> tuple[int, Any]:
    """Makes mixed types comparable: numbers, then strings, then anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, json.dumps(value, sort_keys=True))


def sort_docs(docs: list[dict[str, Any]], keys: tuple[SortKey, ...]) -> list[dict[str, Any]]:
    """Stable multi-key sort; missing values last in either order; guid breaks ties."""
    ordered = sorted(docs, key=lambda d: str(d.get("guid", "")))
    for key in reversed(keys):
        pairs = [(_sort_value(doc, key), doc) for doc in ordered]
        present = [pair for pair in pairs if pair[0] is not _MISSING]
        missing = [doc for value, doc in pairs if value is _MISSING]
        present.sort(key=lambda pair: pair[0], reverse=key.descending)
        ordered = [doc for _, doc in present] + missing
    return ordered


def sorted_hits(docs: Iterable[dict[str, Any]], search: Search) -> list[dict[str, Any]]:
    """Every matching document in result order (callers may cache this for paging)."""
    return sort_docs([doc for doc in docs if search.predicate(doc)], search.sort)


def page_of(hits: list[dict[str, Any]], search: Search) -> tuple[list[dict[str, Any]], int]:
    return hits[search.start:search.start + search.size], len(hits)


def run_search(docs: Iterable[dict[str, Any]], search: Search) -> tuple[list[dict[str, Any]], int]:
    """One page of the matching documents and the total number of matches."""
    return page_of(sorted_hits(docs, search), search)


def search(docs: Iterable[dict[str, Any]], dsl: Any) -> tuple[list[dict[str, Any]], int]:
    return run_search(docs, parse_search(dsl))
