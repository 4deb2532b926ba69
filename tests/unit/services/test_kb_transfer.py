"""Knowledge-base articles in and out of files (app.services.kb_transfer) through a real SQLite database:
a Markdown folder or a sheet read by app.importexport.kb_io, imported all-or-nothing, re-imported
without duplicates, exported and imported again into a fresh database."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.context import AppContext, open_context
from app.importexport.kb_io import (
    ArticleRecord,
    read_markdown_folder,
    read_xlsx,
    write_markdown_folder,
    write_xlsx,
)
from app.services import kb, kb_transfer
from app.storage.models import KbArticle, KbArticleVersion, KbImage, OutboxOp
from tests.helpers.factories import BASE_TIME, Refs
from tests.helpers.kb_files import UKEY_MD, fixture_records, png, ukey_folder

NOW = BASE_TIME + dt.timedelta(days=1)
LATER = NOW + dt.timedelta(hours=2)
FIELDS = (
    "title",
    "symptom",
    "cause",
    "solution",
    "site_id",
    "system_id",
    "module_id",
    "tags",
    "kind",
    "status",
)
_IMAGE_REF = re.compile(r"kbimg:([A-Za-z0-9_.-]+)")


def read(folder: Path) -> list[ArticleRecord]:
    found = read_markdown_folder(folder)
    assert found.problems == []
    return found.records


def run_import(ctx: AppContext, records: list[ArticleRecord], **options: Any) -> kb_transfer.KbImportResult:
    with ctx.uow() as uow:
        return kb_transfer.import_records(uow, records, "张工", options.pop("now", NOW), **options)


def count(ctx: AppContext, model: Any) -> int:
    """Rows of the model; for the outbox, those of the knowledge base (the seeded reference data has some)."""
    query = select(func.count()).select_from(model)
    if model is OutboxOp:
        query = query.where(OutboxOp.table_name.like("kb_%"))
    with ctx.db.session() as session:
        return int(session.scalar(query) or 0)


def index_rows(ctx: AppContext) -> int:
    with ctx.db.session() as session:
        return int(session.connection().exec_driver_sql("SELECT count(*) FROM kb_search").scalar() or 0)


def articles(ctx: AppContext) -> dict[str, dict[str, Any]]:
    """Every live article by title: its fields, image references as the pictures' hashes (ids differ
    between databases), and its pictures' hashes."""
    found: dict[str, dict[str, Any]] = {}
    with ctx.db.session() as session:
        for article in session.scalars(select(KbArticle).where(KbArticle.deleted.is_(False))):
            images = kb.images_of(session, article.id)
            digest = {i: hashlib.sha256(data).hexdigest() for i, (_mime, data) in images.items()}
            fields = {name: getattr(article, name) for name in FIELDS}
            for name in ("symptom", "cause", "solution"):
                fields[name] = _IMAGE_REF.sub(
                    lambda m, names=digest: "kbimg:" + names.get(m[1], m[1]), fields[name]
                )
            fields["images"] = sorted(digest.values())
            found[article.title] = fields
    return found


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[AppContext]:
    """A second, empty data folder (another computer)."""
    other = open_context(str(tmp_path / "other"))
    yield other
    other.close()


# --- importing ------------------------------------------------------------------------------------


