"""`cpualloc scale IMAGE@N IMAGE@M [IMAGE@K...]`"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import click

from cpualloc_cli.cli.boot import platform_options, policy_option
from cpualloc_cli.cli.common import emit, make_output, output_options, progress, render_rich
from cpualloc_cli.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.scale import ScalePoint

_AT_N = re.compile(r"^(.*)@(\d+)$")
PREDICTABLE = ("text", "data", "bss", "total", "image_extent")


def split_image_arg(arg: str) -> tuple[str, int | None]:
    """`vmlinux@256` -> ("vmlinux", 256); `vmlinux` -> ("vmlinux", None)."""
    m = _AT_N.match(arg)
    if m and m.group(1):
        return m.group(1), int(m.group(2))
    return arg, None


def config_value(config_text: str, symbol: str) -> int | None:
    m = re.search(rf"^CONFIG_{re.escape(symbol)}=(0x[0-9a-fA-F]+|\d+)\s*$", config_text, re.M)
    if not m:
        return None
    return int(m.group(1), 0)


def _config_lines(config_text: str, symbol: str) -> set[str]:
    skip = f"CONFIG_{symbol}="
    return {ln.strip() for ln in config_text.splitlines()
            if ln.strip() and not ln.startswith(skip) and (ln.startswith("CONFIG_") or ln.startswith("# CONFIG_"))}


def kernel_version(config_text: str | None, banner: str | None) -> str | None:
    """`6.1.192` from the config header (`# Linux/sparc64 6.1.192 Kernel Configuration`) or
    the banner (`Linux version 6.1.192 ...`)."""
    if config_text:
        m = re.search(r"^# Linux/\S+ (\S+) Kernel Configuration", config_text, re.M)
        if m:
            return m.group(1)
    if banner:
        m = re.search(r"Linux version (\S+)", banner)
        if m:
            return m.group(1)
    return None


def parse_config_values(config_text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in config_text.splitlines():
        m = re.match(r"^CONFIG_(\w+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2).strip().strip('"')
            continue
        m = re.match(r"^# CONFIG_(\w+) is not set", line)
        if m:
            values[m.group(1)] = "n"
    return values


@click.command("scale")
@click.argument("images", nargs=-1, required=True, metavar="IMAGE[@N]...")
@click.option("--symbol", "symbol", default="NR_CPUS", show_default=True, metavar="NAME",
              help="The Kconfig symbol the images differ in.")
@click.option("--at", "at", type=click.IntRange(min=1), default=4096, show_default=True, metavar="N",
              help="The value to predict at.")
@click.option("--limit", "limits", multiple=True, metavar="MEASURE=SIZE",
              help=f"A bound to find the largest value for ({', '.join(PREDICTABLE)}), e.g. image_extent=8MiB "
                   "(repeatable; exit 1 when the prediction at --at exceeds it).")
@click.option("--limits-db/--no-limits-db", "use_db", default=True, show_default=True,
              help="Also answer the limits of the built-in database that apply to these images "
                   "(arch, kernel version and config from the embedded config or banner).")
@click.option("--search-max", "search_max", type=click.IntRange(min=1), default=None, metavar="N",
              help="Largest value searched for limit answers (default: the arch's NR_CPUS Kconfig maximum, or "
                   "max(8192, 2*--at)).")
@click.option("--top", "top_n", type=click.IntRange(min=0), default=25, show_default=True,
              help="Rows per table in text output (JSON has all).")
@platform_options
@policy_option
@output_options(("text", "json"))
def scale(images: tuple[str, ...], symbol: str, at: int, limits: tuple[str, ...], use_db: bool, search_max: int | None,
          top_n: int, format_: str, output: str | None, no_color: bool, traceback_: bool, platform: str | None = None,
          params_: tuple[str, ...] = (), policy_path: str | None = None) -> int:
    """Fit how every symbol, section and the image extent scale with NR_CPUS (or --symbol)
    from images of one tree and config built at several values: constant, linear, bitmap
    or array of bitmaps; predict the totals at --at with an uncertainty band; and find the
    largest value that fits each --limit. Write IMAGE@N, or just IMAGE to read N from the
    image's embedded config (CONFIG_IKCONFIG)."""
    from cpualloc_cli.analysis.scale import compute_scale
    from cpualloc_cli.model.measures import parse_limit

    opts = make_output(format_, output, no_color, traceback_)
    symbol = symbol.removeprefix("CONFIG_")
    if len(images) < 2:
        raise UsageError("scale needs at least two images", hint="e.g. cpualloc scale vmlinux-64@64 vmlinux-256@256")
    parsed_limits: list[tuple[str, int] | tuple[str, int, str]] = []
    for text in limits:
        try:
            measure, bound = parse_limit(text)
        except ValueError as exc:
            raise UsageError(f"--limit: {exc}") from None
        if measure.value not in PREDICTABLE:
            raise UsageError(f"--limit {text}: scale predicts {', '.join(PREDICTABLE)}, not {measure.value}")
        parsed_limits.append((measure.value, int(bound)))

    points, configs, arch, banner = load_scale_points(images, symbol)

    extra: list[str] = []
    builds = None
    if arch is not None:
        from cpualloc_cli.adapters.limits_loader import load_database
        from cpualloc_cli.analysis.engine import EvalRequest, compute_build_blocker, nr_cpus_range, sweep_bounds

        last_config = configs[-1][1] if configs else None
        version = kernel_version(last_config, banner)
        values = parse_config_values(last_config) if last_config else None
        resolved = ResolvedConfig(arch=arch, kernel_version=version or "", kernel_version_source="image",
                                  values=values) if values is not None else None
        from cpualloc_cli.cli.boot import platform_for_sweep, platform_request

        choice = platform_for_sweep(platform, params_, policy_path)
        req = EvalRequest(arch=arch, kernel_version=version, kernel_version_source="image",
                          limits=load_database() + (choice.limits if choice is not None else ()), config=resolved,
                          **platform_request(choice))
        if use_db:
            # the same applicability and bounds as check and sweep
            bounds, db_notes = sweep_bounds(req, frozenset(PREDICTABLE), "scale")
            for b in bounds:
                parsed_limits.append((b.measure, int(b.bound), b.limit.id))
            extra.extend(db_notes)
        rng = nr_cpus_range(resolved, arch)
        if symbol == "NR_CPUS":
            def builds(n: int) -> str | None:
                return compute_build_blocker(values, arch, version, n, rng)
        if search_max is None and symbol == "NR_CPUS" and rng is not None:
            search_max = max(rng[1], at)  # the arch's Kconfig range for NR_CPUS
    try:
        report = compute_scale(points, at, symbol=symbol, limits=parsed_limits, search_max=search_max,
                               builds=builds)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if len(configs) == len(images) and len(configs) >= 2:
        base = _config_lines(configs[0][1], symbol)
        for path, text in configs[1:]:
            other = _config_lines(text, symbol)
            if other != base:
                names = sorted({ln.split("=")[0].removeprefix("# ").split(" ")[0] for ln in other ^ base})
                extra.append(f"{path}: the embedded config differs from {configs[0][0]} in more than {symbol}: "
                             + ", ".join(names[:6]) + (" ..." if len(names) > 6 else ""))
    elif len(configs) < len(images):
        extra.append("not every image embeds its config: cannot check that they differ only in " + symbol)
    if extra:
        report = dataclasses.replace(report, notes=report.notes + tuple(extra))

    if opts.format == "json":
        from cpualloc_cli.render.scale_json import render_scale_json

        emit(opts, render_scale_json(report))
    else:
        from cpualloc_cli.render.scale_text import draw_scale

        emit(opts, render_rich(opts, lambda console: draw_scale(console, report, top_n)))
    return EXIT_FINDINGS if any(not a.fits_at for a in report.limits) else EXIT_OK


