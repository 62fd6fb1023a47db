"""A boto3 client wrapper that records the operations called on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Spy:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.on_call: Callable[[str, dict[str, Any]], None] | None = None

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if self.on_call is not None:
                self.on_call(name, kwargs)
            return attr(*args, **kwargs)

        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