def test_a_markdown_folder_with_a_picture_is_imported_and_found(
    ctx: AppContext, refs: Refs, tmp_path: Path
) -> None:
    result = run_import(ctx, read(ukey_folder(tmp_path)))
    assert (result.created, result.updated, result.unchanged, result.problems) == (2, 0, 0, [])
    assert result.saved
    with ctx.db.session() as session:
        hits = kb.search_articles(session, "ukey 证书")
        assert [h.title for h in hits] == ["UKey 插入后无法识别"]
        article = session.get(KbArticle, hits[0].id)
        assert article is not None
        assert article.site_id == refs.sites["changzhou"]
        assert article.system_id == refs.systems[Refs.CZ_EBILLS]
        assert article.module_id == refs.modules[(Refs.CZ_EBILLS, "票据开具")]
        assert (article.kind, article.status, article.tags) == ("fault", "published", "UKey,驱动")
        assert article.author == "张工"
        images = kb.images_of(session, article.id)
        assert [(mime, data) for mime, data in images.values()] == [("image/png", png())]
        (image_id,) = images
        assert f"![截图](kbimg:{image_id})" in article.symptom
        assert article.cause == "驱动版本过旧。"
        other = next(a for a in session.scalars(select(KbArticle)) if a.title == "密码重置")
        assert other.site_id is None  # no site in the file, none given: for every site
        assert other.solution == "忘记密码时请联系管理员重置。"
        queued = {
            table
            for (table,) in session.execute(select(OutboxOp.table_name).where(OutboxOp.row_id == article.id))
        }
        assert queued == {"kb_articles"}
        assert (
            session.scalar(select(func.count()).select_from(OutboxOp).where(OutboxOp.row_id == image_id)) == 1
        )
        assert len(kb.versions(session, article.id)) == 1


def test_a_record_without_a_site_gets_the_one_given(ctx: AppContext, refs: Refs) -> None:
    record = ArticleRecord(
        title="工资审核退回", symptom="审核时提示退回", system="工资统发系统", source="a.md"
    )
    result = run_import(ctx, [record], default_site_id=refs.sites["changzhou"])
    assert result.created == 1
    with ctx.db.session() as session:
        article = session.scalars(select(KbArticle)).one()
        assert (article.site_id, article.system_id) == (refs.sites["changzhou"], refs.systems["工资统发系统"])


def test_an_article_for_every_site_finds_its_system_at_whichever_site_has_it(
    ctx: AppContext, refs: Refs
) -> None:
    records = [
        ArticleRecord(
            title="核销说明", symptom="如何核销", system="财政票据管理系统", module="核销销毁", source="a.md"
        ),
        ArticleRecord(title="冲红说明", symptom="如何冲红", module="票据冲红", source="b.md"),
    ]
    assert run_import(ctx, records).created == 2
    with ctx.db.session() as session:
        found = {a.title: (a.site_id, a.system_id, a.module_id) for a in session.scalars(select(KbArticle))}
    assert found == {
        "核销说明": (None, refs.systems[Refs.ZJ_BILLS], refs.modules[(Refs.ZJ_BILLS, "核销销毁")]),
        "冲红说明": (None, refs.systems[Refs.CZ_EBILLS], refs.modules[(Refs.CZ_EBILLS, "票据冲红")]),
    }


def test_a_folder_with_one_bad_file_imports_nothing_and_names_the_file(
    ctx: AppContext, tmp_path: Path
) -> None:
    folder = ukey_folder(tmp_path)
    write_markdown_folder(fixture_records(), folder / "fixture")
    (folder / "fixture" / "坏文件.md").write_text(
        "---\n标题: 坏文章\n系统: 不存在的系统\n站点: changzhou\n---\n\n## 现象\n打不开\n", encoding="utf-8"
    )
    records = read(folder)
    assert len(records) == 66
    progress: list[tuple[int, int]] = []
    result = run_import(ctx, records, progress=lambda done, total: progress.append((done, total)))
    assert len(result.problems) == 1
    assert result.problems[0].startswith("fixture/坏文件.md")
    assert "不存在的系统" in result.problems[0]
    assert (result.created, result.updated, result.unchanged, result.saved) == (0, 0, 0, False)
    assert progress[-1] == (66, 66)
    assert count(ctx, KbArticle) == count(ctx, KbImage) == count(ctx, KbArticleVersion) == 0
    assert count(ctx, OutboxOp) == 0
    assert index_rows(ctx) == 0


