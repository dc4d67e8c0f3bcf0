"""The closed-form central prediction used by `sweep --scale-from` equals the exact per-symbol
Fraction path (compute_predictions_at), which stays the oracle."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from cpualloc_cli.adapters.image import load_image
from cpualloc_cli.analysis.extent import compute_extents
from cpualloc_cli.analysis.scale import central_predictor, compute_predictions_at, compute_scale, compute_scale_point
from cpualloc_cli.analysis.sizes import compute_berkeley

VALUES = [*range(1, 300), 511, 512, 513, 1000, 1023, 1024, 1025, 4095, 4096, 8191, 8192]


def _points(paths: dict[int, str]) -> list:  # type: ignore[type-arg]
    out = []
    for n, path in paths.items():
        img = load_image(path)
        out.append(compute_scale_point(img, n, compute_berkeley(img), (compute_extents(img) or (None,))[0]))
    return out


def _check(points: list) -> None:  # type: ignore[type-arg]
    report = compute_scale(points, max(p.n for p in points))
    fast = central_predictor(report)
    for n in VALUES:
        exact = {p.measure: p.predicted_bytes for p in compute_predictions_at(report, n)}
        assert fast(n) == exact, n


def test_synthetic_objects() -> None:
    d = FIXTURES / "scale" / "synthetic"
    _check(_points({n: str(d / f"synth-n{n}.o") for n in (10, 64, 100)}))
    _check(_points({n: str(d / f"synth-n{n}.o") for n in (10, 64)}))


@pytest.mark.realkernel
def test_shared_sparc64_pair(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    _check(_points({64: str(kernel_vmlinux("sparc64-tiny-nr64")), 256: str(kernel_vmlinux("sparc64-tiny-nr256"))}))
