"""A bridge for messages from the core to whoever shows them (qutebrowser's message.py).

Core code never opens a dialog: it calls ``messages.error(...)``; the UI registers a listener that
shows the text; tests register one that records it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger("hotline.messages")


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    level: Level
    text: str


Listener = Callable[[Message], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def add_listener(listener: Listener) -> None:
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _emit(level: Level, text: str) -> None:
    log.log(
        {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}[level], text
    )
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(Message(level, text))


def info(text: str) -> None:
    _emit(Level.INFO, text)


def warning(text: str) -> None:
    _emit(Level.WARNING, text)


def error(text: str) -> None:
    _emit(Level.ERROR, text)
