"""The directory of units and contacts (app.services.directory)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.context import AppContext
from app.errors import ValidationError
from app.ids import uuid7
from app.phone import parse_phone
from app.services import calls, directory
from app.services.directory import ContactInput, OrganisationInput, PhoneEntry
from app.storage.models import Contact, ContactPhone, Organisation, OrgKind
from tests.helpers.factories import BASE_TIME, Record, Refs


def save_org(ctx: AppContext, name: str, **kwargs: object) -> Organisation:
    with ctx.uow() as uow:
        return directory.save_organisation(uow, OrganisationInput(name, **kwargs))  # type: ignore[arg-type]


def save_contact(ctx: AppContext, name: str, *phones: str, org: Organisation | None = None) -> Contact:
    with ctx.uow() as uow:
        return directory.save_contact(
            uow, ContactInput(name, org_id=org.id if org else None, phones=[PhoneEntry(p) for p in phones])
        )


def names(summaries: list[directory.ContactSummary]) -> list[str]:
    return [s.name for s in summaries]


# --- organisations --------------------------------------------------------------------------------


def test_create_and_update_an_organisation(ctx: AppContext, refs: Refs) -> None:
    org = save_org(ctx, "  常州市  第一中学 ", kind=OrgKind.BILL_UNIT.value, site_id=refs.sites["changzhou"])
    assert org.name == "常州市 第一中学"  # spaces tidied
    with ctx.uow() as uow:
        directory.save_organisation(
            uow, OrganisationInput("常州市第一中学", kind="nonsense", notes="票据领用单位"), org_id=org.id
        )
    with ctx.db.session() as session:
        stored = session.get(Organisation, org.id)
        assert stored is not None
        assert stored.name == "常州市第一中学"
        assert stored.kind == OrgKind.OTHER.value  # an unknown kind is not stored
        assert stored.notes == "票据领用单位"
        assert directory.find_organisation_by_name(session, " 常州市第一中学 ") is not None
        assert directory.find_organisation_by_name(session, "") is None


def test_organisation_name_is_required_and_bounded(ctx: AppContext) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        directory.save_organisation(uow, OrganisationInput("   "))
    assert "name" in info.value.fields
    with pytest.raises(ValidationError), ctx.uow() as uow:
        directory.save_organisation(uow, OrganisationInput("单" * 201))
    with ctx.db.session() as session:
        assert directory.search_organisations(session) == []


def test_search_organisations_by_name_and_site(ctx: AppContext, refs: Refs) -> None:
    save_org(ctx, "常州市第一中学", site_id=refs.sites["changzhou"])
    save_org(ctx, "湛江市第一中学", site_id=refs.sites["zhanjiang"])
    save_org(ctx, "省财政厅")  # no site: shown everywhere
    with ctx.db.session() as session:
        assert [o.name for o in directory.search_organisations(session, "第一中学")] == [
            "常州市第一中学",
            "湛江市第一中学",
        ]
        in_cz = directory.search_organisations(session, site_id=refs.sites["changzhou"])
        assert sorted(o.name for o in in_cz) == sorted(["常州市第一中学", "省财政厅"])


def test_merge_organisations(ctx: AppContext, record: Record) -> None:
    survivor = save_org(ctx, "常州市第一中学")
    with ctx.uow() as uow:
        duplicate = directory.save_organisation(uow, OrganisationInput("常州一中", notes="原名"))
    teacher = save_contact(ctx, "陈老师", "13812345678", org=duplicate)
    old_call = record(org_id=duplicate.id, unit_name="", started_at=BASE_TIME)
    new_call = record(org_id=survivor.id, unit_name="", started_at=BASE_TIME + dt.timedelta(hours=1))

    with ctx.uow() as uow:
        assert directory.merge_organisations(uow, survivor.id, [duplicate.id, survivor.id, "missing"]) == 1

    with ctx.db.session() as session:
        dup = session.get(Organisation, duplicate.id)
        assert dup is not None
        assert dup.deleted
        assert dup.merged_into == survivor.id
        kept = session.get(Organisation, survivor.id)
        assert kept is not None
        assert "原名" in kept.notes
        assert [o.name for o in directory.search_organisations(session, "常州")] == ["常州市第一中学"]
        moved = directory.get_contact(session, teacher.id)
        assert moved is not None
        assert moved.org_id == survivor.id
        assert moved.org_name == "常州市第一中学"
        # the calls stay as recorded, and filtering by the unit that was kept finds both
        assert calls.fetch_rows(session, [old_call.key])[old_call.key].unit_name == "常州一中"
        found = list(calls.search_keys(session, calls.CallQuery(org_id=survivor.id)))
        assert found == [new_call.key, old_call.key]
        assert calls.count_calls(session, calls.CallQuery(org_id=survivor.id)) == 2


def test_merging_into_a_missing_organisation_is_refused(ctx: AppContext) -> None:
    dup = save_org(ctx, "常州一中")
    with pytest.raises(ValidationError), ctx.uow() as uow:
        directory.merge_organisations(uow, "missing", [dup.id])


# --- contacts -------------------------------------------------------------------------------------


def test_create_a_contact_with_several_phones(ctx: AppContext) -> None:
    org = save_org(ctx, "常州市人民医院")
    contact = save_contact(ctx, "王会计", "0519-86661234", "139 1234 5678", "8021", "  ", org=org)
    with ctx.db.session() as session:
        summary = directory.get_contact(session, contact.id)
        phones = directory.contact_phones(session, contact.id)
    assert summary is not None
    assert summary.org_name == "常州市人民医院"
    assert sorted(summary.phones) == sorted(["0519-86661234", "139 1234 5678", "8021"])
    assert sorted(p.key for p in phones) == sorted(["+8651986661234", "+8613912345678", "int:8021"])


def test_update_a_contact_and_its_phones(ctx: AppContext) -> None:
    contact = save_contact(ctx, "王会计", "0519-86661234", "13912345678")
    with ctx.db.session() as session:
        mobile = next(p for p in directory.contact_phones(session, contact.id) if p.raw == "13912345678")
    with ctx.uow() as uow:
        directory.save_contact(
            uow,
            ContactInput(
                "王会计",
                title="主管会计",
                phones=[PhoneEntry("13912345678", "手机"), PhoneEntry("0519-86669999", "财务室")],
            ),
            contact_id=contact.id,
        )
    with ctx.db.session() as session:
        summary = directory.get_contact(session, contact.id)
        phones = {p.raw: p for p in directory.contact_phones(session, contact.id)}
        removed = session.scalars(
            select(ContactPhone).where(ContactPhone.contact_id == contact.id, ContactPhone.deleted.is_(True))
        ).all()
    assert summary is not None
    assert summary.title == "主管会计"
    assert set(phones) == {"13912345678", "0519-86669999"}
    assert phones["13912345678"].id == mobile.id  # kept, not replaced
    assert phones["13912345678"].label == "手机"
    assert phones["0519-86669999"].label == "财务室"
    assert [p.raw for p in removed] == ["0519-86661234"]  # a tombstone, not a physical delete


def test_contact_validation(ctx: AppContext) -> None:
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        directory.save_contact(uow, ContactInput(" "))
    assert "name" in info.value.fields
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        directory.save_contact(uow, ContactInput("王会计", org_id="missing-org"))
    assert "org" in info.value.fields
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        directory.save_contact(uow, ContactInput("王会计"), contact_id="missing-contact")
    assert "name" in info.value.fields
    with ctx.db.session() as session:
        assert directory.search_contacts(session) == []


@pytest.fixture
def people(ctx: AppContext) -> dict[str, Contact]:
    school = save_org(ctx, "常州市第一中学")
    bureau = save_org(ctx, "湛江市财政局国库科")
    return {
        "wang": save_contact(ctx, "王会计", "0519-86661234", org=school),
        "li": save_contact(ctx, "李出纳", "139 1234 5678", org=school),
        "zhao": save_contact(ctx, "赵科长", "0759-2221234", org=bureau),
        "pct": save_contact(ctx, "100%_负责人", "8021"),
    }


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("王", ["王会计"]),
        ("会计", ["王会计"]),
        ("第一中学", ["李出纳", "王会计"]),  # by unit
        ("国库", ["赵科长"]),
        ("8666", ["王会计"]),  # phone digits
        ("86661234", ["王会计"]),
        ("0519-86661234", ["王会计"]),  # the number as it was typed
        ("051986661234", ["王会计"]),
        ("13912345678", ["李出纳"]),
        ("1391234", ["李出纳"]),
        ("2221234", ["赵科长"]),
        ("", ["100%_负责人", "李出纳", "王会计", "赵科长"]),
        ("张三", []),
    ],
)
def test_search_contacts(
    ctx: AppContext, people: dict[str, Contact], needle: str, expected: list[str]
) -> None:
    with ctx.db.session() as session:
        assert sorted(names(directory.search_contacts(session, needle))) == sorted(expected)


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("%", ["100%_负责人"]),
        ("_", ["100%_负责人"]),
        ("%_", ["100%_负责人"]),
        ("0%", ["100%_负责人"]),
        ("\\", []),
    ],
)
def test_like_wildcards_in_search_text_are_literal(
    ctx: AppContext, people: dict[str, Contact], needle: str, expected: list[str]
) -> None:
    with ctx.db.session() as session:
        assert names(directory.search_contacts(session, needle)) == expected
        assert directory.search_organisations(session, "%") == []
        assert directory.search_organisations(session, "_") == []


def test_search_contacts_within_a_unit(ctx: AppContext, people: dict[str, Contact]) -> None:
    with ctx.db.session() as session:
        school_id = people["wang"].org_id
        assert sorted(names(directory.search_contacts(session, "", org_id=school_id))) == ["李出纳", "王会计"]


def test_lookup_by_phone_matches_the_number_however_typed(
    ctx: AppContext, people: dict[str, Contact]
) -> None:
    with ctx.db.session() as session:
        for typed in (
            "86661234",
            "8666 1234",
            "(0519)86661234",
            "+86 519 8666 1234",
            "０５１９－８６６６１２３４",
        ):
            found = directory.lookup_by_phone(session, parse_phone(typed, "0519").key)
            assert names(found) == ["王会计"], typed
        assert directory.lookup_by_phone(session, parse_phone("2221234", "0759").key)[0].name == "赵科长"
        assert directory.lookup_by_phone(session, "") == []


def test_merge_contacts(ctx: AppContext, record: Record) -> None:
    org = save_org(ctx, "常州市第一中学")
    survivor = save_contact(ctx, "王会计", "0519-86661234")
    with ctx.uow() as uow:
        duplicate = directory.save_contact(
            uow,
            ContactInput(
                "王 会计",
                org_id=org.id,
                notes="旧记录",
                phones=[PhoneEntry("86661234"), PhoneEntry("13912345678", "手机")],
            ),
        )
    with ctx.uow() as uow:
        assert directory.merge_contacts(uow, survivor.id, [duplicate.id]) == 1

    with ctx.db.session() as session:
        dup = session.get(Contact, duplicate.id)
        assert dup is not None
        assert dup.deleted
        assert dup.merged_into == survivor.id
        kept = directory.get_contact(session, survivor.id)
        assert kept is not None
        # the mobile moved over; the same office number typed differently is not doubled
        assert sorted(kept.phones) == sorted(["0519-86661234", "13912345678"])
        assert kept.org_id == org.id  # the survivor had no unit: it takes the duplicate's
        stored = session.get(Contact, survivor.id)
        assert stored is not None
        assert "旧记录" in stored.notes
        assert names(directory.lookup_by_phone(session, parse_phone("13912345678").key)) == ["王会计"]
        assert [c.id for c in directory.lookup_by_phone(session, parse_phone("13912345678").key)] == [
            survivor.id
        ]
        assert [c.id for c in directory.search_contacts(session, "王")] == [survivor.id]
        assert directory.merged_contact_ids(session, survivor.id) == [survivor.id, duplicate.id]


def test_a_chain_of_merges_resolves_to_the_last_survivor(ctx: AppContext) -> None:
    a = save_contact(ctx, "甲", "13900000001")
    b = save_contact(ctx, "乙", "13900000002")
    c = save_contact(ctx, "丙", "13900000003")
    with ctx.uow() as uow:
        directory.merge_contacts(uow, b.id, [a.id])
    with ctx.uow() as uow:
        directory.merge_contacts(uow, c.id, [b.id])
    with ctx.db.session() as session:
        assert sorted(directory.merged_contact_ids(session, c.id)) == sorted([a.id, b.id, c.id])
        for number in ("13900000001", "13900000002", "13900000003"):
            assert [s.id for s in directory.lookup_by_phone(session, parse_phone(number).key)] == [c.id]


def test_a_number_left_on_a_merged_contact_finds_the_survivor(ctx: AppContext) -> None:
    """Another desktop, not yet aware of the merge, gave the merged-away contact a new number; once
    both changes have synced, the number belongs to the survivor for the look-up and its history."""
    survivor = save_contact(ctx, "王会计", "13912345678")
    duplicate = save_contact(ctx, "王 会计")
    with ctx.uow() as uow:
        directory.merge_contacts(uow, survivor.id, [duplicate.id])
    with ctx.db.session() as session, session.begin():
        session.info["applying_remote"] = True  # as the sync applies a row from the server
        number = parse_phone("0519-86660000")
        session.add(ContactPhone(id=uuid7(), contact_id=duplicate.id, raw=number.display, key=number.key))
    with ctx.db.session() as session:
        found = directory.lookup_by_phone(session, parse_phone("0519-86660000").key)
        assert [s.id for s in found] == [survivor.id]
        assert found[0].phones == ("13912345678",)  # the survivor's own numbers


def test_crossed_merges_end_instead_of_looping(ctx: AppContext) -> None:
    """Two desktops offline merged A into B and B into A; once synced the chain is a cycle. The
    look-up must return (nothing live) rather than hang."""
    a = save_contact(ctx, "甲", "13900000001")
    b = save_contact(ctx, "乙", "13900000002")
    with ctx.db.session() as session, session.begin():
        session.info["applying_remote"] = True
        session.get(Contact, a.id).merged_into = b.id  # type: ignore[union-attr]
        session.get(Contact, b.id).merged_into = a.id  # type: ignore[union-attr]
    with ctx.db.session() as session:
        assert directory.lookup_by_phone(session, parse_phone("13900000001").key) == []
        assert sorted(directory.merged_contact_ids(session, a.id)) == sorted([a.id, b.id])


def test_merging_into_a_missing_contact_is_refused(ctx: AppContext) -> None:
    dup = save_contact(ctx, "王会计")
    with pytest.raises(ValidationError) as info, ctx.uow() as uow:
        directory.merge_contacts(uow, "missing", [dup.id])
    assert "survivor" in info.value.fields


def test_deleted_contact_is_no_longer_found(ctx: AppContext, people: dict[str, Contact]) -> None:
    with ctx.uow() as uow:
        directory.delete_contact(uow, people["wang"].id)
    with ctx.db.session() as session:
        assert "王会计" not in names(directory.search_contacts(session, ""))
        assert directory.lookup_by_phone(session, parse_phone("0519-86661234").key) == []
