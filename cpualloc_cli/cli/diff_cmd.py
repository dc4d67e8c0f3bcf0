"""`cpualloc diff OLD NEW`"""

from __future__ import annotations

import click

from cpualloc_cli.cli.common import emit, make_output, output_options, progress, render_rich
from cpualloc_cli.errors import EXIT_FINDINGS, EXIT_OK, UsageError

#: --bloat-mode -> the scripts/bloat-o-meter option it stands for
BLOAT_MODES = {"all": "", "categories": "-c", "data": "-d", "text": "-t"}


@click.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--threshold", "threshold", default="0", show_default=True, metavar="SIZE",
              help="Only list symbols whose size changed by at least SIZE (e.g. 64, 1KiB). Totals count all.")
@click.option("--top", "top_n", type=click.IntRange(min=0), default=None, metavar="N",
              help="Only list the N symbols with the largest change.")
@click.option("--budget", "budgets", multiple=True, metavar="MEASURE=LIMIT",
              help="Growth budget against OLD, e.g. bss=+1%, image_extent=+64KiB, total=6MiB "
                   "(repeatable; exit 1 when exceeded).")
@click.option("--bloat-mode", "bloat_mode", type=click.Choice(list(BLOAT_MODES)), default="all", show_default=True,
              help="With --format bloat-o-meter: bloat-o-meter's tables: all (no option), "
                   "categories (-c), data (-d) or text (-t).")
@output_options(("text", "json", "markdown", "bloat-o-meter"))
def diff(old: str, new: str, threshold: str, top_n: int | None, budgets: tuple[str, ...], bloat_mode: str,
         format_: str, output: str | None, no_color: bool, traceback_: bool) -> int:
    """What grew between two images (ELF or compressed vmlinuz): bloat-o-meter's per-symbol
    deltas and totals (same grouping and .NUMBER folding), section and GNU size deltas, and
    deltas by kind (text, data, rodata, bss, per-cpu, init). An image without .symtab (a
    vmlinuz) gives its kallsyms symbols, with derived sizes (said in the report).

    --format bloat-o-meter prints exactly what Linux 6.1's scripts/bloat-o-meter prints for
    the two files (byte for byte); --bloat-mode picks its -c, -d or -t tables."""
    from cpualloc_cli.adapters.kallsyms_symbols import load_image_with_symbols as load_image
    from cpualloc_cli.analysis.diff import compute_diff
    from cpualloc_cli.analysis.extent import compute_extents
    from cpualloc_cli.analysis.sizes import compute_berkeley
    from cpualloc_cli.cli.common import size_option
    from cpualloc_cli.model.measures import parse_budget

    opts = make_output(format_, output, no_color, traceback_)
    if format_ == "bloat-o-meter" and (threshold != "0" or top_n is not None or budgets):
        raise UsageError("--format bloat-o-meter prints bloat-o-meter's own output: "
                         "--threshold, --top and --budget do not apply to it")
    if format_ != "bloat-o-meter" and bloat_mode != "all":
        raise UsageError("--bloat-mode goes with --format bloat-o-meter")
    threshold_bytes = size_option(threshold, "--threshold") or 0
    parsed = []
    for text in budgets:
        try:
            parsed.append((text, parse_budget(text)))
        except ValueError as exc:
            raise UsageError(f"--budget: {exc}") from None
    with progress(f"reading {old}"):
        old_image = load_image(old)
    with progress(f"reading {new}"):
        new_image = load_image(new)
    if format_ == "bloat-o-meter":
        from cpualloc_cli.analysis.diff import bloat_o_meter_tables
        from cpualloc_cli.render.diff_text import render_bloat_o_meter

        tables = bloat_o_meter_tables(old_image, new_image, BLOAT_MODES[bloat_mode])
        derived = [img for img in (old_image, new_image) if img.symbols is not None and img.symbols_from is not None]
        if derived:  # stdout stays bloat-o-meter's own format; the caveat goes to stderr
            from cpualloc_cli.analysis.diff import derived_sizes_note
            from cpualloc_cli.cli.common import note

            note("note: " + derived_sizes_note(derived))
        emit(opts, "".join(render_bloat_o_meter(t) for t in tables))
        return EXIT_OK
    old_ext = compute_extents(old_image)
    new_ext = compute_extents(new_image)
    try:
        report = compute_diff(old_image, new_image, compute_berkeley(old_image), compute_berkeley(new_image),
                              old_ext[0] if old_ext else None, new_ext[0] if new_ext else None,
                              budgets=parsed, threshold_bytes=threshold_bytes, top=top_n)
    except ValueError as exc:
        raise UsageError(f"--budget: {exc}") from None
    if opts.format == "json":
        from cpualloc_cli.render.diff_json import render_diff_json

        emit(opts, render_diff_json(report))
    elif opts.format == "markdown":
        from cpualloc_cli.render.diff_markdown import render_diff_markdown

        emit(opts, render_diff_markdown(report))
    else:
        from cpualloc_cli.render.diff_text import draw_diff

        emit(opts, render_rich(opts, lambda console: draw_diff(console, report, widen=not opts.to_terminal)))
    return EXIT_FINDINGS if report.budget_exceeded else EXIT_OK
