"""`cpualloc scale --format json` (through render.jsonout)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.scale import ScaleReport, SeriesFit, ShapeFit
from cpualloc_cli.render.jsonout import dumps, envelope


def _fraction(x: Any) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def _fit(f: ShapeFit | None, symbol: str) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"shape": f.shape.value, "slope": _fraction(f.slope), "intercept_bytes": _fraction(f.intercept),
            "formula": f.formula(symbol), "exact": f.exact, "whole": f.whole,
            "leave_one_out_max_error_bytes": f.loo_max_error_bytes}


def _series(s: SeriesFit, symbol: str) -> dict[str, Any]:
    return {"name": s.name, "where": s.where, "sizes_bytes": list(s.sizes), "status": s.status.value,
            "best": _fit(s.best, symbol), "alternatives": [_fit(a, symbol) for a in s.alternatives],
            "nearest_rejected": _fit(s.nearest, symbol), "reason": s.reason,
            "predicted_bytes": s.predicted_bytes, "low_bytes": s.low_bytes, "high_bytes": s.high_bytes,
            "cost_at_bytes": s.cost_at_bytes}


def scale_payload(report: ScaleReport) -> dict[str, Any]:
    sym = report.symbol
    return {
        "symbol": sym,
        "at": report.at,
        "bits_per_long": report.bits_per_long,
        "points": [{"n": n, "image": label} for n, label in report.points],
        "predictions": [{"measure": p.measure, "reference_bytes": p.reference_bytes,
                         "predicted_bytes": p.predicted_bytes, "low_bytes": p.low_bytes, "high_bytes": p.high_bytes,
                         "explained_bytes": p.explained_bytes, "unexplained_low_bytes": p.unexplained_low_bytes,
                         "unexplained_high_bytes": p.unexplained_high_bytes,
                         "padding_seen_bytes": p.padding_seen_bytes} for p in report.predictions],
        "limits": [{"measure": a.measure, "bound_bytes": a.bound_bytes, "largest_n": a.largest_n,
                    "largest_n_pessimistic": a.largest_n_pessimistic, "searched_up_to": a.searched_up_to,
                    "fits_at": a.fits_at, "source": a.source, "at_does_not_build": a.at_does_not_build,
                    "largest_n_unbuildable": a.largest_n_unbuildable} for a in report.limits],
        "symbols": [_series(s, sym) for s in report.symbols],
        "sections": [_series(s, sym) for s in report.sections],
        "measures": [_series(s, sym) for s in report.measures],
        "constant_symbols": report.constant_symbols,
        "notes": list(report.notes),
    }


def render_scale_json(report: ScaleReport) -> str:
    return dumps(envelope("scale", scale_payload(report)))
