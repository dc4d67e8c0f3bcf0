"""`cpualloc limits`: list the limits database (and the policy's limits) with their sources."""

from __future__ import annotations

from typing import Any

import click

from cpualloc_cli.cli.common import emit, make_output, output_options, render_rich, warn
from cpualloc_cli.model.limits import Limit
from cpualloc_cli.render.safe import clean


def _bound_text(limit: Limit) -> str:
    from cpualloc_cli.render.check_common import fmt_value

    unit = "fraction" if limit.measure == "vmalloc_share" else "bytes"
    parts = []
    if limit.bound_param:
        parts.append(f"--{limit.bound_param.replace('_', '-')}")
    if limit.bound_symbol:
        parts.append(f"CONFIG_{limit.bound_symbol}")
    if limit.bound is not None:
        parts.append(fmt_value(limit.bound, unit) + (" (default)" if limit.bound_symbol else ""))
    for case in limit.bound_when:
        cond = ", ".join(f"{k}={v}" for k, v in case.config)
        parts.append(f"{fmt_value(case.bound, unit)} with {cond}")
    if limit.warn_above is not None:
        parts.append(f"warning above {fmt_value(limit.warn_above, unit)}")
    if limit.warn_within is not None:
        parts.append(f"warning within {fmt_value(limit.warn_within, unit)} of the bound")
    if limit.kind.value != "measure":
        parts.append(limit.kind.value)
    return "; ".join(parts)


def _versions(limit: Limit) -> str:
    if not limit.since and not limit.before:
        return "all"
    if limit.since and limit.before:
        return f">= {limit.since}, < {limit.before}"
    return f"< {limit.before}" if limit.before else f">= {limit.since}"


@click.command("limits")
@click.option("--arch", default=None, metavar="ARCH", help="Only the limits that apply to this arch.")
@click.option("--kernel-version", "kernel_version", default=None, metavar="X.Y.Z",
              help="Only the limits that apply to this kernel version.")
@click.option("--policy", "policy_path", default=None, metavar="FILE",
              help="Also list this policy's limits (default: the policy found from the cwd upward).")
@click.option("--platform", "platform", default=None, metavar="NAME",
              help="Show this preset (its bounds, addresses and sources) and the limits it feeds; "
                   "`--platform list` lists the presets.")
@output_options(("text", "json"))
def limits(arch: str | None, kernel_version: str | None, policy_path: str | None, format_: str, output: str | None,
           no_color: bool, traceback_: bool, platform: str | None = None) -> int:
    """List the limits database: id, arches, kernel versions, measure, bound, severity and sources."""
    from cpualloc_cli.adapters.limits_loader import load_database
    from cpualloc_cli.adapters.policy import load_policy
    from cpualloc_cli.analysis.limits import version_in_range

    opts = make_output(format_, output, no_color, traceback_)
    policy = load_policy(policy_path)
    for note in policy.notes:
        if not note.startswith("policy: using"):
            warn(note)
    from cpualloc_cli.cli.boot import all_platforms, choose_platform

    presets = all_platforms(policy)
    chosen = None
    if platform == "list":
        shown = list(presets)
    else:
        chosen = choose_platform(platform, (), policy).platform if platform else None
        shown = [chosen] if chosen is not None else []
    rows = [lim for lim in load_database() + policy.limits + (tuple(chosen.limits) if chosen is not None else ())
            if (arch is None or lim.applies_to_arch(arch))
            and (kernel_version is None or version_in_range(kernel_version, lim.since, lim.before))]
    if chosen is not None:  # the limits the preset feeds: its own, and those whose parameter it sets
        rows = [lim for lim in rows if lim.origin == f"platform {chosen.id}" or lim.bound_param in chosen.params
                or (chosen.addresses and lim.kind.value == "placement")]
    if opts.format == "json":
        from cpualloc_cli.render.jsonout import dumps, envelope

        body: dict[str, Any] = {"filters": {"arch": arch, "kernel_version": kernel_version, "platform": platform},
                                "policy": policy.path, "limits": [_limit_json(lim) for lim in rows]}
        if platform is not None:
            body["platforms"] = [_platform_json(p) for p in shown]
        emit(opts, dumps(envelope("limits", body)))
        return 0

    def draw(console: Any) -> None:
        from rich.table import Table

        from cpualloc_cli.render.check_common import fmt_value

        table = Table(show_header=True, header_style="bold")
        for col in ("id", "arches", "kernels", "measure", "bound", "severity"):
            table.add_column(col, overflow="fold")
        for lim in rows:
            table.add_row(clean(lim.id), clean(", ".join(lim.arches)), clean(_versions(lim)), clean(lim.measure or "-"),
                          clean(_bound_text(lim)), lim.severity.value + ("" if lim.strict else " (not strict)"))
        console.print(table, markup=False)
        for lim in rows:
            console.print(clean(f"{lim.id}: {lim.title}" + (f"  [{lim.origin}]" if lim.origin != "database" else "")),
                          markup=False)
            for src in lim.sources:
                console.print(clean(f"  source: {src}"), markup=False)
            if lim.note:
                console.print(clean(f"  note: {lim.note}"), markup=False)
        for p in shown:
            console.print(clean(f"platform {p.id}: {p.title}" + (f"  [{p.origin}]" if p.origin != "database" else "")),
                          markup=False)
            console.print(clean(f"  arches: {', '.join(p.arches)}"), markup=False)
            for k, v in sorted(p.params.items()):
                console.print(clean(f"  param {k} = {fmt_value(float(v), 'bytes')}"), markup=False)
            for k, v in sorted(p.addresses.items()):
                console.print(clean(f"  address {k} = 0x{v:x}"), markup=False)
            for src in p.sources:
                console.print(clean(f"  source: {src}"), markup=False)
            if p.note:
                console.print(clean(f"  note: {p.note}"), markup=False)
        console.print(f"{len(rows)} limit(s)" + (f", {len(shown)} platform preset(s)" if platform else ""))

    emit(opts, render_rich(opts, draw))
    return 0


def _limit_json(lim: Limit) -> dict[str, Any]:
    unit = "fraction" if lim.measure == "vmalloc_share" else "bytes"

    def num(v: float | None) -> int | float | None:
        if v is None:
            return None
        return round(v, 6) if unit == "fraction" else int(v)

    return {
        "id": lim.id, "title": lim.title, "arches": list(lim.arches), "since": lim.since, "before": lim.before,
        "kind": lim.kind.value, "input": lim.input, "measure": lim.measure, "bound": num(lim.bound),
        "bound_param": lim.bound_param, "bound_symbol": lim.bound_symbol,
        "bound_when": [{"config": dict(c.config), "bound": num(c.bound), "arches": list(c.arches)} for c in lim.bound_when],
        "warn_above": num(lim.warn_above), "warn_within": num(lim.warn_within), "severity": lim.severity.value,
        "strict": lim.strict,
        "fixes": list(lim.fixes), "sources": list(lim.sources), "note": lim.note, "origin": lim.origin,
    }


def _platform_json(p: Any) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "arches": list(p.arches), "params": dict(sorted(p.params.items())),
            "addresses": dict(sorted(p.addresses.items())), "limits": [lim.id for lim in p.limits],
            "sources": list(p.sources), "note": p.note, "origin": p.origin}
