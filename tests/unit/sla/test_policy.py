"""app.sla.policy and app.sla.contracts: the model, rule matching, JSON round trip and its messages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.sla.calendar import WorkCalendar
from app.sla.contracts import changzhou_policy, default_policies, zhanjiang_policy
from app.sla.policy import (
    Anchor,
    CallbackRule,
    Counting,
    Policy,
    PolicyError,
    Rule,
    Target,
    TargetKind,
    Threshold,
    TimeWindow,
)
from tests.unit.sla.moments import sh

# A third contract, written as the JSON a supervisor would store: no code needed for it.
THIRD_CONTRACT: dict[str, Any] = {
    "format": 1,
    "site": "demo",
    "name": "示例合同（工作时间计时）",
    "working_hours": ["08:00-18:00"],
    "severities": [{"key": "general", "name": "一般"}, {"key": "major", "name": "重大"}],
    "rules": [
        {
            "name": "咨询",
            "severities": [],
            "categories": ["咨询"],
            "window": "any",
            "targets": [
                {"kind": "response", "minutes": 240, "counting": "business", "anchor": "reported"},
            ],
        },
        {
            "name": "故障",
            "severities": [],
            "categories": [],
            "window": "any",
            "targets": [
                {
                    "kind": "response",
                    "minutes": 120,
                    "counting": "business",
                    "anchor": "reported",
                    "pausable": False,
                },
                {"kind": "resolution", "minutes": 240, "counting": "business", "anchor": "reported"},
            ],
        },
    ],
    "callback": {"minutes": 60, "counting": "business", "window": "outside_working_hours"},
    "warnings": {"percent_left": [50, 25], "minutes_left": [30]},
}


def target_of(rule: Rule, kind: TargetKind) -> Target:
    target = rule.target(kind)
    assert target is not None, f"rule {rule.name} has no {kind} target"
    return target


def rule_name(
    policy: Policy, severity: str, category: str | None, reported: str, calendar: WorkCalendar
) -> str:
    rule = policy.match(severity, category, sh(reported), calendar)
    return "(none)" if rule is None else rule.name


def test_the_shipped_contracts_say_what_the_documents_say() -> None:
    cz, zj = default_policies()
    assert (cz.site, zj.site) == ("changzhou", "zhanjiang")
    major, general = cz.rules
    assert [(t.kind, t.minutes, t.counting) for t in major.targets] == [
        (TargetKind.RESPONSE, 30, Counting.CLOCK),
        (TargetKind.RESOLUTION, 120, Counting.CLOCK),
    ]
    assert [(t.kind, t.minutes) for t in general.targets] == [
        (TargetKind.RESPONSE, 30),
        (TargetKind.RESOLUTION, 60),
    ]
    assert cz.callback == CallbackRule(30, Counting.CLOCK, TimeWindow.NON_WORKING_DAY)
    assert [(r.window, target_of(r, TargetKind.RESPONSE).minutes) for r in zj.rules] == [
        (TimeWindow.HOLIDAY, None),
        (TimeWindow.WORKING_HOURS, 60),
        (TimeWindow.OUTSIDE_WORKING_HOURS, 180),
    ]
    assert [
        (target_of(r, TargetKind.ON_SITE).minutes, target_of(r, TargetKind.ON_SITE).anchor) for r in zj.rules
    ] == [(480, Anchor.ON_SITE_DECISION)] * 3
    assert zj.callback is None
    assert [s.name for s in cz.severities] == ["一般", "重大"]


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("2026-03-06 10:00", "工作时间内报修"),
        ("2026-03-06 18:00", "其他时间报修"),
        ("2026-03-07 10:00", "其他时间报修"),  # Saturday
        ("2026-02-14 10:00", "工作时间内报修"),  # adjusted working Saturday
        ("2026-10-02 10:00", "法定节假日报修"),
        ("2026-10-04 10:00", "法定节假日报修"),  # Sunday inside National Day
    ],
)
def test_the_first_matching_rule_wins(calendar: WorkCalendar, reported: str, expected: str) -> None:
    assert rule_name(zhanjiang_policy(), "general", None, reported, calendar) == expected


def test_severity_and_category_select_rules(calendar: WorkCalendar) -> None:
    cz, third = changzhou_policy(), Policy.from_dict(THIRD_CONTRACT)
    assert rule_name(cz, "major", None, "2026-03-06 10:00", calendar) == "重大故障"
    assert rule_name(cz, "unknown", None, "2026-03-06 10:00", calendar) == "(none)"
    assert rule_name(third, "general", "咨询", "2026-03-06 10:00", calendar) == "咨询"
    assert rule_name(third, "general", "故障报修", "2026-03-06 10:00", calendar) == "故障"


@pytest.mark.parametrize("policy", [changzhou_policy(), zhanjiang_policy(), Policy.from_dict(THIRD_CONTRACT)])
def test_json_round_trip(policy: Policy) -> None:
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_json(policy.to_json()) == policy
    assert json.loads(policy.to_json())["format"] == 1


def test_json_form_of_by_agreement_and_defaults() -> None:
    data = zhanjiang_policy().to_dict()
    rules = data["rules"]
    assert isinstance(rules, list)
    assert rules[0]["targets"][0] == {
        "kind": "response",
        "minutes": None,
        "counting": "clock",
        "anchor": "reported",
        "pausable": False,
    }
    third = Policy.from_dict(THIRD_CONTRACT)
    # "pausable" left out: a resolution pauses, anything else does not
    assert target_of(third.rules[1], TargetKind.RESOLUTION).pausable is True
    assert target_of(third.rules[0], TargetKind.RESPONSE).pausable is False
    assert third.working_hours.texts() == ["08:00-18:00"]
    assert third.warnings.thresholds() == (
        Threshold("minutes", 30),
        Threshold("percent", 25),
        Threshold("percent", 50),
    )


def broken() -> dict[str, Any]:
    data = copy.deepcopy(THIRD_CONTRACT)
    data["name"] = " "
    data["working_hours"] = ["08:00-12:00", "11:00-18:00"]
    data["severities"].append({"key": "general", "name": "又一个一般"})
    data["rules"][0]["window"] = "weekends"
    data["rules"][0]["severities"] = ["urgent"]
    data["rules"][1]["targets"][0]["minutes"] = 0
    data["rules"][1]["targets"][1]["kind"] = "response"
    data["callback"] = {"minutes": "30", "counting": "clock", "window": "any"}
    del data["warnings"]["minutes_left"]
    return data


def test_invalid_policy_lists_every_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(broken())
    assert caught.value.message == "The service-level policy cannot be used."
    assert list(caught.value.problems) == [
        "Policy: “name” must be a non-empty text.",
        "Working hours: Working hours “11:00-18:00” overlap or are out of order.",
        "Severity 3: the key “general” is used twice.",
        "Rule 1: the severity “urgent” is not in the policy's list.",
        "Rule 1: “window” is “weekends”; it must be one of: any, working_hours, outside_working_hours, "
        "non_working_day, holiday.",
        "Rule 2, target 1: “minutes” must be a whole number from 1 to 527040.",
        "Call-back rule: “minutes” must be a whole number from 1 to 527040.",
        "Warning thresholds: “minutes_left” is missing.",
    ]
    assert caught.value.detail == "\n".join(caught.value.problems)


def test_duplicate_targets_and_wrong_shapes() -> None:
    data = copy.deepcopy(THIRD_CONTRACT)
    data["rules"][1]["targets"][1]["kind"] = "response"
    data["rules"][0]["targets"] = "response"
    data["severities"] = []
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    assert list(caught.value.problems) == [
        "Policy: at least one severity is needed.",
        "Rule 1: “targets” must be a list.",
        "Rule 2: the target “response” appears twice.",
    ]


def test_invalid_policy_in_chinese(zh: None) -> None:
    data = copy.deepcopy(THIRD_CONTRACT)
    data["rules"][1]["targets"][0]["minutes"] = -5
    del data["site"]
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    assert caught.value.message == "该服务时限规则无法使用。"
    assert list(caught.value.problems) == [
        "服务规则：缺少“site”。",
        "第 2 条规则的第 1 项时限：“minutes”必须是 1 到 527040 之间的整数。",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"format": 1, "site": ', "The policy is not valid JSON (line 1, column 23)."),
        ("[1, 2]", "The policy must be a JSON object."),
        ('{"format": 2}', "The policy was written by a newer version of Hotline Console (format 2)."),
        ('{"site": "x"}', "The policy has no known format number (“format”: 1)."),
    ],
)
def test_unusable_json_text(text: str, problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_json(text)
    assert caught.value.problems == (problem,)


def test_threshold_labels(zh: None) -> None:
    assert Threshold("percent", 25).label() == "剩余时间不足 25%"
    assert Threshold("minutes", 10).label() == "剩余不足 10 分钟"
    assert Threshold("minutes", 10).key == "minutes:10"
    assert TargetKind.ON_SITE.label() == "到达现场"
