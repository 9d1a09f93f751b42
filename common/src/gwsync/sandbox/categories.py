"""The marketplace category tree the sandbox seeds (spec Appendix A, B10).

Categories belong to the marketplace, not to a shop, so they share one fixed
owner. Their guids are uuid5 of a fixed namespace and the full path, so the
same name under two parents gives two tags and every sandbox database agrees
on every guid.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Fixed, made-up identities of the sandbox marketplace (never real ones).
MARKETPLACE_ORG = uuid.UUID("c544ad23-ad63-40d1-a3d7-b7b8a29d7eb6")
CATEGORY_NAMESPACE = uuid.UUID("1d626d93-1df0-4be9-b02f-a7cac0c884e4")
PATH_SEPARATOR = " > "

# Every path of Appendix A, spelling and case as there.
APPENDIX_A_PATHS: tuple[str, ...] = (
    "Akcesoria > Inne",
    "Art. Spożywcze > Spożywcze",
    "Bielizna",
    "Dom i ogród > Kuchnia i jadalnia",
    "Dziecko > Akcesoria",
    "Dziecko > Zabawki",
    "Inne artykuły > Upominki",
    "Kobieta > Akcesoria > Biżuteria",
    "Kobieta > Akcesoria > Czapki i kapelusze",
    "Kobieta > Akcesoria > Inne",
    "Kobieta > Akcesoria > Okulary",
    "Kobieta > Akcesoria > Paski",
    "Kobieta > Akcesoria > Portfele i etui",
    "Kobieta > Akcesoria > Rękawiczki",
    "Kobieta > Akcesoria > Szaliki i chusty",
    "Kobieta > Akcesoria > Torebki",
    "Kobieta > Akcesoria > Zegarki",
    "Kobieta > Obuwie > Kozaki",
    "Kobieta > Obuwie > Obuwie na obcasie",
    "Kobieta > Obuwie > Obuwie na płaskiej podeszwie",
    "Kobieta > Obuwie > Obuwie sportowe",
    "Kobieta > Odzież > Bielizna i piżamy",
    "Kobieta > Odzież > Jeansy",
    "Kobieta > Odzież > Kombinezony",
    "Kobieta > Odzież > Koszule",
    "Kobieta > Odzież > Marynarki",
    "Kobieta > Odzież > Odzież sportowa",
    "Kobieta > Odzież > Odzież wierzchnia",
    "Kobieta > Odzież > Spodnie i spodenki",
    "Kobieta > Odzież > Spódnice",
    "Kobieta > Odzież > Sukienki",
    "Kobieta > Odzież > Swetry i bluzy",
    "Kobieta > Odzież > T-shirty i topy",
    "Multimedia > Akcesoria",
    "Mężczyzna > Akcesoria > Akcesoria garniturowe",
    "Mężczyzna > Akcesoria > Okulary",
    "Mężczyzna > Akcesoria > Paski",
    "Mężczyzna > Akcesoria > Portfele i etui",
    "Mężczyzna > Akcesoria > Zegarki",
    "Mężczyzna > Odzież > Bielizna",
    "Mężczyzna > Odzież > Garnitury",
    "Mężczyzna > Odzież > Koszule",
    "Mężczyzna > Odzież > Marynarki",
    "Mężczyzna > Odzież > Spodnie i spodenki",
    "Mężczyzna > Odzież > Swetry i bluzy",
    "Ogólne",
    "Sport > Odzież",
    "Sport > Odzież > Damska",
)


@dataclass(frozen=True)
class CategoryNode:
    guid: str
    name: str
    parent_guid: str  # a root is its own parent, as in the recorded root tag
    path: str


def category_guid(path: str) -> str:
    return str(uuid.uuid5(CATEGORY_NAMESPACE, path))


def split_path(path: str) -> list[str]:
    return [part.strip() for part in path.split(">") if part.strip()]


def category_nodes(paths: tuple[str, ...] = APPENDIX_A_PATHS) -> list[CategoryNode]:
    """Every node of the tree, intermediate ones included, parents before children."""
    nodes: dict[str, CategoryNode] = {}
    for path in paths:
        parts = split_path(path)
        parent: str | None = None
        for depth in range(1, len(parts) + 1):
            full = PATH_SEPARATOR.join(parts[:depth])
            if full not in nodes:
                guid = category_guid(full)
                nodes[full] = CategoryNode(guid, parts[depth - 1], parent or guid, full)
            parent = nodes[full].guid
    return list(nodes.values())
