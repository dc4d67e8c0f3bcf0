"""`cpualloc config`: resolve a Kconfig configuration and show the footprint-relevant symbols."""

from __future__ import annotations

import click

from cpualloc_cli.cli.common import emit, make_output, output_options, render_rich, warn, write_atomic
from cpualloc_cli.cli.configopts import config_findings_exit, config_options, load_config_and_text


@click.command("config")
@config_options
@click.option("--show", "show", multiple=True, metavar="SYM",
              help="Also show this symbol (repeatable; CONFIG_ prefix optional).")
@click.option("--write-config", "write_config", metavar="OUT", default=None,
              help="Write the full resolved configuration to OUT (atomically), as `make olddefconfig` would.")
@click.option("--no-cache", "no_cache", is_flag=True, help="Parse the Kconfig tree again instead of using the cache.")
@output_options(("text", "json"))
def config(arch: str | None, config: str | None, set_: tuple[str, ...], config_from: str | None, srctree: str | None,
           allow_shell: bool, kernel_version: str | None, strict: bool, show: tuple[str, ...],
           write_config: str | None, no_cache: bool, format_: str, output: str | None, no_color: bool,
           traceback_: bool) -> int:
    """Resolve a configuration exactly as the kernel's conf does (kconfiglib): the bundled
    cpu_alloc model by default, or a real tree with --srctree. Shows NR_CPUS, SMP, 64BIT,
    page size, CPU_AREA_*, the per-cpu design, RANDOMIZE_BASE, RELOCATABLE, PHYSICAL_START,
    NUMA/NODES_SHIFT, MAXSMP, CPUMASK_OFFSTACK, LOCKDEP, MODULES and --show symbols, with
    origin, range, definition and unmet dependencies. Findings are warnings; --strict
    makes them exit 1."""
    opts = make_output(format_, output, no_color, traceback_)
    shown = tuple(s.removeprefix("CONFIG_") for s in show)
    loaded = load_config_and_text(arch=arch, config=config, set_=set_, config_from=config_from, srctree=srctree,
                                  allow_shell=allow_shell, kernel_version=kernel_version, show=shown,
                                  use_cache=not no_cache)
    rc = loaded.resolved
    if write_config is not None:
        write_atomic(write_config, loaded.config_text.encode("utf-8"), option="--write-config")
    if opts.format == "json":
        from cpualloc_cli.render.config_json import render_config_json

        emit(opts, render_config_json(rc))
    else:
        from cpualloc_cli.render.config_text import draw_config

        emit(opts, render_rich(opts, lambda console: draw_config(console, rc)))
    n_warn = sum(1 for f in rc.findings if f.severity.rank >= 1)
    if n_warn:
        warn(f"{n_warn} config finding(s)" + (" (--strict: exit 1)" if strict else ""))
    return config_findings_exit(rc, strict)
