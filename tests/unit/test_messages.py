"""The message bridge (app.messages) and the test helper that watches it."""

from __future__ import annotations

import logging

import pytest

from app import messages
from app.messages import Level, Message
from tests.helpers.messagemock import MessageMock


def test_messages_reach_the_listener(message_mock: MessageMock) -> None:
    messages.info("已保存")
    messages.warning("服务器暂时无法连接，稍后自动重试")
    assert message_mock.texts(Level.INFO) == ["已保存"]
    assert message_mock.texts(Level.WARNING) == ["服务器暂时无法连接，稍后自动重试"]


def test_an_expected_error_is_claimed(message_mock: MessageMock) -> None:
    messages.error("数据库正忙")
    assert message_mock.getmsg(Level.ERROR) == Message(Level.ERROR, "数据库正忙")
    assert message_mock.unexpected_errors() == []


@pytest.mark.allow_warnings  # the bridge logs the error, and no message_mock is watching here
def test_an_unclaimed_error_is_unexpected() -> None:
    mock = MessageMock()
    messages.add_listener(mock._record)
    try:
        messages.info("ok")
        messages.error("something broke")
    finally:
        messages.remove_listener(mock._record)
    assert [m.text for m in mock.unexpected_errors()] == ["something broke"]
    mock.expect_errors()
    assert mock.unexpected_errors() == []


@pytest.mark.allow_warnings
def test_messages_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hotline.messages"):
        messages.error("磁盘已满")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("hotline.messages", logging.ERROR, "磁盘已满")
    ]


def test_a_removed_listener_hears_nothing() -> None:
    heard: list[Message] = []
    messages.add_listener(heard.append)
    messages.remove_listener(heard.append)
    messages.remove_listener(heard.append)  # removing twice is harmless
    messages.info("无人收听")
    assert heard == []
