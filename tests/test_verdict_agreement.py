"""One meaning of "fits": check's verdict for a limit equals sweep's at the same NR_CPUS, and
scale's at a value that was built (properties over random configs and bounds)."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpualloc_cli.adapters.limits_loader import load_database
from cpualloc_cli.analysis.engine import (
    EvalRequest,
    KernelBase,
    compute_build_blocker,
    evaluate,
    lower_bound_measures,
    sweep_bounds,
    verdict,
    with_base,
)
from cpualloc_cli.analysis.inputs import build_inputs
from cpualloc_cli.analysis.sweep import compute_sweep
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.footprint import Design
from cpualloc_cli.model.limits import Limit, LimitKind, Status
from cpualloc_cli.model.measures import Measure

CASES = [  # (arch, kernel version, NR_CPUS range of that era)
    ("sparc64", "2.6.24", (2, 1024)),
    ("sparc64", "6.1.0", (2, 4096)),
    ("i386", "2.6.24", (2, 255)),
    ("x86_64", "6.1.0", (2, 512)),
]


def _request(arch: str, version: str, n: int, design: Design, base: KernelBase, vmemmap: bool,
             extra_limits: tuple[Limit, ...] = ()) -> EvalRequest:
    values = {"SMP": "y", "NR_CPUS": str(n), "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y" if vmemmap else "n",
              "SPARSEMEM_VMEMMAP_ENABLE": "y", "NUMA": "n", "64BIT": "n" if arch == "i386" else "y"}
    cfg = ResolvedConfig(arch=arch, kernel_version=version, kernel_version_source="--kernel-version", values=values)
    built = build_inputs(cfg, None, kernel_version=version, kernel_version_source="--kernel-version")
    inp = with_base(built.inputs, base)
    return EvalRequest(arch=arch, kernel_version=version, kernel_version_source="--kernel-version",
                       limits=load_database() + extra_limits, config=cfg, inputs=inp, cli_design=design, base=base)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), design=st.sampled_from(list(Design)), data=st.data(),
       extent=st.integers(0, 12 << 20), bss=st.integers(0, 4 << 20), exact=st.booleans(), vmemmap=st.booleans(),
       own_bound=st.integers(1 << 20, 96 << 20))
def test_check_and_sweep_agree_at_every_value(case: tuple[str, str, tuple[int, int]], design: Design,
                                               data: st.DataObject, extent: int, bss: int, exact: bool,
                                               vmemmap: bool, own_bound: int) -> None:
    arch, version, (lo, hi) = case
    n = data.draw(st.integers(lo, hi))
    base = KernelBase("--base-size" if exact else "lower bound", exact, "test", {"image_extent": extent, "bss": bss})
    own = Limit(id="policy.extent", title="t", arches=("*",), since="", before="", kind=LimitKind.MEASURE,
                severity=Severity.ERROR, sources=("test",), note="", measure="image_extent", bound=float(own_bound))
    req = _request(arch, version, n, design, base, vmemmap, (own,))
    ev = evaluate(req)
    by_rule = {o.rule: o for o in ev.outcomes}
    bounds, _ = sweep_bounds(req)
    assert bounds, "some limit must be sweepable"
    assert req.inputs is not None
    from cpualloc_cli.cli.sweep_cmd import _with_database_limits

    limits, meta, _, _ = _with_database_limits([], req)  # the limits sweep itself adds
    lower = lower_bound_measures(req.inputs, None, base)  # what sweep_cmd passes
    cfg_values = req.config.values if req.config is not None else None

    def builds(v: int) -> str | None:
        return compute_build_blocker(cfg_values, arch, version, v, (lo, hi))

    sw = compute_sweep(req.inputs, "NR_CPUS", lo, hi, [n], [design], limits, builds=builds,
                       lower_bound_measures=lower, limit_meta=meta)
    for b in bounds:
        o = by_rule[b.limit.id]
        assert o.bound == b.bound, b.limit.id  # the same bound, resolved by the same code
        value = sw.series[design][Measure(b.measure)][0]
        want = verdict(value, b.bound, b.limit.strict_less, b.measure in lower, b.limit.warn_above)
        assert want is o.status, (b.limit.id, value, o)
        if b.limit.warn_above is not None:  # sweep reports the warning threshold as a fit of its own
            fit = next(f for f in sw.fits if f.limit_id == f"{b.limit.id} (warning threshold)")
            assert fit.bound == b.limit.warn_above
    # the largest value that fits is never above the largest that builds
    for f in sw.fits:
        if f.largest_fitting is not None:
            assert builds(f.largest_fitting) is None


@pytest.mark.realkernel
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bound=st.integers(1_800_000, 2_000_000), which=st.sampled_from(["sparc64-tiny-nr64", "sparc64-tiny-nr256"]))
def test_scale_at_a_built_value_agrees_with_check(kernel_vmlinux, bound: int, which: str) -> None:  # type: ignore[no-untyped-def]
    """The pair in ../shared (NR_CPUS 64 and 256): at a built N, scale's prediction of the
    extent is that build's, so its verdict for any bound is check's on that image."""
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.engine import compute_image_facts
    from cpualloc_cli.analysis.extent import compute_extents
    from cpualloc_cli.analysis.scale import compute_predictions_at, compute_scale, compute_scale_point
    from cpualloc_cli.analysis.sizes import compute_berkeley

    need_shared()
    images = {name: load_image(str(kernel_vmlinux(name))) for name in ("sparc64-tiny-nr64", "sparc64-tiny-nr256")}
    ns = {"sparc64-tiny-nr64": 64, "sparc64-tiny-nr256": 256}
    points = [compute_scale_point(img, ns[name], compute_berkeley(img), (compute_extents(img) or (None,))[0])
              for name, img in images.items()]
    report = compute_scale(points, 256)
    pred = {p.measure: p for p in compute_predictions_at(report, ns[which])}["image_extent"]
    img = images[which]
    facts = compute_image_facts(img, which, True, None)
    own = Limit(id="policy.extent", title="t", arches=("*",), since="", before="", kind=LimitKind.MEASURE,
                severity=Severity.ERROR, sources=("test",), note="", measure="image_extent", bound=float(bound))
    req = EvalRequest(arch="sparc64", kernel_version="6.1.192", kernel_version_source="test", limits=(own,),
                      image=facts, base=KernelBase("image", True, "image"))
    o = next(o for o in evaluate(req).outcomes if o.rule == "policy.extent")
    assert verdict(pred.predicted_bytes, bound, False, False) is o.status
    assert o.status in (Status.PASS, Status.FAIL)


def test_lower_bound_never_passes() -> None:
    assert verdict(1.0, 2.0, False, True) is Status.INCONCLUSIVE
    assert verdict(3.0, 2.0, False, True) is Status.FAIL
    assert verdict(2.0, 2.0, True, False) is Status.FAIL
    assert verdict(2.0, 2.0, False, False) is Status.PASS
    assert dataclasses.is_dataclass(KernelBase)
