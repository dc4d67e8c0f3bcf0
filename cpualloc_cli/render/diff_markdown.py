"""`cpualloc diff --format markdown`: a GitHub-flavoured summary for a pull request comment.

Names and paths are code spans made safe by render.markdown.md_code (control characters visible,
pipes escaped, fenced past any backticks they hold)."""

from __future__ import annotations

from cpualloc_cli.model.diff import DiffReport
from cpualloc_cli.model.measures import format_bytes
from cpualloc_cli.render.markdown import md_code, md_text


def _opt(n: int | None) -> str:
    return "-" if n is None else str(n)


def render_diff_markdown(report: DiffReport) -> str:
    s = report.bloat.summary
    out = [
        f"### cpualloc diff: {md_code(report.old_path)} → {md_code(report.new_path)}",
        "",
        f"add/remove: {s.added}/{s.removed} grow/shrink: {s.grown}/{s.shrunk} up/down: {s.up_bytes}/{-s.down_bytes} "
        f"({s.net_bytes:+d}); symbols total {s.old_total_bytes} → {s.new_total_bytes} ({s.change_percent:+.2f}%)",
        "",
    ]
    if report.budgets:
        out += ["| budget | measure | old | new | allowed | verdict |", "|---|---|---:|---:|---:|---|"]
        for b in report.budgets:
            verdict = "❌ exceeded" if b.exceeded else "✅ ok"
            out.append(f"| {md_code(b.text)} | {b.measure} | {b.baseline_bytes} | {b.actual_bytes} | {b.allowed_bytes} "
                       f"| {verdict} |")
        out.append("")
    out += ["| measure | old | new | delta | |", "|---|---:|---:|---:|---|"]
    for m in report.measures:
        out.append(f"| {m.measure} | {m.old_bytes} | {m.new_bytes} | {m.delta_bytes:+d} | {format_bytes(m.delta_bytes)} |")
    out += ["", "| kind | old | new | delta |", "|---|---:|---:|---:|"]
    for k in report.kinds:
        if k.old_bytes == k.new_bytes == 0:
            continue
        out.append(f"| {k.kind.value} | {k.old_bytes} | {k.new_bytes} | {k.delta_bytes:+d} |")
    changed = [x for x in report.sections if x.delta_bytes]
    if changed:
        out += ["", "| section | kind | old | new | delta |", "|---|---|---:|---:|---:|"]
        for x in changed:
            out.append(f"| {md_code(x.name)} | {x.kind.value} | {_opt(x.old_bytes)} | {_opt(x.new_bytes)} | "
                       f"{x.delta_bytes:+d} |")
    rows = report.shown_deltas()
    out += ["", f"<details><summary>{len(rows)} of {len(report.bloat.deltas)} changed symbols</summary>", "",
            "| symbol | kind | old | new | delta |", "|---|---|---:|---:|---:|"]
    for d in rows:
        out.append(f"| {md_code(d.name)} | {d.kind.value} | {_opt(d.old_bytes)} | {_opt(d.new_bytes)} | {d.delta_bytes:+d} |")
    out += ["", "</details>", ""]
    for n in report.notes:
        out.append(f"> {md_text(n)}")
    return "\n".join(out) + "\n"
