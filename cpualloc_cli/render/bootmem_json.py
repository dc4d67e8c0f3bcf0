"""`footprint --memory --format json`: every row of the boot memory table (schemas/bootmem.schema.json)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.bootmem import BootMemReport
from cpualloc_cli.model.measures import Measure


def bootmem_payload(report: BootMemReport) -> dict[str, Any]:
    inp = report.inputs
    return {
        "boot_memory": {
            "arch": inp.arch,
            "machine": inp.machine.value,
            "memory_bytes": inp.memory_bytes,
            "possible_cpus": inp.possible_cpus,
            "crashkernel_bytes": inp.crashkernel_bytes,
            "present_bytes": report.present_bytes,
            "image_figures_bytes": dict(report.image_figures),
            "rows": [{"name": r.name, "bytes": r.bytes_, "inconclusive": r.bytes_ is None, "formula": r.formula,
                      "inputs": r.inputs, "source": r.source, "counted": r.counted, "note": r.note}
                     for r in report.rows],
            "reserved_bytes": report.reserved_bytes,
            "available_bytes": report.available_bytes,
            "available_min_bytes": report.available_min_bytes,
            "memtotal_bytes": report.memtotal_bytes,
            "notes": list(report.notes),
        }
    }


def reserved_sweep_payload(over: str, memory_bytes: int, points: Any) -> dict[str, Any]:
    return {Measure.MEMORY_RESERVED.value: {
        "over": over, "memory_bytes": memory_bytes,
        "points": [{"value": p.value, "nr_cpus": p.nr_cpus, "possible_cpus": p.possible_cpus,
                    "reserved_bytes": p.reserved_bytes, "inconclusive": p.reserved_bytes is None,
                    "percpu_bytes": p.percpu_bytes, "image_bytes": p.image_bytes,
                    "static_delta_bytes": p.static_delta_bytes, "static_fixed": p.static_fixed,
                    "available_bytes": p.available_bytes} for p in points]}}
