"""A bounded in-process map that forgets the least recently used entry (the read model's caches)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """Key -> value, the ``size`` most recently used; safe to share between threads (sessions)."""

    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._values: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)

    def swap(self, key: K, was: V, value: V) -> None:
        """Put ``value`` when ``key`` still holds ``was`` (the very object)."""
        with self._lock:
            if self._values.get(key) is was:
                self._values[key] = value

    def values(self) -> list[V]:
        """The values, least recently used first."""
        with self._lock:
            return list(self._values.values())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
