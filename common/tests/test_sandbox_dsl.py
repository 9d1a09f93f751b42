"""The E4 query DSL subset (spec B5), as pure functions."""

from __future__ import annotations

import pytest
from gwsync.sandbox.dsl import MAX_RESULT_WINDOW, QueryError, matches, parse_search, search, values_at


def doc(guid: str, **fields) -> dict:
    return {"guid": guid, "owner_guid": "shop-1", **fields}


DOCS = [
    doc("a", name="Linen Shirt white", sku="LS-1", tag_guids=["t1", "t2"], stock_level=3,
        data={"source": {"platform": "shoper", "product_id": "32"}, "variants": {"size": "M"}},
        timestamps={"created": "2020-01-02"}),
    doc("b", name="Wool scarf", sku="WS-1", tag_guids=["t2"], stock_level=0, archived="2020-02-01",
        data={"source": {"platform": "shoper", "product_id": "33"}}, timestamps={"created": "2020-01-03"}),
    doc("c", name="Linen trousers", desc="<p>Made of LINEN</p>", sku=None, tag_guids=[], stock_level=7,
        data=None, timestamps={"created": "2020-01-01"}),
]


def guids(dsl: dict) -> list[str]:
    page, _ = search(DOCS, dsl)
    return [d["guid"] for d in page]


def test_text_match_is_case_insensitive_containment_of_every_word():
    assert guids({"query": {"match": {"name": "linen SHIRT"}}}) == ["a"]
    assert guids({"query": {"match": {"name": "lin"}}}) == ["a", "c"]
    assert guids({"query": {"match": {"desc": "linen made"}}}) == ["c"]
    assert guids({"query": {"match": {"name": "linen scarf"}}}) == []


def test_match_and_term_on_other_fields_are_exact_and_case_sensitive():
    assert guids({"query": {"match": {"sku": "LS-1"}}}) == ["a"]
    assert guids({"query": {"term": {"sku": "ls-1"}}}) == []
    assert guids({"query": {"term": {"data.source.product_id": "32"}}}) == ["a"]
    assert guids({"query": {"term": {"stock_level": "3"}}}) == []  # "3" is not 3
    assert guids({"query": {"term": {"stock_level": {"value": 3}}}}) == ["a"]


def test_array_field_matches_any_element_and_terms_any_value():
    assert guids({"query": {"term": {"tag_guids": "t2"}}}) == ["a", "b"]
    assert guids({"query": {"terms": {"sku": ["WS-1", "nope"]}}}) == ["b"]


def test_exists_treats_null_and_missing_alike():
    assert guids({"query": {"exists": {"field": "archived"}}}) == ["b"]
    assert guids({"query": {"exists": {"field": "sku"}}}) == ["a", "b"]
    assert guids({"query": {"exists": {"field": "data.variants.size"}}}) == ["a"]


def test_bool_must_filter_must_not_should():
    query = {"bool": {
        "must": [{"match": {"owner_guid": "shop-1"}}],
        "filter": {"term": {"data.source.platform": "shoper"}},
        "must_not": [{"exists": {"field": "archived"}}],
    }}
    assert guids({"query": query}) == ["a"]
    should = {"bool": {"should": [{"term": {"sku": "WS-1"}}, {"match": {"name": "trousers"}}]}}
    assert guids({"query": should}) == ["b", "c"]


def test_sort_any_field_with_guid_as_final_tie_breaker():
    dsl = {"sort": [{"timestamps.created": "desc"}], "size": 10}
    assert guids(dsl) == ["b", "a", "c"]
    assert guids({"sort": [{"stock_level": {"order": "asc"}}]}) == ["b", "a", "c"]
    tied = [doc("z", n=1), doc("y", n=1), doc("x", n=0)]
    page, _ = search(tied, {"sort": [{"n": "desc"}]})
    assert [d["guid"] for d in page] == ["y", "z", "x"]


def test_missing_sort_values_come_last_in_both_directions():
    assert guids({"sort": [{"sku": "asc"}]}) == ["a", "b", "c"]
    assert guids({"sort": [{"sku": "desc"}]}) == ["b", "a", "c"]


def test_paging_from_and_size_and_total():
    many = [doc(f"g{i:03}") for i in range(25)]
    page, total = search(many, {"from": 20, "size": 10, "sort": [{"guid": "asc"}]})
    assert total == 25
    assert [d["guid"] for d in page] == [f"g{i:03}" for i in range(20, 25)]
    page, _ = search(many, {})
    assert len(page) == 10  # size defaults to 10


def test_result_window_is_limited_like_elasticsearch():
    parse_search({"from": MAX_RESULT_WINDOW - 100, "size": 100})
    with pytest.raises(QueryError, match="result window"):
        parse_search({"from": MAX_RESULT_WINDOW - 99, "size": 100})


@pytest.mark.parametrize("dsl", [
    {"size": 101},
    {"from": -1},
    {"size": "10"},
    {"query": {"range": {"stock_level": {"gte": 1}}}},
    {"query": {"bool": {"must": [{"match": {"a": 1, "b": 2}}]}}},
    {"query": {"bool": {"minimum_should_match": 1}}},
    {"query": {"match": {"name": ["a"]}}},
    {"aggs": {}},
    {"sort": [{"name": "up"}]},
])
def test_unsupported_or_malformed_dsl_is_an_error(dsl):
    with pytest.raises(QueryError):
        parse_search(dsl)


def test_values_at_flattens_arrays_of_objects():
    assert values_at({"tags": [{"name": "A"}, {"name": "B"}]}, "tags.name") == ["A", "B"]
    assert matches({"match": {"tags.name": "B"}}, {"tags": [{"name": "A"}, {"name": "B"}]})