def load_scale_points(images: Sequence[str], symbol: str) -> tuple[list[ScalePoint], list[tuple[str, str]], str | None,
                                                                   str | None]:
    """Read IMAGE@N arguments (N from the embedded config when @N is left out) into scale
    points; also returns the embedded configs, the arch and a banner. Used by `scale` and by
    `footprint`/`sweep --scale-from`."""
    from cpualloc_cli.adapters.elf import is_elf_file
    from cpualloc_cli.adapters.kallsyms_symbols import load_image_with_symbols as load_image
    from cpualloc_cli.analysis.extent import compute_extents
    from cpualloc_cli.analysis.scale import compute_scale_point
    from cpualloc_cli.analysis.sizes import compute_berkeley

    points: list[ScalePoint] = []
    configs: list[tuple[str, str]] = []
    arch: str | None = None
    banner: str | None = None
    for arg in images:
        path, n = split_image_arg(arg)
        config_text = _ikconfig(path, required=n is None, symbol=symbol)
        if config_text is not None:
            configs.append((path, config_text))
            from_config = config_value(config_text, symbol)
            if n is None:
                if from_config is None:
                    raise InputError(f"the embedded config has no CONFIG_{symbol}", path=path,
                                     hint=f"write {path}@N to give the value")
                n = from_config
            elif from_config is not None and from_config != n:
                raise UsageError(f"{arg}: the embedded config says CONFIG_{symbol}={from_config}",
                                 hint="drop the @N or correct it")
        assert n is not None
        with progress(f"reading {path}"):
            image = load_image(path)
        if arch is not None and image.header.arch != arch:
            raise UsageError(f"{path} is {image.header.arch} but {points[0].label} is {arch}",
                             hint="scale needs images of one tree and config, differing only in " + symbol)
        arch = image.header.arch
        banner = image.banner or banner
        extents = compute_extents(image)
        dwarf = None
        if image.section(".debug_info") is not None and is_elf_file(path):
            from cpualloc_cli.adapters.dwarf import read_dwarf_arrays

            dwarf = read_dwarf_arrays(path)
        points.append(compute_scale_point(image, n, compute_berkeley(image), extents[0] if extents else None, path,
                                          dwarf))

    return points, configs, arch, banner


def _ikconfig(path: str, *, required: bool, symbol: str) -> str | None:
    """The image's embedded .config, or None when it has none and @N was given (a missing
    or unreadable file is then reported by the image reader)."""
    from cpualloc_cli.adapters.ikconfig import read_ikconfig

    try:
        return read_ikconfig(path)
    except InputError as exc:
        if required:
            raise InputError(f"no @N given and cannot read CONFIG_{symbol} from an embedded config: {exc.message}",
                             path=path, hint=f"write {path}@N") from None
        return None
