"""`cpualloc sweep`: vary NR_CPUS (or a cpu_alloc order) and find the largest value that fits."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from cpualloc_cli.cli.boot import platform_options, policy_option
from cpualloc_cli.cli.common import emit, make_output, output_options, render_rich, write_atomic
from cpualloc_cli.cli.configopts import config_options
from cpualloc_cli.cli.footprint_cmd import (
    DESIGN_NAMES,
    common_options,
    config_exit,
    config_kwargs,
    parse_groups,
    parse_limits,
    prepare_inputs,
    scale_base,
    with_scale_base,
)
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.findings import Finding, Severity
from cpualloc_cli.model.footprint import Design, InputFact, Provenance
from cpualloc_cli.model.measures import Measure, format_bytes, parse_measure

DEFAULT_RANGE = (2, 8192)  # when the config gives no Kconfig range


def _with_database_limits(pairs: list[tuple[Measure, float]], req: Any) -> tuple[
        list[tuple[Measure, float]], list[tuple[str, bool]], list[InputFact], list[Finding]]:
    """Add the shipped database's applicable limits (applicability and bounds decided by the
    evaluation engine, as in `check`) to the --limit pairs; each one used is listed as an input
    with its source, and each one left out with the reason."""
    from cpualloc_cli.analysis.engine import sweep_bounds

    bounds, notes = sweep_bounds(req)
    out = list(pairs)
    meta: list[tuple[str, bool]] = [("", False)] * len(pairs)
    facts: list[InputFact] = []
    for b in bounds:
        pair = (Measure(b.measure), b.bound)
        if pair not in out:
            out.append(pair)
            meta.append((b.limit.id, b.limit.strict_less))
        warn_at = b.limit.warn_threshold(b.bound)
        if warn_at is not None:  # check warns above it: the sweep shows where that starts
            out.append((Measure(b.measure), warn_at))
            meta.append((f"{b.limit.id} (warning threshold)", False))
        shown = f"{b.bound:.1%}" if b.measure == "vmalloc_share" else format_bytes(int(b.bound))
        facts.append(InputFact(f"limit {b.limit.id}", f"{b.measure} {'<' if b.limit.strict_less else '<='} {shown}",
                               Provenance.DATABASE, "; ".join(b.arithmetic + b.limit.sources[:1])))
    findings = [Finding("sweep.limit-not-swept", Severity.INFO, note) for note in notes]
    return out, meta, facts, findings


def _parse_values(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        vals = sorted({int(v, 0) for v in text.replace(" ", "").split(",") if v})
    except ValueError:
        raise UsageError(f"--values: {text!r} is not a comma-separated list of integers") from None
    if not vals:
        raise UsageError("--values: no values given")
    return vals


@click.command("sweep")
@click.argument("image", required=False, metavar="[IMAGE]")
@config_options
@common_options
@click.option("--symbol", default="NR_CPUS", show_default=True,
              type=click.Choice(["NR_CPUS", "CPU_AREA_ORDER", "CPU_AREA_ALLOC_ORDER", "possible_cpus"]),
              help="The integer symbol to vary (possible_cpus: only with --measure memory_reserved).")
@click.option("--measure", "measure", type=click.Choice([Measure.MEMORY_RESERVED.value]), default=None,
              help="Instead of the designs: what the boot reserves from --memory at each value.")
@click.option("--memory", "memory", default=None, metavar="SIZE", help="With --measure memory_reserved: the RAM.")
@click.option("--machine", "machine", type=click.Choice(["flat", "qemu-pc"]), default="flat",
              help="With --measure memory_reserved: how RAM appears (see footprint --memory).")
@click.option("--crashkernel", "crashkernel", default=None, metavar="SIZE",
              help="With --measure memory_reserved: a crashkernel=SIZE.")
@click.option("--from", "from_", type=int, default=None, help="First value (default: the Kconfig range's start).")
@click.option("--to", "to", type=int, default=None, help="Last value (default: the Kconfig range's end).")
@click.option("--values", "values_", default=None, metavar="A,B,...", help="Values to show (the fit still searches the range).")
@click.option("--design", "designs", multiple=True, type=click.Choice(DESIGN_NAMES),
              help="Designs to sweep (repeatable; default: all).")
@click.option("--chart-measure", default=None, metavar="MEASURE",
              help="Measure charted against the value (default: the first --limit's, else address_space).")
@click.option("--no-chart", is_flag=True, help="Leave the terminal chart out.")
@click.option("--plot", "plot", default=None, metavar="FILE.png|svg",
              help="Also write the chart as an image (needs the 'plot' extra: matplotlib).")
@click.option("--no-database", is_flag=True,
              help="Check only the --limit bounds, not the applicable limits of the shipped database.")
@click.option("--base-size", "base_size", default=None, metavar="SIZE",
              help="Without an image: the kernel's own image extent (without a cpu area).")
@platform_options
@policy_option
@output_options(("text", "json"))
def sweep(image: str | None, symbol: str, from_: int | None, to: int | None, values_: str | None,
          designs: tuple[str, ...], chart_measure: str | None, no_chart: bool, plot: str | None, no_database: bool,
          limits: tuple[str, ...], possible_cpus: int | None, percpu_reserve: str | None,
          vmalloc_size: str | None, static_size: str | None, numa_nodes: str | None, simulate_packing: bool,
          scale_from: tuple[str, ...], base_size: str | None,
          format_: str, output: str | None, no_color: bool, traceback_: bool, platform: str | None = None,
          params_: tuple[str, ...] = (), measure: str | None = None, memory: str | None = None,
          machine: str = "flat", crashkernel: str | None = None, policy_path: str | None = None,
          **kwargs: Any) -> int:
    """Vary an integer symbol across its range and report, per design, the footprint and the
    largest value that fits each limit: the applicable limits of the shipped database (see
    `cpualloc limits`) and every --limit. Every value in the range is evaluated (the percpu span
    is not monotonic). Shows powers of two plus the range ends by default.
    """
    from cpualloc_cli.analysis.sweep import compute_sweep, default_points

    opts = make_output(format_, output, no_color, traceback_)
    cfg_kwargs = config_kwargs(kwargs)
    limit_pairs = parse_limits(limits)
    vals = _parse_values(values_)
    chart_m: Measure | None = None
    if chart_measure is not None:
        try:
            chart_m = parse_measure(chart_measure)
        except ValueError as exc:
            raise UsageError(f"--chart-measure: {exc}") from None
    plot_fmt = None
    if plot is not None:
        plot_fmt = plot.rsplit(".", 1)[-1].lower() if "." in plot else ""
        if plot_fmt not in ("png", "svg"):
            raise UsageError(f"--plot: {plot!r} must end in .png or .svg")
        from cpualloc_cli.render.plot import matplotlib_available

        if not matplotlib_available():
            raise UsageError("--plot needs matplotlib, which is not installed",
                             hint="pip install 'cpualloc[plot]'")
    groups = parse_groups(numa_nodes)
    if groups is not None and symbol == "NR_CPUS":
        raise UsageError("--numa-nodes fixes the CPU count; it cannot be combined with a sweep of NR_CPUS")
    prep = prepare_inputs(cfg_kwargs, image, possible_cpus=possible_cpus, percpu_reserve=percpu_reserve,
                          vmalloc_size=vmalloc_size, static_size=static_size, numa_groups=groups,
                          simulate_packing=simulate_packing, what="sweep", base_size=base_size,
                          default_possible=False)
    config, built = prep.config, prep.built
    base = built.inputs
    scaled = scale_base(scale_from)
    base_at = None
    if scaled is not None:
        if symbol != "NR_CPUS":
            raise UsageError("--scale-from models NR_CPUS; it cannot be combined with --symbol " + symbol)
        base_at, described = scaled
        base = with_scale_base(base, described, None, None)
    if measure is not None or symbol == "possible_cpus":
        return _reserved(opts, prep, symbol, measure, vals, from_, to, memory, machine, crashkernel, possible_cpus,
                         base_at, cfg_kwargs)
    # the range: --from/--to, else the Kconfig range, else the --values span, else 2..8192
    from cpualloc_cli.analysis.engine import compute_build_blocker, nr_cpus_range

    g = prep.gathered
    kr = (built.nr_cpus_range or nr_cpus_range(config, base.arch)) if symbol == "NR_CPUS" else None
    lo_default, hi_default = kr if kr is not None else (
        (min(vals), max(vals)) if vals else (DEFAULT_RANGE if symbol == "NR_CPUS" else (0, 13)))
    lo = from_ if from_ is not None else lo_default
    hi = to if to is not None else hi_default
    if lo > hi:
        raise UsageError(f"--from {lo} is above --to {hi}")
    if lo < (1 if symbol == "NR_CPUS" else 0):
        raise UsageError(f"{symbol} cannot be {lo}")
    if symbol != "NR_CPUS" and hi > 30:
        raise UsageError(f"{symbol} above 30 is not a page order")
    if hi - lo > 1_000_000:
        raise UsageError("the range is larger than 1,000,000 values")
    if vals is not None:
        outside = [v for v in vals if v < lo or v > hi]
        if outside:
            raise UsageError(f"--values {outside} lie outside the range {lo}..{hi}")
    points = vals if vals is not None else default_points(lo, hi)
    design_list = [Design(d) for d in designs] or list(Design)
    fixed_possible = possible_cpus
    db_facts: list[InputFact] = []
    db_findings: list[Finding] = []
    from cpualloc_cli.cli.boot import platform_for_sweep

    choice = platform_for_sweep(platform, params_, policy_path)
    req = _request(g, base, config, choice)
    meta: list[tuple[str, bool]] = [("", False)] * len(limit_pairs)
    if not no_database:
        limit_pairs, meta, db_facts, db_findings = _with_database_limits(limit_pairs, req)
    version = g.kernel_version
    cfg_values = config.values if config is not None else None
    rng = built.nr_cpus_range or nr_cpus_range(config, base.arch)

    def builds(n: int) -> str | None:
        return compute_build_blocker(cfg_values, base.arch, version, n, rng)

    from cpualloc_cli.analysis.engine import lower_bound_measures

    lower = lower_bound_measures(base, g.image.facts if g.image is not None else None,
                                 g.base if scaled is None else dataclasses.replace(g.base, exact=True))
    result = compute_sweep(base, symbol, lo, hi, points, design_list, limit_pairs, fixed_possible=fixed_possible,
                           facts=base.facts + tuple(db_facts), base_at=base_at, builds=builds,
                           lower_bound_measures=lower, limit_meta=meta)
    findings = list(built.findings) + db_findings
    for first, last, why in result.not_building:
        findings.append(Finding("sweep.does-not-build", Severity.WARNING,
                                f"{symbol}={first}..{last} does not build: {why}; no value there is offered as fitting",
                                symbol=symbol))
    if lower and any(m.value in lower for m, _ in limit_pairs):
        findings.append(Finding("sweep.lower-bound", Severity.WARNING,
                                f"no image: the kernel's own size is {g.base.source}; a value whose extent fits is only "
                                "not ruled out (inconclusive), give the image, --base-size or --scale-from to decide",
                                symbol=symbol))
    if kr is not None and (lo < kr[0] or hi > kr[1]):
        findings.append(Finding("sweep.outside-kconfig-range", Severity.WARNING,
                                f"the swept range {lo}..{hi} goes beyond {symbol}'s Kconfig range {kr[0]}..{kr[1]}: "
                                "values outside it cannot be configured (conf would fall back to the default)",
                                symbol=symbol))
    if findings:
        from dataclasses import replace

        result = replace(result, findings=tuple(findings))
    if chart_m is None and not no_chart:
        from cpualloc_cli.render.sweep_text import default_chart_measure

        chart_m = default_chart_measure(limit_pairs, design_list)
    if opts.format == "json":
        from cpualloc_cli.render.footprint_json import sweep_payload
        from cpualloc_cli.render.jsonout import dumps, envelope

        plat_id = plat_src = None
        if choice is not None and choice.platform is not None:
            plat_id, plat_src = choice.platform.id, choice.source
        text = dumps(envelope("sweep", sweep_payload(result, plat_id, plat_src)))
    else:
        from cpualloc_cli.render.sweep_text import draw_sweep

        text = render_rich(opts, lambda console: draw_sweep(console, result, limit_pairs,
                                                            None if no_chart else chart_m))
    if plot is not None and plot_fmt is not None:
        from cpualloc_cli.render.plot import render_plot

        try:
            data = render_plot(result, chart_m or Measure.ADDRESS_SPACE, limit_pairs, plot_fmt)
        except ImportError:
            raise InputError("matplotlib could not be imported", hint="pip install 'cpualloc[plot]'") from None
        write_atomic(plot, data, option="--plot")
    emit(opts, text)
    return config_exit(config, cfg_kwargs)


def _reserved(opts: Any, prep: Any, symbol: str, measure: str | None, vals: list[int] | None, from_: int | None,
              to: int | None, memory: str | None, machine: str, crashkernel: str | None, possible: int | None,
              base_at: Any, cfg_kwargs: Any) -> int:
    """--measure memory_reserved: over NR_CPUS (its Kconfig range) or possible_cpus (1..NR_CPUS)."""
    from cpualloc_cli.analysis.engine import nr_cpus_range
    from cpualloc_cli.analysis.sweep import default_points
    from cpualloc_cli.cli.sweep_memory import run_reserved_sweep

    if measure is None:
        raise UsageError("--symbol possible_cpus needs --measure memory_reserved")
    if symbol not in ("NR_CPUS", "possible_cpus"):
        raise UsageError(f"--measure memory_reserved sweeps NR_CPUS or possible_cpus, not {symbol}")
    nr = prep.built.inputs.nr_cpus
    kr = (prep.built.nr_cpus_range or nr_cpus_range(prep.config, prep.built.inputs.arch)
          if symbol == "NR_CPUS" else None) or ((2, 8192) if symbol == "NR_CPUS" else (1, nr))
    lo = from_ if from_ is not None else min(vals) if vals else kr[0]
    hi = to if to is not None else max(vals) if vals else kr[1]
    if lo < 1 or lo > hi or hi - lo > 1_000_000:
        raise UsageError(f"the range {lo}..{hi} is empty, below 1 or larger than 1,000,000 values")
    bss_at = (lambda n: int(base_at(n)[0])) if base_at is not None else None
    rc = run_reserved_sweep(opts, prep, symbol, vals or default_points(lo, hi), memory, machine, crashkernel,
                            possible, bss_at)
    return max(rc, config_exit(prep.config, cfg_kwargs))


def _request(g: Any, base: Any, config: ResolvedConfig | None, platform: Any = None) -> Any:
    """The engine request a sweep's limits are selected with (the same as check's); a --platform
    preset adds its bounds (params), limits and addresses."""
    from cpualloc_cli.adapters.limits_loader import load_database
    from cpualloc_cli.analysis.engine import EvalRequest
    from cpualloc_cli.cli.boot import platform_request

    return EvalRequest(arch=base.arch, kernel_version=g.kernel_version, kernel_version_source=g.kernel_version_source,
                       limits=load_database() + (platform.limits if platform is not None else ()), config=config,
                       inputs=base, image=g.image.facts if g.image is not None else None, base=g.base,
                       **platform_request(platform))