def test_every_problem_names_its_record(ctx: AppContext, refs: Refs) -> None:
    big = png() + b"\x00" * kb.MAX_IMAGE_BYTES
    records = [
        ArticleRecord(title="好文章", symptom="正常", site="changzhou", source="good.md"),
        ArticleRecord(title="未知站点", symptom="x", site="南京", source="site.md"),
        ArticleRecord(title="模块不对", symptom="x", site="changzhou", system="工资统发系统",
                      module="票据开具", source="module.md"),
        ArticleRecord(title="类型不对", symptom="x", type="story", source="type.md"),
        ArticleRecord(title="空文章", source="empty.md"),
        ArticleRecord(title="T" * 201, symptom="x", source="long.md"),
        ArticleRecord(title="大图", symptom="![](kbimg:big)", images={"big": big}, source="big.md"),
        ArticleRecord(title="GIF 以外", symptom="![](kbimg:bmp)", images={"bmp": b"BM" + b"\x00" * 10},
                      source="bmp.md"),
        ArticleRecord(title="ＵＫｅｙ 说明", symptom="a", source="one.md"),
        ArticleRecord(title="ukey  说明", symptom="b", source="two.md"),
        ArticleRecord(title="没有模块", symptom="x", system="财政电子票据", module="不存在",
                      source="nomod.md"),
    ]  # fmt: skip
    result = run_import(ctx, records)
    by_source = {re.split("[:：]", p, maxsplit=1)[0] for p in result.problems}
    assert by_source == {
        "site.md", "module.md", "type.md", "empty.md", "long.md", "big.md", "bmp.md", "two.md", "nomod.md",
    }  # fmt: skip
    text = "\n".join(result.problems)
    assert "南京" in text and "票据开具" in text and "one.md" in text
    assert count(ctx, KbArticle) == 0


def test_reimporting_changes_nothing_and_an_edited_file_makes_a_new_version(
    ctx: AppContext, tmp_path: Path
) -> None:
    folder = ukey_folder(tmp_path)
    write_markdown_folder(fixture_records(), folder / "fixture")
    first = run_import(ctx, read(folder))
    assert (first.created, first.updated, first.unchanged) == (65, 0, 0)
    queued, images = count(ctx, OutboxOp), count(ctx, KbImage)

    again = run_import(ctx, read(folder), now=LATER)
    assert (again.created, again.updated, again.unchanged, again.problems) == (0, 0, 65, [])
    assert (count(ctx, KbArticle), count(ctx, KbImage), count(ctx, OutboxOp)) == (65, images, queued)

    ukey = folder / "ukey.md"
    ukey.write_text(UKEY_MD.replace("再拔插 UKey", "再拔插 UKey 并运行 KeyFix 工具"), encoding="utf-8")
    (folder / "images" / "shot.png").write_bytes(png(b"\x00\x00\xff"))  # a new screenshot
    edited = run_import(ctx, read(folder), now=LATER)
    assert (edited.created, edited.updated, edited.unchanged) == (0, 1, 64)
    with ctx.db.session() as session:
        article = next(a for a in session.scalars(select(KbArticle)) if a.title == "UKey 插入后无法识别")
        assert "KeyFix" in article.solution
        assert [v.number for v in kb.versions(session, article.id)] == [1, 2]
        (image_id,) = _IMAGE_REF.findall(article.symptom)
        assert kb.images_of(session, article.id)[image_id][1] == png(b"\x00\x00\xff")
        assert [h.title for h in kb.search_articles(session, "keyfix")] == ["UKey 插入后无法识别"]

    # the same title in another case and width is the same article
    ukey.write_text(
        UKEY_MD.replace("标题: UKey 插入后无法识别", "标题: ＵＫＥＹ 插入后无法识别"), encoding="utf-8"
    )
    renamed = run_import(ctx, read(folder), now=LATER)
    assert (renamed.created, renamed.updated) == (0, 1)
    assert count(ctx, KbArticle) == 65


def test_an_export_imports_into_a_fresh_database_as_equal_articles(
    ctx: AppContext, fresh: AppContext, tmp_path: Path
) -> None:
    assert run_import(ctx, fixture_records() + read(ukey_folder(tmp_path))).created == 65
    with ctx.db.session() as session:
        records = kb_transfer.export_records(session)
    assert len(records) == 65
    ukey = next(r for r in records if r.title == "UKey 插入后无法识别")
    assert list(ukey.images.values()) == [png()]
    assert f"kbimg:{next(iter(ukey.images))}" in ukey.symptom  # named by the image's id

    write_markdown_folder(records, tmp_path / "exported")
    result = run_import(fresh, read(tmp_path / "exported"))
    assert (result.created, result.problems) == (65, [])
    assert articles(fresh) == articles(ctx)

    # and the export of the import is the same again: re-importing it changes nothing
    with fresh.db.session() as session:
        write_markdown_folder(kb_transfer.export_records(session), tmp_path / "again")
    assert run_import(ctx, read(tmp_path / "again")).unchanged == 65


