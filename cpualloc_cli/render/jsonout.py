"""Deterministic JSON: sorted keys, integer bytes, no timestamps, schema_version and tool."""

from __future__ import annotations

import json
from typing import Any

from cpualloc_cli import TOOL_NAME, __version__

SCHEMA_VERSION = 1


class RawJson:
    """Pre-encoded JSON text spliced into the document as-is (for big columnar tables)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def envelope(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    doc = {"schema_version": SCHEMA_VERSION, "tool": {"name": TOOL_NAME, "version": __version__},
           "kind": kind}
    doc.update(payload)
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """Encode with sorted keys and two-space indent; RawJson values are spliced in."""
    raws: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, RawJson):
            raws.append(obj.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    text = json.dumps(doc, sort_keys=True, indent=2, default=default, ensure_ascii=False,
                      allow_nan=False)
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000RAW{i}\\u0000"', raw, 1)
    return text + "\n"
