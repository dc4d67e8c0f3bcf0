"""evaluate_limits / evaluate_budgets over hand-built contexts; every expected value is hand arithmetic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from cpualloc_cli.adapters.limits_loader import load_database
from cpualloc_cli.analysis.limits import CheckContext, evaluate_budgets, evaluate_limits, version_in_range
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import Status, Waiver
from cpualloc_cli.model.measures import parse_budget

MiB = 1 << 20
KiB = 1 << 10
TODAY = dt.date(2026, 11, 26)
# A made-up base image: sparc64 extent from KERNBASE without any cpu area, 2 MiB + 40 KiB.
BASE_EXTENT = 2 * MiB + 40 * KiB
BASE_BSS = 300 * KiB


def sparc_projector(design: str | None, nr: int) -> Mapping[str, float]:
    """Static: NR_CPUS x (8 KiB << 4) = NR_CPUS x 128 KiB in BSS; virtual: BSS + 44 B."""
    if design == "none":
        return {"image_extent": BASE_EXTENT, "bss": BASE_BSS}
    if design == "virtual":
        return {"image_extent": BASE_EXTENT + 44, "bss": BASE_BSS + 44}
    return {"image_extent": BASE_EXTENT + nr * 128 * KiB, "bss": BASE_BSS + nr * 128 * KiB}


def seed_ctx(**kw: object) -> CheckContext:
    args: dict[str, object] = dict(
        arch="sparc64", kernel_version="2.6.24", config={"SMP": "y", "NR_CPUS": "64"},
        measures=sparc_projector(None, 64), design="static", projector=sparc_projector, nr_cpus=64,
        nr_cpus_range=(2, 4096), top_bss=(("cpu_area", 64 * 128 * KiB), ("big", 4096)), today=TODAY)
    args.update(kw)
    return CheckContext(**args)  # type: ignore[arg-type]


def outcome(ctx: CheckContext, rule: str, waivers: tuple[Waiver, ...] = ()):  # type: ignore[no-untyped-def]
    outs, _ = evaluate_limits(load_database(), waivers, ctx)
    return {o.rule: o for o in outs}[rule]


def test_versions() -> None:
    assert version_in_range("2.6.24", "", "2.6.27")
    assert not version_in_range("6.1.0", "", "2.6.27")
    assert version_in_range("6.1.192", "2.6.27", "")


def test_seed_static_nr64_fails_with_computed_fix() -> None:
    o = outcome(seed_ctx(), "sparc64.image-8mib")
    assert o.status is Status.FAIL and o.severity is Severity.ERROR
    # extent = 2 MiB + 40 KiB + 64 x 128 KiB = 10 MiB + 40 KiB; over by 2 MiB + 40 KiB
    assert o.measured == 10 * MiB + 40 * KiB
    assert o.margin == -(2 * MiB + 40 * KiB)
    # largest N: 2 MiB + 40 KiB + N x 128 KiB <= 8 MiB -> N <= (6 MiB - 40 KiB) / 128 KiB = 47.69 -> 47
    texts = [f.text for f in o.fixes]
    # the cause first: the cpu area (64 x 128 KiB = 8 MiB) breaks it; the kernel without it fits
    assert texts[0] == ("the static design's cpu area (8.00 MiB, 8388608 B at NR_CPUS=64) is what exceeds the bound: "
                        "the kernel without it is 2.04 MiB")
    assert texts[1] == "NR_CPUS <= 47 or CPU_AREA_VIRTUAL=y"
    assert any(t.startswith("the virtual design fits: BSS +44 B") for t in texts)
    assert any(t.startswith("over by 2.04 MiB") and "cpu_area" in t for t in texts)


def test_seed_virtual_passes() -> None:
    ctx = seed_ctx(design="virtual", measures=sparc_projector("virtual", 64))
    assert outcome(ctx, "sparc64.image-8mib").status is Status.PASS


def test_modern_sparc64_gets_the_locked_tlb_rule_instead() -> None:
    outs, na = evaluate_limits(load_database(), (), seed_ctx(kernel_version="6.1.0"))
    ids = {o.rule for o in outs}
    assert "sparc64.image-8mib" in na and "sparc64.image-locked-tlb" in ids


def test_unknown_version_assumes_a_current_kernel_and_says_so() -> None:
    outs, na = evaluate_limits(load_database(), (), seed_ctx(kernel_version=None))
    by = {o.rule: o for o in outs}
    assert "sparc64.image-8mib" in na  # an old-kernel-only limit does not apply
    assert any("kernel version unknown" in line for line in by["sparc64.image-locked-tlb"].arithmetic)


def test_i386_vmalloc_share_warning() -> None:
    # 255 x 256 KiB = 65280 KiB = 63.75 MiB of 128 MiB = 0.498046875
    share = 255 * 256 * KiB / (128 * MiB)
    ctx = CheckContext(arch="i386", kernel_version="2.6.24", measures={"vmalloc_share": share}, today=TODAY)
    o = outcome(ctx, "i386.vmalloc-share")
    assert o.status is Status.FAIL and o.severity is Severity.WARNING
    assert any("49.8 %" in line for line in o.arithmetic)


def test_x86_64_kernel_image_size_randomize_base() -> None:
    measures = {"image_extent": 600 * MiB}
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", config={"RANDOMIZE_BASE": "n"}, measures=measures)
    assert outcome(ctx, "x86.kernel-image-size").status is Status.FAIL
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", config={"RANDOMIZE_BASE": "y"}, measures=measures)
    o = outcome(ctx, "x86.kernel-image-size")
    assert o.status is Status.PASS and o.bound == 1024 * MiB


def test_missing_inputs_are_skipped_not_dropped() -> None:
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", measures={"image_extent": MiB})
    crash = outcome(ctx, "kdump.crashkernel-fit")
    assert crash.status is Status.SKIPPED and "--crashkernel" in (crash.skip_reason or "")
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", measures={"total": 17 * MiB},
                       params={"crashkernel": 16 * MiB})
    assert outcome(ctx, "kdump.crashkernel-fit").status is Status.FAIL


def test_percpu_vs_physical_start_is_strict_less() -> None:
    ctx = CheckContext(arch="x86_64", kernel_version="6.1.0", config={"SMP": "y", "PHYSICAL_START": "0x1000000"},
                       measures={"percpu_static": 0x1000000})
    o = outcome(ctx, "x86_64.percpu-below-physical-start")
    assert o.status is Status.FAIL  # ASSERT(SIZEOF(.data..percpu) < CONFIG_PHYSICAL_START): equal fails


def test_waiver_silences_exactly_its_rule_and_expiry() -> None:
    ctx = seed_ctx(params={"crashkernel": 4 * MiB}, measures=dict(sparc_projector(None, 64), total=11 * MiB))
    w = Waiver("sparc64.image-8mib", "tracked in BUG-1", dt.date(2026, 12, 1))
    outs, _ = evaluate_limits(load_database(), (w,), ctx)
    by = {o.rule: o for o in outs}
    assert by["sparc64.image-8mib"].status is Status.WAIVED
    assert by["sparc64.image-8mib"].waiver == w
    assert by["kdump.crashkernel-fit"].status is Status.FAIL  # not silenced
    expired = Waiver("sparc64.image-8mib", "tracked in BUG-1", dt.date(2026, 11, 25))
    o = outcome(ctx, "sparc64.image-8mib", (expired,))
    assert o.status is Status.FAIL
    assert any("expired" in line for line in o.arithmetic)


def test_budgets() -> None:
    budgets = [parse_budget("bss=+1%"), parse_budget("image_extent=+64KiB"), parse_budget("text=+0%")]
    # bss 100000 -> allowed 101000; 101001 is over. extent 1 MiB -> allowed 1 MiB + 64 KiB.
    res = evaluate_budgets(budgets, {"bss": 100000, "image_extent": MiB},
                           {"bss": 101001, "image_extent": MiB + 64 * KiB, "text": 5})
    by = {b.measure: b for b in res}
    assert by["bss"].status is Status.FAIL and by["bss"].allowed == 101000
    assert by["image_extent"].status is Status.PASS
    assert by["text"].status is Status.SKIPPED


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(base=st.integers(0, 8 * MiB), order=st.integers(0, 6), nr=st.integers(2, 512))
def test_largest_nr_cpus_fix_is_the_last_value_that_fits(base: int, order: int, nr: int) -> None:
    """For a static area, the fix equals floor((8 MiB - base) / area) clipped to the range, and the
    projection at that value fits while the next one does not."""
    area = 8192 << order

    def proj(design: str | None, n: int) -> Mapping[str, float]:
        if design in ("virtual", "none"):
            return {"image_extent": base + (44 if design == "virtual" else 0), "bss": 44.0}
        return {"image_extent": base + n * area, "bss": float(n * area)}

    ctx = CheckContext(arch="sparc64", kernel_version="2.6.24", config={"SMP": "y"}, measures=proj(None, nr),
                       design="static", projector=proj, nr_cpus=nr, nr_cpus_range=(2, 512), today=TODAY)
    o = outcome(ctx, "sparc64.image-8mib")
    expected = min((8 * MiB - base) // area, 512)
    if base + nr * area <= 8 * MiB:
        assert o.status is Status.PASS and not o.fixes
        return
    assert o.status is Status.FAIL
    fix = [f for f in o.fixes if f.kind == "nr_cpus"][0]
    if expected < 2:
        assert fix.value is None
    else:
        assert fix.value == expected
        assert proj(None, expected)["image_extent"] <= 8 * MiB < proj(None, expected + 1)["image_extent"]
