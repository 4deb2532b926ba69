"""Record what the core says through the ``app.messages`` bridge (qutebrowser's messagemock.py).

The ``message_mock`` fixture registers a listener for the duration of a test. An error message the
test did not ask about fails the test: core code only reports errors the user must see, so one that
nobody expected is a bug. A test that expects one claims it with ``getmsg(Level.ERROR)`` or
``expect_errors()``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import messages
from app.messages import Level, Message


class MessageMock:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._claimed: set[int] = set()
        self._errors_expected = False

    def _record(self, message: Message) -> None:
        self.messages.append(message)

    def getmsg(self, level: Level | None = None) -> Message:
        """The one message that was shown (optionally checking its level); claims it."""
        assert len(self.messages) == 1, f"expected exactly one message, got {self.messages!r}"
        message = self.messages[0]
        if level is not None:
            assert message.level is level, f"expected a {level} message, got {message!r}"
        self._claimed.add(0)
        return message

    def texts(self, level: Level | None = None) -> list[str]:
        return [m.text for m in self.messages if level is None or m.level is level]

    def expect_errors(self) -> None:
        """This test provokes error messages on purpose and checks them itself."""
        self._errors_expected = True

    def unexpected_errors(self) -> list[Message]:
        if self._errors_expected:
            return []
        return [m for i, m in enumerate(self.messages) if m.level is Level.ERROR and i not in self._claimed]


@pytest.fixture
def message_mock() -> Iterator[MessageMock]:
    mock = MessageMock()
    messages.add_listener(mock._record)
    try:
        yield mock
    finally:
        messages.remove_listener(mock._record)
    unexpected = mock.unexpected_errors()
    if unexpected:
        pytest.fail(f"unexpected error message(s): {[m.text for m in unexpected]!r}", pytrace=False)
