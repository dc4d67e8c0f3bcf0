"""Shared test plumbing: where the real kernels are, and running the CLI in-process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KERNELS = SHARED / "kernels"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_present() -> bool:
    return KERNELS.is_dir()


def need_shared() -> Path:
    """Skip when ../shared is absent (users' machines); when it is present, a broken or
    missing piece is a failure, never a skip."""
    if not shared_present():
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but ../shared/kernels is absent")
        pytest.skip("../shared/kernels is absent")
    return KERNELS


def need_linux_tree(var: str = "CPUALLOC_LINUX_6_1") -> str:
    """An unpacked Linux source tree named by `var` (.ci/run unpacks 6.1 and 6.12). Skips when
    unset; fails when CPUALLOC_REQUIRE_REAL is set, or when the path is not a Linux tree."""
    path = os.environ.get(var)
    if not path:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail(f"CPUALLOC_REQUIRE_REAL is set but {var} is not")
        pytest.skip(f"{var} is not set (an unpacked Linux source tree)")
    if not os.path.isfile(os.path.join(path, "Kconfig")):
        pytest.fail(f"{var}={path} is not a Linux source tree")
    return path


@pytest.fixture(scope="session")
def shared_kernels() -> Path:
    return need_shared()


@pytest.fixture(scope="session")
def kernel_vmlinux(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Decompress ../shared/kernels/NAME/vmlinux.xz once per session; returns a getter."""
    import lzma

    cache: dict[str, Path] = {}
    base = tmp_path_factory.mktemp("vmlinux")

    def get(name: str) -> Path:
        kernels = need_shared()
        if name not in cache:
            src = kernels / name / "vmlinux.xz"
            if not src.is_file():
                pytest.fail(f"{src} is missing although ../shared/kernels is present")
            out = base / name
            out.mkdir()
            dest = out / "vmlinux"
            dest.write_bytes(lzma.decompress(src.read_bytes()))
            cache[name] = dest
        return cache[name]

    return get


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run cpualloc in a subprocess (the real entry point); returns (rc, stdout, stderr)."""
    import subprocess
    import sys

    full_env = dict(os.environ)
    full_env.pop("COLUMNS", None)
    full_env["NO_COLOR"] = "1"
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *args], capture_output=True,
                          text=True, env=full_env, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def cli_json(args: list[str], rc: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command with --format json; assert its exit code; return the document."""
    import json

    code, out, err = run_cli([*args, "--format", "json"], env=env)
    assert code == rc, (code, out, err)
    doc: dict[str, Any] = json.loads(out)
    return doc


def result(doc: dict[str, Any], rule: str) -> dict[str, Any]:
    """The result for `rule` in a `check --format json` document."""
    by = {r["rule"]: r for r in doc["results"]}
    assert rule in by, sorted(by)
    out: dict[str, Any] = by[rule]
    return out
