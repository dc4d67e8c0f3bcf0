"""Deterministic JSON: sorted keys, integer bytes, no timestamps, schema_version and tool."""

from __future__ import annotations

import json
from collections.abc import Iterator
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


def iter_dumps(doc: dict[str, Any]) -> Iterator[str]:
    """The chunks of :func:`dumps`, in order, with RawJson values spliced in as they come.

    One pass over the document: each RawJson is encoded as a placeholder string, which the
    encoder yields as a chunk of its own (it is a non-str value, handed to `default`); that
    chunk is swapped for the raw text. Linear in the document, however many RawJson values
    it has (one `str.replace` over the whole text per value was quadratic: issue 18)."""
    raws: dict[str, str] = {}

    def default(obj: Any) -> Any:
        if isinstance(obj, RawJson):
            key = f"\x00RAW{len(raws)}\x00"
            raws[json.dumps(key)] = obj.text
            return key
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    encoder = json.JSONEncoder(sort_keys=True, indent=2, default=default, ensure_ascii=False,
                               allow_nan=False)
    for chunk in encoder.iterencode(doc):
        yield raws.pop(chunk, chunk) if raws else chunk
    yield "\n"


def dumps(doc: dict[str, Any]) -> str:
    """Encode with sorted keys and two-space indent; RawJson values are spliced in."""
    return "".join(iter_dumps(doc))
