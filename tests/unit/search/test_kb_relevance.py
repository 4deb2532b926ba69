"""Relevance of the knowledge-base search on a fixture of realistic articles (tests/fixtures/kb): each
query lists the articles a good search returns in its top 3. Prints precision and recall at 3."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from app.context import AppContext
from app.services import kb
from tests.helpers.factories import BASE_TIME, Refs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kb"
TOP = 3


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def library(ctx: AppContext, refs: Refs) -> dict[str, str]:
    """The fixture articles saved through the service; their fixture key by article id."""
    keys: dict[str, str] = {}
    with ctx.uow() as uow:
        for words in load("synonyms.json"):
            kb.save_synonyms(uow, None, " = ".join(words))
    for item in load("articles.json"):
        system_id = refs.systems.get(item["system"]) if item["system"] else None
        module_id = refs.modules.get((item["system"], item["module"])) if item["module"] else None
        data = kb.ArticleInput(
            title=item["title"],
            symptom=item["symptom"],
            cause=item["cause"],
            solution=item["solution"],
            site_id=refs.sites[item["site"]] if item["site"] else None,
            system_id=system_id,
            module_id=module_id,
            tags=item["tags"],
            kind=item["type"],
            status=item["status"],
        )
        with ctx.uow() as uow:
            keys[kb.create_article(uow, data, "张工", BASE_TIME + dt.timedelta(days=1)).id] = item["key"]
    return keys


def test_fixture_is_big_enough() -> None:
    assert len(load("articles.json")) >= 50
    assert len(load("queries.json")) >= 30


@pytest.mark.parametrize("as_you_type", [False, True], ids=["asked", "as-you-type"])
def test_queries_find_their_articles_in_the_top_3(
    ctx: AppContext, library: dict[str, str], as_you_type: bool
) -> None:
    """Asked whole (the command line) and as the page searches while typing (a one-character word in
    the titles only): both find what a good search finds."""
    queries = load("queries.json")
    precision: list[float] = []
    recall: list[float] = []
    misses: list[str] = []
    with ctx.db.session() as session:
        for case in queries:
            hits = kb.search_articles(session, case["query"], limit=TOP, as_you_type=as_you_type)
            top = [library[hit.id] for hit in hits]
            relevant = set(case["relevant"])
            found = relevant.intersection(top)
            precision.append(len(found) / max(1, min(TOP, len(top))) if top else 0.0)
            recall.append(len(found) / len(relevant))
            if found != relevant:
                misses.append(f"{case['query']!r}: want {sorted(relevant)}, got {top}")
    mean_p = sum(precision) / len(precision)
    mean_r = sum(recall) / len(recall)
    print(
        f"\nknowledge-base relevance ({'as you type' if as_you_type else 'asked'}), {len(queries)} queries: "
        f"precision@3 {mean_p:.2f}, recall@3 {mean_r:.2f}"
    )
    for miss in misses:
        print("  missed", miss)
    assert mean_r >= 0.95, misses
    assert len(misses) <= len(queries) // 10, misses
