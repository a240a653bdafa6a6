"""Name → implementation tables used by form definitions (field validators, rule kinds, vocabularies)."""

from __future__ import annotations

from collections.abc import Callable

FIELD_VALIDATORS: dict[str, Callable[[object], str | None]] = {}
RULE_KINDS: dict[str, Callable[..., object]] = {}
VOCABULARIES: dict[str, list[str]] = {}
