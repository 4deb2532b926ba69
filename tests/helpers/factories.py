"""Building blocks for tests that need calls: seeded reference ids and a fixed start time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from app.services.calls import CallInput
from app.storage.models import Call

CST = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time, no tzdata needed
BASE_TIME = dt.datetime(2026, 3, 2, 9, 30, tzinfo=CST)

MakeInput = Callable[..., CallInput]  # make_input(site="changzhou", **overrides) -> CallInput
Record = Callable[..., Call]  # record(site="changzhou", **overrides) -> the saved Call


@dataclass(frozen=True)
class Refs:
    """Ids of the seeded reference data, by name."""

    sites: dict[str, str]  # site code -> id
    area_codes: dict[str, str]  # site code -> area code
    systems: dict[str, str]  # system name -> id
    modules: dict[tuple[str, str], str]  # (system name, module name) -> id
    categories: dict[str, str]  # category name -> id

    ZJ_BILLS = "财政票据管理系统"
    CZ_EBILLS = "财政电子票据"
