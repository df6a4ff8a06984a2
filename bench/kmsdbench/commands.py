"""The log of the exact commands a run used, which RESULTS.md prints (once per label)."""
from __future__ import annotations

import shlex
from typing import Mapping, Sequence


class Commands:
    """Commands in first-use order, one per label, with work-dir paths replaced by
    placeholders (`subst`: (path, placeholder) pairs, applied in order)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []   # (label, command)
        self.seen: set[str] = set()
        self.subst: list[tuple[str, str]] = []

    def pretty(self, text: str) -> str:
        for path, placeholder in self.subst:
            text = text.replace(path, placeholder)
        return text

    def add(self, label: str, cmd: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        if label in self.seen:
            return
        self.seen.add(label)
        parts = []
        if env:
            parts += ["%s=%s" % (k, shlex.quote(v)) for k, v in env.items()]
        parts += [shlex.quote(c) for c in cmd]
        self.items.append((label, self.pretty(" ".join(parts))))
