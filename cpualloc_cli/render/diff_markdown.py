"""`cpualloc diff --format markdown`: a GitHub-flavoured summary for a pull request comment."""

from __future__ import annotations

from cpualloc_cli.model.diff import DiffReport
from cpualloc_cli.model.measures import format_bytes


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _opt(n: int | None) -> str:
    return "-" if n is None else str(n)


def render_diff_markdown(report: DiffReport) -> str:
    s = report.bloat.summary
    out = [
        f"### cpualloc diff: `{_cell(report.old_path)}` → `{_cell(report.new_path)}`",
        "",
        f"add/remove: {s.added}/{s.removed} grow/shrink: {s.grown}/{s.shrunk} up/down: {s.up_bytes}/{-s.down_bytes} "
        f"({s.net_bytes:+d}); symbols total {s.old_total_bytes} → {s.new_total_bytes} ({s.change_percent:+.2f}%)",
        "",
    ]
    if report.budgets:
        out += ["| budget | measure | old | new | allowed | verdict |", "|---|---|---:|---:|---:|---|"]
        for b in report.budgets:
            verdict = "❌ exceeded" if b.exceeded else "✅ ok"
            out.append(f"| `{_cell(b.text)}` | {b.measure} | {b.baseline_bytes} | {b.actual_bytes} | {b.allowed_bytes} "
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
            out.append(f"| `{_cell(x.name)}` | {x.kind.value} | {_opt(x.old_bytes)} | {_opt(x.new_bytes)} | "
                       f"{x.delta_bytes:+d} |")
    rows = report.shown_deltas()
    out += ["", f"<details><summary>{len(rows)} of {len(report.bloat.deltas)} changed symbols</summary>", "",
            "| symbol | kind | old | new | delta |", "|---|---|---:|---:|---:|"]
    for d in rows:
        out.append(f"| `{_cell(d.name)}` | {d.kind.value} | {_opt(d.old_bytes)} | {_opt(d.new_bytes)} | {d.delta_bytes:+d} |")
    out += ["", "</details>", ""]
    for n in report.notes:
        out.append(f"> {n}")
    return "\n".join(out) + "\n"
