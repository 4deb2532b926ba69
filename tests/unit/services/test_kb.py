"""The knowledge base service: articles, versions and diffs, images, uses, canned answers, synonyms and
search through a real SQLite database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from app import i18n
from app.context import AppContext
from app.errors import ValidationError
from app.search import kb as search
from app.services import kb, kb_index, tickets
from app.storage.models import KbArticle, KbArticleVersion, KbImage, KbLink, OutboxOp
from tests.helpers.factories import BASE_TIME, Record, Refs

NOW = BASE_TIME + dt.timedelta(hours=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

Make = Callable[..., str]


@pytest.fixture
def make(ctx: AppContext) -> Make:
    def create(title: str = "票据核销失败", **fields: Any) -> str:
        data = kb.ArticleInput(title=title, **{"symptom": "核销时报错", "status": "published", **fields})
        with ctx.uow() as uow:
            return kb.create_article(uow, data, "张工", NOW).id

    return create


def titles(ctx: AppContext, text: str, **filters: Any) -> list[str]:
    with ctx.db.session() as session:
        return [hit.title for hit in kb.search_articles(session, text, search.KbFilters(**filters))]


def test_an_article_is_found_by_its_words_as_typed(ctx: AppContext, make: Make) -> None:
    make("票据核销失败怎么办", symptom="核销时提示 ORA-12541：TNS 无监听程序", tags=["核销", "Oracle"])
    make("ＵＫｅｙ证书过期", symptom="开票时提示证书过期", solution="更换证书")
    make("工资银行代发文件被退回", symptom="银行回盘失败 E1003")
    assert titles(ctx, "核销") == ["票据核销失败怎么办"]
    assert titles(ctx, "核") == ["票据核销失败怎么办"]  # one character
    assert titles(ctx, "ORA-12541") == ["票据核销失败怎么办"]
    assert titles(ctx, "ora") == ["票据核销失败怎么办"]  # as you type
    assert titles(ctx, "ukey") == ["ＵＫｅｙ证书过期"]  # full-width and case folded
    assert titles(ctx, "e1003") == ["工资银行代发文件被退回"]
    assert titles(ctx, "hx") == ["票据核销失败怎么办"]  # pinyin initials of 核销
    assert titles(ctx, "yhdf") == ["工资银行代发文件被退回"]  # 银行 read yín háng
    assert titles(ctx, "oracle") == ["票据核销失败怎么办"]  # a tag


@pytest.mark.parametrize(
    "hostile",
    ['"', '""', "*", "-", "AND", "OR NOT", "(核销", "核销)", "NEAR(a b)", "title:核销",
     "'; DROP TABLE kb_articles; --", "^核", "{title}: x", "\\", "\x00", "核" * 2000, "a" * 5000,
     "　", "😀", "[]", "+-*/"],
)  # fmt: skip
def test_whatever_is_typed_is_text(ctx: AppContext, make: Make, hostile: str) -> None:
    make()
    with ctx.db.session() as session:
        kb.search_articles(session, hostile)
        kb.search_everything(session, hostile)
        kb.suggestions(session, hostile, None)
    assert titles(ctx, "核销") == ["票据核销失败"]  # and nothing was harmed


def test_synonyms_find_each_other(ctx: AppContext, make: Make) -> None:
    make("UKey 无法识别", symptom="插入后没有反应")
    make("U盘 驱动安装", symptom="U盘插上后提示安装驱动")
    assert titles(ctx, "优盘") == []
    with ctx.uow() as uow:
        kb.save_synonyms(uow, None, "优盘 = U盘，UKey")
    assert sorted(titles(ctx, "优盘")) == ["UKey 无法识别", "U盘 驱动安装"]
    assert sorted(titles(ctx, "ukey")) == ["UKey 无法识别", "U盘 驱动安装"]
    assert titles(ctx, "keyboard") == []  # a member is a whole word, not part of one
    with pytest.raises(ValidationError), ctx.uow() as uow:
        kb.save_synonyms(uow, None, "优盘")


def test_filters_and_statuses(ctx: AppContext, make: Make, refs: Refs) -> None:
    cz, zj = refs.sites["changzhou"], refs.sites["zhanjiang"]
    system = refs.systems[Refs.ZJ_BILLS]
    make("湛江核销流程", site_id=zj, system_id=system, module_id=refs.modules[(Refs.ZJ_BILLS, "核销销毁")],
         kind="guide", tags=["核销"])  # fmt: skip
    make("常州核销说明", site_id=cz)
    make("通用核销提示")  # every site
    make("核销草稿", status="draft")
    make("核销旧文", status="archived")
    assert sorted(titles(ctx, "核销", site_id=zj)) == ["核销草稿", "湛江核销流程", "通用核销提示"]
    assert titles(ctx, "核销", system_id=system) == ["湛江核销流程"]
    assert titles(ctx, "核销", article_type="guide") == ["湛江核销流程"]
    assert titles(ctx, "", tag="核销") == ["湛江核销流程"]
    assert "核销旧文" not in titles(ctx, "核销")
    assert titles(ctx, "核销", statuses=("archived",)) == ["核销旧文"]
    with ctx.db.session() as session:
        shown = [h.title for h in kb.suggestions(session, "核销", zj)]
    assert "核销草稿" not in shown and "湛江核销流程" in shown and "常州核销说明" not in shown


def test_a_moved_or_archived_article_follows_the_filters_at_once(
    ctx: AppContext, make: Make, refs: Refs
) -> None:
    cz, zj = refs.sites["changzhou"], refs.sites["zhanjiang"]
    article = make("核销流程", site_id=cz)
    assert titles(ctx, "核销", site_id=cz) == ["核销流程"] and titles(ctx, "", site_id=zj) == []
    with ctx.uow() as uow:
        kb.save_article(
            uow, article, kb.ArticleInput(title="核销流程", symptom="核销时报错", site_id=zj), "张工", NOW
        )
    assert titles(ctx, "核销", site_id=cz) == [] and titles(ctx, "核销", site_id=zj) == ["核销流程"]
    with ctx.uow() as uow:
        kb.set_status(uow, article, "archived", "张工", NOW)
    assert titles(ctx, "核销", site_id=zj) == []
    assert titles(ctx, "核销", site_id=zj, statuses=("archived",)) == ["核销流程"]
    with ctx.db.session() as session:
        assert (
            search.count(session.connection(), None, search.KbFilters(site_id=zj, statuses=("archived",)))
            == 1
        )


def test_a_title_match_ranks_before_a_body_match_and_snippets_mark_the_words(
    ctx: AppContext, make: Make
) -> None:
    make("打印模板错位", symptom="票据打印时内容偏移，提示冲红失败的情况很少")
    make("冲红失败", symptom="冲红时提示已入账")
    with ctx.db.session() as session:
        hits = kb.search_articles(session, "冲红")
    assert [h.title for h in hits] == ["冲红失败", "打印模板错位"]
    assert hits[0].snippet.text() == "【冲红】时提示已入账"
    assert "【冲红】失败的情况很少" in hits[1].snippet.text()


def test_a_sentence_finds_the_article_holding_most_of_it(ctx: AppContext, make: Make) -> None:
    make("UKey 证书过期", symptom="开票提示证书过期", solution="更换证书")
    make("密码重置", symptom="忘记密码")
    with ctx.db.session() as session:
        shown = kb.suggestions(session, "开票的时候提示证书过期了怎么办", None)
    assert shown[0].title == "UKey 证书过期"
    assert shown[0].snippet.text() == "【开票提示证书过期】"  # the pieces of the question it holds


def test_versions_keep_every_save_and_diff_line_by_line(ctx: AppContext, make: Make) -> None:
    i18n.set_language("zh_CN")
    article_id = make("冲红失败", solution="第一步\n第二步\n第三步")
    edited = kb.ArticleInput(
        title="冲红失败的处理", symptom="核销时报错", solution="第一步\n第二步改\n第三步", status="published"
    )
    with ctx.uow() as uow:
        assert kb.save_article(uow, article_id, edited, "李工", NOW + dt.timedelta(minutes=5)) is not None
    with ctx.uow() as uow:  # saving the same again is no new version
        assert kb.save_article(uow, article_id, edited, "李工", NOW + dt.timedelta(minutes=6)) is None
    with ctx.db.session() as session:
        history = kb.versions(session, article_id)
    assert [(v.number, v.saved_by) for v in history] == [(1, "张工"), (2, "李工")]
    diffs = kb.diff_versions(history[0].fields, history[1].fields)
    assert [(d.label, d.lines) for d in diffs] == [
        ("标题", (("-", "冲红失败"), ("+", "冲红失败的处理"))),
        ("解决办法", ((" ", "第一步"), ("-", "第二步"), ("+", "第二步改"), (" ", "第三步"))),
    ]
    assert titles(ctx, "处理") == ["冲红失败的处理"]  # the index follows the edit


def test_bad_input_is_refused_with_every_problem_and_nothing_saved(ctx: AppContext) -> None:
    i18n.set_language("zh_CN")
    with pytest.raises(ValidationError) as caught, ctx.uow() as uow:
        kb.create_article(uow, kb.ArticleInput(title=" ", kind="x", status="y"), "张工", NOW)
    assert set(caught.value.fields) == {"title", "solution", "kind", "status"}
    assert caught.value.fields["title"] == "请输入标题。"
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(KbArticle)) == 0
        assert (
            session.scalar(
                select(func.count()).select_from(OutboxOp).where(OutboxOp.table_name == "kb_articles")
            )
            == 0
        )
        assert kb.search_articles(session, "") == []


def test_images_are_kept_when_referenced(ctx: AppContext) -> None:
    kept, dropped = (
        kb.NewImage("01a00000-0000-7000-8000-000000000001", "image/png", PNG),
        kb.NewImage("01a00000-0000-7000-8000-000000000002", "image/png", PNG),
    )
    data = kb.ArticleInput(title="截图", solution=f"如图 ![](kbimg:{kept.id})", status="published")
    with ctx.uow() as uow:
        article_id = kb.create_article(uow, data, "张工", NOW, images=[kept, dropped]).id
    with ctx.db.session() as session:
        assert kb.images_of(session, article_id) == {kept.id: ("image/png", PNG)}
        assert session.scalar(select(func.count()).select_from(KbImage)) == 1
    assert titles(ctx, "kbimg") == []  # image references are not words
    with pytest.raises(ValidationError), ctx.uow() as uow:
        kb.create_article(uow, data, "张工", NOW, images=[kb.NewImage(kept.id, "image/bmp", PNG)])


def test_uses_are_counted_from_calls_and_from_call_to_article(
    ctx: AppContext, make: Make, record: Record
) -> None:
    article_id = make("电子票据无法打印")
    from app.services import calls

    with ctx.uow() as uow:
        call = calls.record_call(uow, calls_input(record, ctx), articles=[article_id, article_id])
    with ctx.db.session() as session:
        assert kb.uses(session, [article_id]) == {article_id: 1}
        assert [a.id for a in kb.linked_articles(session, call_id=call.id)] == [article_id]
        prefilled = kb.input_from_call(session, call.id)
    assert prefilled.symptom == call.question and prefilled.solution == call.answer
    assert prefilled.system_id == call.system_id and prefilled.status == "draft"
    with ctx.uow() as uow:
        made = kb.create_article(uow, prefilled, "张工", NOW, call_id=call.id)
    with ctx.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(KbLink).where(KbLink.article_id == made.id)) == 1
        )


def calls_input(record: Record, ctx: AppContext) -> Any:
    from app.services import calls

    first = record()
    with ctx.db.session() as session:
        saved = calls.get_call(session, first.id)
        assert saved is not None
        return calls.input_from_call(saved)


def test_search_everything_finds_tickets_and_earlier_calls(
    ctx: AppContext, make: Make, record: Record, refs: Refs
) -> None:
    make("打印控件更新")
    record(question="电子票据开具后无法打印，控件报错", answer="更新打印控件")
    with ctx.uow() as uow:
        ticket = tickets.create_ticket(
            uow,
            tickets.TicketInput(
                site_id=refs.sites["changzhou"], title="打印控件批量报错", description="多个单位反映"
            ),
            "张工",
            NOW,
        )
    with ctx.db.session() as session:
        found = kb.search_everything(session, "控件")
    assert [a.title for a in found.articles] == ["打印控件更新"]
    assert [t.number for t in found.tickets] == [ticket.number]
    assert [c.snippet.text() for c in found.calls] == ["电子票据开具后无法打印，【控件】报错"]
    record(question="开票失败", answer="已重新安装签章控件")  # the word only in the answer
    with ctx.db.session() as session:
        shown = [c.snippet.text() for c in kb.search_everything(session, "签章控件").calls]
    assert shown == ["已重新安装【签章控件】"]  # the answer, marked, not the question without a mark
    with ctx.db.session() as session:
        assert [t.id for t in kb.search_everything(session, ticket.number[-4:]).tickets] == [ticket.id]


@pytest.mark.parametrize(
    ("typed", "deferred"),
    [
        ("控", True),  # one character of a word
        ("控件", False),
        ("打印 控", True),  # the word being typed is one character
        ("ORA-1", True),  # the 1 of the code: every token starting with 1 (phone numbers)
        ("ORA-12", True),  # two digits: every token starting with 12
        ("ORA-125", False),
        ("13", True),  # two digits
        ("138", False),
        ("u", True),
        ("uk", False),
        ("E1003", False),
    ],
)
def test_as_you_type_the_earlier_calls_wait_for_a_longer_word(
    ctx: AppContext, record: Record, typed: str, deferred: bool
) -> None:
    record(question="ORA-12541 控件报错 UKey 13800138000 E1003", answer="更新打印控件")
    with ctx.db.session() as session:
        typing = kb.search_everything(session, typed, as_you_type=True)
        whole = kb.search_everything(session, typed)  # the command line: what was asked, whole
    assert typing.calls_deferred is deferred
    assert len(whole.calls) == 1 and not whole.calls_deferred
    assert len(typing.calls) == (0 if deferred else 1)


def test_deleted_articles_leave_the_index_and_a_rebuild_gives_the_same_answers(
    ctx: AppContext, make: Make
) -> None:
    gone = make("核销一")
    make("核销二")
    with ctx.uow() as uow:
        kb.delete_article(uow, gone)
    assert titles(ctx, "核销") == ["核销二"]
    with ctx.uow() as uow:
        assert kb_index.rebuild(uow.session)
        uow.commit()
    assert titles(ctx, "核销") == ["核销二"]
    with ctx.db.session() as session:
        assert not kb_index.needs_rebuild(session)
        assert session.scalar(select(func.count()).select_from(KbArticleVersion)) == 2


def test_a_stale_index_is_rebuilt_whole_and_a_cancelled_rebuild_keeps_the_old_one(
    ctx: AppContext, make: Make
) -> None:
    make("票据核销失败")
    with ctx.db.session() as session:
        assert not kb_index.needs_rebuild(session)  # kept current by every save
    with ctx.uow() as uow:  # an app version that indexes differently: the stored version differs
        uow.session.execute(
            text("UPDATE local_meta SET value = 'old' WHERE key = :key"), {"key": kb_index.VERSION_KEY}
        )
        uow.commit()
    steps: list[tuple[int, int]] = []
    assert not kb_index.rebuild_database(ctx.db, lambda d, t: steps.append((d, t)), lambda: True)
    with ctx.db.session() as session:
        assert kb_index.needs_rebuild(session)  # cancelled: still to do at the next start
    assert titles(ctx, "核销") == ["票据核销失败"]  # and the old index still answers
    assert kb_index.rebuild_database(ctx.db, lambda d, t: steps.append((d, t)))
    assert steps == [(1, 1)]
    with ctx.db.session() as session:
        assert not kb_index.needs_rebuild(session)
    assert titles(ctx, "hx") == ["票据核销失败"]


def test_canned_answers_by_abbreviation_and_words(ctx: AppContext, refs: Refs) -> None:
    i18n.set_language("zh_CN")
    cz = refs.sites["changzhou"]
    with ctx.uow() as uow:
        kb.save_canned(uow, None, "重启浏览器", "请关闭所有浏览器窗口后重新打开。", "cq", None)
    with ctx.uow() as uow:
        kb.save_canned(uow, None, "常州热线", "常州热线电话 0519-xxxx", "rx", cz)
    with ctx.db.session() as session:
        assert kb.canned_by_abbreviation(session, "CQ", cz).title == "重启浏览器"  # type: ignore[union-attr]
        assert [c.title for c in kb.list_canned(session, refs.sites["zhanjiang"])] == ["重启浏览器"]
        assert [c.title for c in kb.list_canned(session, cz, "热线")] == ["常州热线"]
    with pytest.raises(ValidationError) as caught, ctx.uow() as uow:
        kb.save_canned(uow, None, "另一个", "文字", "cq", cz)
    assert caught.value.fields["abbreviation"] == "“cq”已是“重启浏览器”的缩写。"
