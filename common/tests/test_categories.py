import uuid

import pytest
from gwsync.categories import CategoryMap, CategoryResolver, CategoryTree
from gwsync.errors import ConfigError


def tags(*paths):
    made, out = {}, []
    for path in paths:
        parent = None
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            if key not in made:
                guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(key)))
                made[key] = guid
                out.append({"guid": guid, "name": key[-1], "parent_guid": parent or guid})
            parent = made[key]
    return out, made


def test_tree_resolves_full_paths_only_even_with_repeated_names():
    raw, made = tags(("Kobieta", "Akcesoria", "Paski"), ("Mężczyzna", "Akcesoria", "Paski"))
    tree = CategoryTree(raw)
    chain = tree.chain(("Mężczyzna", "Akcesoria", "Paski"))
    assert chain == [made[("Mężczyzna", "Akcesoria", "Paski")], made[("Mężczyzna", "Akcesoria")],
                     made[("Mężczyzna",)]]
    assert tree.chain(("Paski",)) is None


def test_mapping_file_is_validated_with_every_error_at_once(tmp_path):
    raw, _ = tags(("Dom i ogród", "Kuchnia i jadalnia"))
    path = tmp_path / "map.csv"
    path.write_text("source;gateway\nHome > Mugs;Dom i ogród > Kuchnia i jadalnia\n"
                    "Toys;Dziecko > Zabawki\nGarden;Ogród\n", encoding="utf-8")
    mapping = CategoryMap.load(path)
    with pytest.raises(ConfigError) as err:
        mapping.validate(CategoryTree(raw))
    assert "Dziecko > Zabawki" in str(err.value) and "Ogród" in str(err.value)


def test_resolver_uses_mapping_then_direct_path(tmp_path):
    raw, made = tags(("Dom i ogród", "Kuchnia i jadalnia"), ("Ogólne",))
    path = tmp_path / "map.csv"
    path.write_text("Home > Mugs,Dom i ogród > Kuchnia i jadalnia\n", encoding="utf-8")
    resolver = CategoryResolver(CategoryTree(raw), CategoryMap.load(path))
    assert resolver.tag_guids(("Home", "Mugs"))[0] == made[("Dom i ogród", "Kuchnia i jadalnia")]
    assert resolver.tag_guids(("Ogólne",)) == [made[("Ogólne",)]]
    assert resolver.tag_guids(("Unknown",)) is None


def test_unreadable_mapping_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="GATEWAY_CATEGORY_MAP"):
        CategoryMap.load(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("only-one-column\n")
    with pytest.raises(ConfigError, match="line 1"):
        CategoryMap.load(bad)
