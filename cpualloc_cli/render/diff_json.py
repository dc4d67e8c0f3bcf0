"""`cpualloc diff --format json` (through render.jsonout: sorted keys, integer bytes)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.diff import DiffReport, SymbolDelta
from cpualloc_cli.model.image import BerkeleyTotals
from cpualloc_cli.render.jsonout import dumps, envelope


def _berkeley(b: BerkeleyTotals) -> dict[str, int]:
    return {"text": b.text, "data": b.data, "bss": b.bss, "total": b.dec}


def _symbol(d: SymbolDelta) -> dict[str, Any]:
    return {"name": d.name, "old_bytes": d.old_bytes, "new_bytes": d.new_bytes, "delta_bytes": d.delta_bytes,
            "status": d.status, "kind": d.kind.value}


def diff_payload(report: DiffReport) -> dict[str, Any]:
    s = report.bloat.summary
    return {
        "old": {"path": report.old_path, "berkeley": _berkeley(report.berkeley_old)},
        "new": {"path": report.new_path, "berkeley": _berkeley(report.berkeley_new)},
        "bloat_o_meter": {
            "label": report.bloat.label,
            "nm_types": report.bloat.nm_types,
            "summary": {
                "added": s.added, "removed": s.removed, "grown": s.grown, "shrunk": s.shrunk,
                "up_bytes": s.up_bytes, "down_bytes": s.down_bytes, "net_bytes": s.net_bytes,
                "old_total_bytes": s.old_total_bytes, "new_total_bytes": s.new_total_bytes,
                "change_percent": round(s.change_percent, 2),
            },
            "changed_count": len(report.bloat.deltas),
            "symbols": [_symbol(d) for d in report.shown_deltas()],
        },
        "sections": [{"name": x.name, "kind": x.kind.value, "old_bytes": x.old_bytes, "new_bytes": x.new_bytes,
                      "delta_bytes": x.delta_bytes} for x in report.sections],
        "kinds": [{"kind": k.kind.value, "old_bytes": k.old_bytes, "new_bytes": k.new_bytes, "delta_bytes": k.delta_bytes,
                   "old_symbol_bytes": k.old_symbol_bytes, "new_symbol_bytes": k.new_symbol_bytes} for k in report.kinds],
        "measures": [{"measure": m.measure, "old_bytes": m.old_bytes, "new_bytes": m.new_bytes,
                      "delta_bytes": m.delta_bytes, "source": m.source} for m in report.measures],
        "budgets": [{"budget": b.text, "measure": b.measure, "baseline_bytes": b.baseline_bytes,
                     "allowed_bytes": b.allowed_bytes, "actual_bytes": b.actual_bytes, "exceeded": b.exceeded}
                    for b in report.budgets],
        "budget_exceeded": report.budget_exceeded,
        "threshold_bytes": report.threshold_bytes,
        "top": report.top,
        "notes": list(report.notes),
    }


def render_diff_json(report: DiffReport) -> str:
    return dumps(envelope("diff", diff_payload(report)))
