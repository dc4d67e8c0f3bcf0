"""`config --format json`: deterministic JSON through render.jsonout (never rich)."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.render.jsonout import dumps, envelope


def config_payload(rc: ResolvedConfig, *, include_values: bool = True) -> dict[str, Any]:
    symbols = {}
    for sv in rc.details.values():
        symbols[sv.name] = {
            "value": sv.value,
            "type": sv.type,
            "origin": str(sv.origin),
            "visible": sv.visible,
            "range": list(sv.range) if sv.range is not None else None,
            "defined_at": {"file": sv.defined_at[0], "line": sv.defined_at[1]} if sv.defined_at else None,
            "unmet_dependency": sv.unmet_dependency,
            "given": sv.given,
        }
    payload: dict[str, Any] = {
        "arch": rc.arch,
        "kernel_version": rc.kernel_version,
        "kernel_version_source": rc.kernel_version_source,
        "kconfig_source": rc.source,
        "config_path": rc.config_path,
        "percpu_design": rc.values.get("PERCPU_DESIGN"),
        "symbols": symbols,
        "findings": [
            {"rule": f.rule, "severity": str(f.severity), "message": f.message, "path": f.path, "line": f.line,
             "symbol": f.symbol, "hint": f.hint}
            for f in rc.findings
        ],
        "probes": [
            {"command": p.command, "file": p.defined_at[0], "line": p.defined_at[1], "status": p.status,
             "symbol": p.symbol, "value": p.value}
            for p in rc.probes
        ],
        "unsupported": list(rc.unsupported),
    }
    if include_values:
        payload["values"] = dict(sorted(rc.values.items()))
    return payload


def render_config_json(rc: ResolvedConfig, *, include_values: bool = True) -> str:
    return dumps(envelope("config", config_payload(rc, include_values=include_values)))
