"""Issue 18 item 1: the JSON document is encoded in one pass (RawJson spliced as chunks), not
with one str.replace over the whole text per RawJson value. The oracle is the stdlib encoder
with the same options: without RawJson the text must be exactly json.dumps's; with RawJson
values it must equal json.dumps of the document with each RawJson replaced by its parsed
value and compacted the same way. Speed is measured by bench/modules.py, not here."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.render.jsonout import RawJson, dumps, iter_dumps

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
docs = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                           max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=4), docs, max_size=5))
def test_plain_documents_equal_json_dumps(doc: dict[str, Any]) -> None:
    assert dumps(doc) == json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_many_raw_values_are_each_spliced_once_in_order() -> None:
    n = 3000
    doc = {"images": [{"path": f"m{i}.ko", "rows": RawJson(f"[[{i},1,\"T\",\"f{i}\"]]")} for i in range(n)],
           # a real string that looks like the placeholder is left alone
           "z": "\x00RAW0\x00"}
    text = dumps(doc)
    back = json.loads(text)
    assert [img["rows"] for img in back["images"]] == [[[i, 1, "T", f"f{i}"]] for i in range(n)]
    assert back["z"] == "\x00RAW0\x00"
    # the raw text is spliced verbatim (compact), not re-encoded with the indent
    assert '"rows": [[2999,1,"T","f2999"]]' in text


def test_iter_dumps_streams_chunks() -> None:
    chunks = list(iter_dumps({"a": RawJson("[1]"), "b": [RawJson("2"), 3]}))
    assert len(chunks) > 3 and "".join(chunks) == dumps({"a": RawJson("[1]"), "b": [RawJson("2"), 3]})
    assert json.loads("".join(chunks)) == {"a": [1], "b": [2, 3]}
