"""The package stays typed (mypy strict, as configured in pyproject.toml) and ruff clean, and
the core layers import no edge library (PRODUCT.md, "Architecture")."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import pytest
from conftest import REPO

EDGE = {"click", "rich", "elftools", "kconfiglib"}


def _module(name: str) -> list[str]:
    """The tool as installed beside this Python (the venv's, from the test extras), never the one
    that happens to be first on PATH."""
    if importlib.util.find_spec(name) is None:
        pytest.fail(f"{name} is not installed for {sys.executable} (it is in the test extras: pip install -e '.[test]')")
    return [sys.executable, "-m", name]


def test_ruff_clean() -> None:
    proc = subprocess.run([*_module("ruff"), "check", "cpualloc_cli", "tests", "bench", "fuzz"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = subprocess.run([*_module("mypy")], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("layer", ["model", "analysis"])
def test_core_layers_import_no_edge_library(layer: str) -> None:
    for path in sorted((REPO / "cpualloc_cli" / layer).glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in EDGE, f"{path.relative_to(REPO)} imports {name}"
                assert not name.startswith(("cpualloc_cli.cli", "cpualloc_cli.render", "cpualloc_cli.adapters")), \
                    f"{path.relative_to(REPO)} imports {name} (a layer above it)"
                if layer == "model":
                    assert not name.startswith("cpualloc_cli.analysis"), f"{path.relative_to(REPO)} imports {name}"


def test_no_print_outside_cli_and_render() -> None:
    for path in sorted((REPO / "cpualloc_cli").rglob("*.py")):
        rel = path.relative_to(REPO / "cpualloc_cli")
        if rel.parts[0] in ("cli", "render"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                raise AssertionError(f"cpualloc_cli/{rel}:{node.lineno} calls print()")
