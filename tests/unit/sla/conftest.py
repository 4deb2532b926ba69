"""Fixtures of the SLA tests: the shipped policies, a calendar, Chinese for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import i18n
from app.sla.calendar import WorkCalendar
from app.sla.contracts import changzhou_policy, zhanjiang_policy
from app.sla.policy import Policy


@pytest.fixture
def zh() -> Iterator[None]:
    """Simplified Chinese for the test, English again afterwards."""
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


@pytest.fixture(autouse=True)
def _english() -> None:
    i18n.set_language("en")


@pytest.fixture(scope="session")
def calendar() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture(scope="session")
def policies() -> dict[str, Policy]:
    return {"cz": changzhou_policy(), "zj": zhanjiang_policy()}