def test_an_xlsx_export_round_trips_into_a_fresh_database(
    ctx: AppContext, fresh: AppContext, tmp_path: Path
) -> None:
    assert run_import(ctx, fixture_records()).created == 63
    with ctx.db.session() as session:
        write_xlsx(kb_transfer.export_records(session), tmp_path / "kb.xlsx")
    sheet = read_xlsx(tmp_path / "kb.xlsx")
    assert sheet.problems == []
    result = run_import(fresh, sheet.records)
    assert (result.created, result.problems) == (63, [])
    assert articles(fresh) == articles(ctx)
    assert run_import(fresh, sheet.records).unchanged == 63


def test_export_leaves_out_deleted_articles_and_filters_by_site_and_status(
    ctx: AppContext, refs: Refs
) -> None:
    run_import(ctx, fixture_records())
    with ctx.uow() as uow:
        gone = uow.session.scalars(select(KbArticle).order_by(KbArticle.created_at)).first()
        assert gone is not None
        gone_title = gone.title
        kb.delete_article(uow, gone.id)
    with ctx.db.session() as session:
        everything = kb_transfer.export_records(session)
        zhanjiang = kb_transfer.export_records(session, refs.sites["zhanjiang"])
        drafts = kb_transfer.export_records(session, statuses=["draft", "archived"])
    assert len(everything) == 62 and gone_title not in {r.title for r in everything}
    assert {r.site for r in zhanjiang} == {"zhanjiang", ""}  # and those for every site
    assert len(drafts) == 5 and {r.status for r in drafts} == {"draft", "archived"}


def test_a_dry_run_checks_everything_and_writes_nothing(ctx: AppContext, tmp_path: Path) -> None:
    records = fixture_records() + read(ukey_folder(tmp_path))
    result = run_import(ctx, records, dry_run=True)
    assert (result.created, result.updated, result.unchanged, result.problems) == (65, 0, 0, [])
    assert result.dry_run and not result.saved
    assert count(ctx, KbArticle) == count(ctx, KbImage) == count(ctx, OutboxOp) == index_rows(ctx) == 0

    run_import(ctx, records[:10])
    queued = count(ctx, OutboxOp)
    records[0].solution += "\n\n补充说明。"
    result = run_import(ctx, records, dry_run=True)
    assert (result.created, result.updated, result.unchanged) == (55, 1, 9)
    assert (count(ctx, KbArticle), count(ctx, OutboxOp), count(ctx, KbArticleVersion)) == (10, queued, 10)


def test_a_cancelled_import_leaves_nothing(ctx: AppContext, tmp_path: Path) -> None:
    records = fixture_records() + read(ukey_folder(tmp_path))
    seen: list[int] = []

    def cancelled() -> bool:
        return len(seen) >= 20  # the user pressed Cancel after 20 articles

    result = run_import(ctx, records, progress=lambda done, total: seen.append(done), cancelled=cancelled)
    assert result.cancelled and not result.saved
    assert (result.checked, result.created) == (20, 0)
    assert count(ctx, KbArticle) == count(ctx, KbImage) == count(ctx, OutboxOp) == index_rows(ctx) == 0

    # cancelled after the last record, before the commit: nothing either
    result = run_import(ctx, records, cancelled=lambda: len(seen) >= 20 + len(records),
                        progress=lambda done, total: seen.append(done))  # fmt: skip
    assert result.cancelled and count(ctx, KbArticle) == 0
    assert run_import(ctx, records).created == 65


def test_a_naive_clock_is_refused(ctx: AppContext) -> None:
    with pytest.raises(ValueError, match="naive"):
        run_import(ctx, [], now=dt.datetime(2026, 3, 2, 9, 30))
