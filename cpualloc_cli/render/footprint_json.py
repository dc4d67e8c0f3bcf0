"""JSON payloads of `cpualloc footprint` and `cpualloc sweep` (sizes as integer bytes)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.findings import Finding
from cpualloc_cli.model.footprint import (
    DESIGN_TITLES,
    DesignFootprint,
    FootprintReport,
    InputFact,
    PackingResult,
    PercpuAllocInfo,
    SweepResult,
)
from cpualloc_cli.model.measures import FRACTION_MEASURES


def finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "severity": f.severity.value, "message": f.message, "path": f.path, "line": f.line,
            "symbol": f.symbol, "hint": f.hint}


def facts_json(facts: tuple[InputFact, ...]) -> list[dict[str, Any]]:
    return [{"name": f.name, "value": f.value, "provenance": f.provenance.value, "note": f.note} for f in facts]


def percpu_json(ai: PercpuAllocInfo) -> dict[str, Any]:
    return {
        "static_size": ai.static_size, "reserved_size": ai.reserved_size, "dyn_size": ai.dyn_size,
        "size_sum": ai.size_sum, "min_unit_size": ai.min_unit_size, "atom_size": ai.atom_size,
        "alloc_size": ai.alloc_size, "max_upa": ai.max_upa, "upa": ai.upa, "unit_size": ai.unit_size,
        "nr_groups": ai.nr_groups, "nr_units": ai.nr_units, "nr_allocs": ai.nr_allocs,
        "possible_cpus": ai.possible_cpus, "pages_per_cpu": ai.pages_per_cpu, "span_bytes": ai.span_bytes,
        "resident_bytes": ai.resident_bytes, "kernel_line": ai.embedded_line(),
    }


def packing_json(p: PackingResult) -> dict[str, Any]:
    return {"objects": p.objects, "unit_bytes": p.unit_bytes, "units_allocated": p.units_allocated,
            "units_used": p.units_used, "used_bytes": p.used_bytes, "linker_bytes": p.linker_bytes,
            "gaps_filled": p.gaps_filled, "fragmentation": round(p.fragmentation, 6)}


def design_json(d: DesignFootprint) -> dict[str, Any]:
    return {
        "design": d.design.value,
        "title": DESIGN_TITLES[d.design],
        "measures": {m.value: v for m, v in d.measures.items()},
        "explain": list(d.explain),
        "findings": [finding_json(f) for f in d.findings],
        "percpu": percpu_json(d.percpu) if d.percpu is not None else None,
    }


def footprint_payload(report: FootprintReport) -> dict[str, Any]:
    inp = report.inputs
    return {
        "arch": inp.arch,
        "kernel_version": ".".join(map(str, inp.kernel_version)),
        "nr_cpus": inp.nr_cpus,
        "possible_cpus": inp.possible_cpus,
        "inputs": facts_json(inp.facts),
        "design_used": {"design": report.chosen.value, "reason": report.chosen_reason},
        "designs": [design_json(d) for d in report.designs],
        "findings": [finding_json(f) for f in report.findings],
        "packing": packing_json(report.packing) if report.packing is not None else None,
    }


def sweep_payload(result: SweepResult, platform: str | None = None,
                  platform_source: str | None = None) -> dict[str, Any]:
    """The sweep's JSON body. `platform` is the preset the bounds came from (--platform or the
    policy's `platform =`, named by `platform_source`), null without one, as in check's inputs."""
    return {
        "platform": platform, "platform_source": platform_source,
        "symbol": result.symbol,
        "range": {"from": result.range_lo, "to": result.range_hi},
        "evaluated": result.evaluated,
        "points": list(result.points),
        "series": {d.value: {m.value: list(vals) for m, vals in per.items()} for d, per in result.series.items()},
        "fits": [{"design": f.design.value, "measure": f.measure.value,
                  "bound": f.bound if f.measure in FRACTION_MEASURES else int(f.bound),
                  "largest_fitting": f.largest_fitting, "smallest_failing": f.smallest_failing,
                  "non_monotonic": f.non_monotonic,
                  "verdict": "inconclusive" if f.inconclusive else "decided",
                  "largest_fitting_unbuildable": f.largest_fitting_unbuildable,
                  "limit": f.limit_id or None} for f in result.fits],
        "not_building": [{"from": a, "to": b, "reason": why} for a, b, why in result.not_building],
        "lower_bound_measures": list(result.lower_bound_measures),
        "inputs": facts_json(result.facts),
        "findings": [finding_json(f) for f in result.findings],
    }
