"""Golden renderings (checked by eye when regenerated with fixtures/footprint_golden/regen.py)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from golden_cases import render_all

GOLDEN = FIXTURES / "footprint_golden"


@pytest.mark.parametrize("name", ["footprint_sparc64.txt", "footprint_sparc64.json", "sweep_sparc64.txt",
                                  "sweep_sparc64.json"])
def test_golden(name: str) -> None:
    assert render_all()[name] == (GOLDEN / name).read_text()
