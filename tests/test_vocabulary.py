"""The schema's vocabularies are the model's enums: measures, statuses, severities, designs, fix
kinds and the check limits' measures are never string copies that could drift."""

from __future__ import annotations

import json
from typing import Any

from conftest import REPO

from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.footprint import Design
from cpualloc_cli.model.limits import FIX_KINDS, LIMIT_MEASURES, Status
from cpualloc_cli.model.measures import FRACTION_MEASURES, Measure

SCHEMA: dict[str, Any] = json.loads((REPO / "schemas" / "check.schema.json").read_text())


def _enum(node: dict[str, Any]) -> set[Any]:
    return set(node["enum"])


def test_measures() -> None:
    assert _enum(SCHEMA["$defs"]["measure"]) == {m.value for m in Measure} == set(LIMIT_MEASURES)
    assert FRACTION_MEASURES <= set(Measure)


def test_result_vocabularies() -> None:
    result = SCHEMA["$defs"]["result"]["properties"]
    assert _enum(result["status"]) == {s.value for s in Status}
    assert _enum(result["severity"]) == {s.value for s in Severity}
    assert _enum(result["fixes"]["items"]["properties"]["kind"]) == set(FIX_KINDS)


def test_designs() -> None:
    inputs = SCHEMA["properties"]["inputs"]["properties"]
    assert _enum(inputs["design"]) - {None} == {d.value for d in Design}


def test_database_and_units_use_the_vocabulary() -> None:
    from cpualloc_cli.adapters.limits_loader import load_database

    for limit in load_database():
        assert limit.measure is None or limit.measure in LIMIT_MEASURES, limit.id
