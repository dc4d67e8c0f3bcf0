"""`cpualloc check`: every applicable limit over what can be measured; the CI lint step."""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import click

from cpualloc_cli.cli.boot import placement_options, platform_options
from cpualloc_cli.cli.common import emit, make_output, output_options, render_rich, size_option, warn
from cpualloc_cli.cli.configopts import config_options
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.footprint import Design
from cpualloc_cli.model.limits import BudgetOutcome, CheckInputs, CheckReport, Status
from cpualloc_cli.model.measures import Budget, Measure, parse_budget

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "json", "sarif", "github", "markdown", "junit")
DESIGN_NAMES = [d.value for d in Design]
BOOT_IMAGE_GLOBS = ("arch/*/boot/bzImage", "arch/*/boot/zImage", "arch/*/boot/Image.gz", "arch/*/boot/Image",
                    "arch/*/boot/vmlinuz*", "arch/*/boot/image", "arch/*/boot/*Image*")
MAX_CONFIG_WARNINGS = 5


def find_build_dir(build_dir: str) -> dict[str, str | None]:
    """A kernel `O=` directory: its .config, vmlinux, arch/*/boot image and source tree."""
    if not os.path.isdir(build_dir):
        raise InputError("not a directory (give the kernel's O= build directory)", path=build_dir)
    found: dict[str, str | None] = {"config": None, "vmlinux": None, "boot": None, "srctree": None}
    cfg = os.path.join(build_dir, ".config")
    if os.path.isfile(cfg):
        found["config"] = cfg
    vml = os.path.join(build_dir, "vmlinux")
    if os.path.isfile(vml):
        found["vmlinux"] = vml
    for pattern in BOOT_IMAGE_GLOBS:
        hits = sorted(h for h in glob.glob(os.path.join(build_dir, pattern)) if os.path.isfile(h))
        if hits:
            found["boot"] = hits[0]
            break
    src = os.path.join(build_dir, "source")
    if os.path.isdir(src):
        found["srctree"] = os.path.realpath(src)
    return found


def config_lines(path: str | None) -> dict[str, int]:
    """SYMBOL -> line of its assignment in a .config, so findings can point at it."""
    if path is None:
        return {}
    out: dict[str, int] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for n, raw in enumerate(fh, 1):
                line = raw.strip()
                if line.startswith("CONFIG_") and "=" in line:
                    out[line[7:].split("=", 1)[0]] = n
                elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                    out[line[9:-11]] = n
    except OSError:
        return {}
    return out


# How many of the image's largest symbols `check --format json` records for a later --baseline.
SYMBOL_SIZES_RECORDED = 1000


def _with_growth(b: BudgetOutcome, baseline: dict[str, tuple[int, str]],
                 current: dict[str, tuple[int, str]], symbols_from: str | None = None) -> BudgetOutcome:
    """An overrun budget names the symbols that grew most since the baseline (of the recorded
    largest symbols on each side); `symbols_from` says where derived sizes came from."""
    from cpualloc_cli.analysis.diff import compute_symbol_growth

    if b.status is not Status.FAIL:
        return b
    grown = compute_symbol_growth(baseline, current, b.measure)
    if not grown:
        return b
    text = ", ".join(f"{name} {new - old:+d} B ({old} -> {new})" for name, old, new in grown)
    how = f" (current sizes derived from {symbols_from}: no .symtab)" if symbols_from else ""
    return replace(b, arithmetic=b.arithmetic + (f"grew most since the baseline: {text}{how}",))


@click.command("check")
@click.argument("images", nargs=-1, metavar="[IMAGE]...")
@config_options
@click.option("--design", type=click.Choice(DESIGN_NAMES), default=None,
              help="Per-cpu design to check (default: the config's choice, then the arch's).")
@click.option("--build-dir", "build_dir", default=None, metavar="O",
              help="A kernel O= build directory: its .config, vmlinux, arch/*/boot image and source link.")
@click.option("--modules", "modules_dir", default=None, metavar="DIR",
              help="Also check every module DIR/modules.order names, in its order (a build tree or "
                   "lib/modules/VERSION), each against the limits for modules.")
@click.option("--policy", "policy_path", default=None, metavar="FILE",
              help="Policy file (default: cpualloc.toml or [tool.cpualloc] in pyproject.toml, cwd upward).")
@click.option("--baseline", "baseline_path", default=None, metavar="PREV.json",
              help="An earlier `check --format json`, for --budget (and the kernel's size when there is no image).")
@click.option("--budget", "budgets", multiple=True, metavar="MEASURE=+N%",
              help="Growth budget against --baseline, e.g. bss=+1% or image_extent=+64KiB (repeatable).")
@click.option("--fail-on", "fail_on", multiple=True, type=click.Choice(["warning", "error", "inconclusive"]),
              help="What gives exit 1: error (default, or the policy's fail_on), warning (errors and warnings), "
                   "inconclusive (also limits the inputs cannot decide). Repeatable.")
@click.option("--crashkernel", default=None, metavar="SIZE", help="crashkernel= reservation to fit (kdump).")
@click.option("--possible-cpus", "possible_cpus", type=click.IntRange(min=1), default=None,
              help="CPUs possible at boot (default: as footprint's, DEFAULT_POSSIBLE_CPUS for an image, else "
                   "NR_CPUS): the per-cpu measures and the boot memory limits (--param memory=) use it.")
@click.option("--load-window", "load_window", default=None, metavar="SIZE",
              help="Boot loader load window for the compressed image (OpenBoot: about 10 MB).")
@click.option("--base-size", "base_size", default=None, metavar="SIZE",
              help="Without an image: the kernel's own image extent (without a cpu area), e.g. from a previous build.")
@click.option("--scale-from", "scale_from", multiple=True, metavar="IMAGE@N",
              help="Without an image: builds of the same tree at several NR_CPUS; their scale model gives the "
                   "kernel's own size at the config's NR_CPUS.")
@click.option("--symbols-from", "symbols_from", default=None, metavar="FILE",
              help="Symbols for an IMAGE without .symtab from /proc/kallsyms or a System.map (sizes derived); "
                   "default: the image's own kallsyms.")
@platform_options
@placement_options
@output_options(FORMATS)
def check(images: tuple[str, ...], design: str | None, build_dir: str | None, modules_dir: str | None,
          policy_path: str | None,
          baseline_path: str | None, budgets: tuple[str, ...], fail_on: tuple[str, ...], crashkernel: str | None,
          possible_cpus: int | None, load_window: str | None, base_size: str | None, scale_from: tuple[str, ...],
          symbols_from: str | None,
          format_: str,
          output: str | None, no_color: bool, traceback_: bool,
          arch: str | None, config: str | None, set_: tuple[str, ...], config_from: str | None,
          srctree: str | None, allow_shell: bool, kernel_version: str | None, strict: bool,
          platform: str | None = None, params_: tuple[str, ...] = (), boot_image: str | None = None,
          dtb_path: str | None = None, dtb_size: str | None = None, initrd_path: str | None = None,
          initrd_size: str | None = None, load_addr: str | None = None, dtb_addr: str | None = None,
          initrd_addr: str | None = None, ram_base: str | None = None, ram_size: str | None = None) -> int:
    """Check a config and/or an IMAGE against every limit that applies to its arch and kernel
    version, plus the policy's own limits and budgets.

    Exit 1 on an error (or a warning with --fail-on warning, or an inconclusive limit with
    --fail-on inconclusive) or a budget overrun; limits that cannot be evaluated for lack of
    input are listed as skipped, with the reason. Without an image, the kernel's own size comes
    from --base-size, --scale-from, the baseline or a cited lower bound (`inconclusive` when
    that cannot decide).
    """
    from cpualloc_cli.adapters.baseline import baseline_exact_measures, read_baseline
    from cpualloc_cli.adapters.limits_loader import load_database
    from cpualloc_cli.adapters.policy import load_policy
    from cpualloc_cli.analysis.engine import EvalRequest, evaluate
    from cpualloc_cli.analysis.limits import evaluate_budgets
    from cpualloc_cli.cli.gather import gather, read_image

    opts = make_output(format_, output, no_color, traceback_)
    paths = list(images)
    if modules_dir is not None:
        from cpualloc_cli.adapters.modules_order import modules_in_order

        paths += modules_in_order(modules_dir)
    image: str | None = images[0] if images else None
    params: dict[str, int] = {}
    budget_list: list[Budget] = []
    for text in budgets:
        try:
            budget_list.append(parse_budget(text))
        except ValueError as exc:
            raise UsageError(f"--budget: {exc}") from None
    if budget_list and baseline_path is None:
        raise UsageError("--budget needs --baseline PREVIOUS.json (an earlier `check --format json`)")

    given_boot_image = boot_image
    if build_dir is not None:
        found = find_build_dir(build_dir)
        if config is None and config_from is None and found["config"] is not None:
            config = found["config"]
        if image is None and found["vmlinux"] is not None:
            image = found["vmlinux"]
        boot_image = boot_image or found["boot"]
        if srctree is None and found["srctree"] is not None:
            srctree = found["srctree"]
        if config is None and image is None:
            raise InputError("no .config and no vmlinux in the build directory", path=build_dir,
                             hint="run the kernel build first, or give --config / IMAGE")
        if not images and image is not None:
            paths.insert(0, image)  # the build's vmlinux, then the --modules modules
    many = len(paths) > 1
    if many and (baseline_path is not None or budgets):
        raise UsageError("--baseline and --budget compare one image with its earlier check: give one IMAGE")
    if many and symbols_from is not None:
        raise UsageError("--symbols-from gives the symbols of one image: give one IMAGE")
    if many and (base_size is not None or scale_from):
        raise UsageError("--base-size and --scale-from are for a config without an image")
    if image is None and paths:
        image = paths[0]

    policy = load_policy(policy_path)
    for note in policy.notes:
        if not note.startswith("policy: using"):
            warn(note)
    from cpualloc_cli.cli.boot import choose_platform, gather_boot

    plat = choose_platform(platform, params_, policy)
    params.update(plat.params)
    for name, opt_value in (("crashkernel", size_option(crashkernel, "--crashkernel")),
                            ("load_window", size_option(load_window, "--load-window"))):
        if opt_value is not None:
            params[name] = opt_value
    given = {b.measure for b in budget_list}
    budget_list += [b for b in policy.budgets if b.measure not in given]
    baseline, baseline_syms = read_baseline(baseline_path) if baseline_path is not None else (None, {})
    exact = baseline_exact_measures(baseline_path) if baseline_path is not None else frozenset()
    base_from_baseline = {k: v for k, v in (baseline or {}).items() if k in exact} or None
    severities = [f for f in fail_on if f != "inconclusive"]
    fail_threshold = ("warning" if "warning" in severities else "error") if severities else (policy.fail_on or "error")
    fail_inconclusive = "inconclusive" in fail_on or bool(getattr(policy, "fail_on_inconclusive", False))
    if image is not None and (base_size is not None or scale_from):
        raise UsageError("--base-size and --scale-from are for a config without an image")

    cfg_kwargs = dict(arch=arch, config=config, set_=set_, config_from=config_from, srctree=srctree,
                      allow_shell=allow_shell, kernel_version=kernel_version, strict=strict)
    warned_config: list[bool] = []
    warned_waivers: set[str] = set()
    config_memo: dict[Any, Any] = {}  # the same options resolve once, for every image
    all_limits = load_database() + policy.limits + plat.limits  # read once, for every image

    def check_one(image: str | None, boot_image: str | None) -> CheckReport:
        nonlocal arch
        boot = gather_boot(plat, given_boot_image, dtb_path, dtb_size, initrd_path, initrd_size, load_addr, dtb_addr,
                           initrd_addr, ram_base, ram_size)
        facts_path = boot_image
        if given_boot_image is None and boot_image is None and image is not None and os.path.isfile(image):
            from cpualloc_cli.adapters.elf import is_elf_file

            if not is_elf_file(image):  # a bzImage or Image.gz given as IMAGE: its header facts too
                facts_path = image
        if given_boot_image is None and facts_path is not None:
            from cpualloc_cli.adapters.image import read_boot_facts
            from cpualloc_cli.errors import CpuallocError

            try:  # the build directory's arch/*/boot image (or IMAGE): its header facts when it has readable ones
                boot["boot_kernel"] = read_boot_facts(facts_path)
            except CpuallocError as exc:
                warn(f"{facts_path}: boot image header not read ({exc})")
        if symbols_from is not None and image is None:
            raise UsageError("--symbols-from goes with an IMAGE (the image without .symtab it gives symbols for)")
        img = read_image(image, symbols_from) if image is not None else None
        has_config = bool(arch or config or set_ or config_from or srctree)
        if img is None and not has_config and boot["boot_kernel"] is not None:
            arch = _boot_arch(boot["boot_kernel"], arch)
            has_config = arch is not None
            cfg_kwargs["arch"] = arch
        if img is None and not has_config:
            raise UsageError("nothing to check: give a config (--arch/--config/--set), an IMAGE or --build-dir")
        scaled = None
        if scale_from:
            from cpualloc_cli.cli.footprint_cmd import scale_kernel_base

            scaled = scale_kernel_base(scale_from, cfg_kwargs)
        module = img is not None and img.facts.input_kind != "kernel"
        g = gather(cfg_kwargs, None, image=img, arch_opt=arch, base_size=base_size, scaled=scaled,
                   baseline=base_from_baseline, possible_cpus=possible_cpus, config_memo=config_memo)
        resolved = g.config
        extra: dict[str, float] = {}
        extra_src: dict[str, str] = {}
        if boot_image is not None:
            extra["compressed_size"] = float(os.path.getsize(boot_image))
            extra_src["compressed_size"] = f"file size of {boot_image}"
        inp = None if module else g.built.inputs
        req = EvalRequest(
            arch=g.built.inputs.arch if not module or img is None else img.image.header.arch,
            kernel_version=g.kernel_version, kernel_version_source=g.kernel_version_source,
            limits=all_limits, waivers=policy.waivers, config=resolved,
            config_lines=config_lines(resolved.config_path if resolved is not None and resolved.config_path
                                      and os.path.isfile(resolved.config_path) else None),
            inputs=inp, config_design=g.built.config_design, cli_design=Design(design) if design else None,
            image=img.facts if img is not None else None, base=g.base, extra_measures=extra, extra_sources=extra_src,
            params=params, today=dt.date.today(), **boot)
        from cpualloc_cli.cli.bootmem_opts import boot_memory_request

        req = replace(req, **boot_memory_request(inp, img.image if img is not None else None, resolved, params,
                                                 boot["placement"].initrd_size if boot.get("placement") else None, warn))
        ev = evaluate(req)
        measures = ev.measures.values
        known = {lim.id for lim in req.limits} | {f"budget.{m.value}" for m in Measure}
        for w in policy.waivers:
            if w.rule not in known and w.rule not in warned_waivers:
                warned_waivers.add(w.rule)  # once, not once per image
                warn(f"{w.origin}: waiver for unknown rule {w.rule!r} silences nothing (see `cpualloc limits`)")
        budget_out = evaluate_budgets(budget_list, baseline, measures, policy.waivers, req.today)
        symbol_sizes: dict[str, tuple[int, str]] = {}
        if img is not None and img.image.symbols is not None:
            from cpualloc_cli.analysis.diff import compute_symbol_sizes

            symbol_sizes = compute_symbol_sizes(img.image, limit=SYMBOL_SIZES_RECORDED)
        if baseline_syms and symbol_sizes:
            derived_from = img.image.symbols_from if img is not None else None
            budget_out = tuple(_with_growth(b, baseline_syms, symbol_sizes, derived_from) for b in budget_out)
        basis = "+".join(p for p, on in (("image", img is not None), ("config", resolved is not None)) if on)
        strict_findings: tuple[str, ...] = ()
        if strict and resolved is not None:
            strict_findings = tuple(f"{f.path or 'config'}{':' + str(f.line) if f.line else ''}: {f.message}"
                                    for f in resolved.findings if f.severity.rank >= 1)
        nr_fact = next((f for f in g.built.inputs.facts if f.name == "nr_cpus"), None)
        from cpualloc_cli.analysis.engine import describe_base

        report = CheckReport(
            inputs=CheckInputs(arch=req.arch, kernel_version=g.kernel_version,
                               kernel_version_source=g.kernel_version_source if g.kernel_version else None,
                               design=ev.design.value if ev.design else None, design_source=ev.design_source,
                               config_path=resolved.config_path if resolved is not None else None, image_path=image,
                               boot_image_path=boot_image, baseline_path=baseline_path, policy_path=policy.path,
                               basis=basis, measures=measures, measure_sources=ev.measures.sources,
                               symbol_sizes=symbol_sizes, config_source=g.config_origin,
                               base=describe_base(g.base) if img is None else f"measured from {image}",
                               lower_bound_measures=tuple(sorted(ev.measures.lower_bounds)),
                               nr_cpus=ev.nr_cpus if not module else None,
                               nr_cpus_source=(nr_fact.note or nr_fact.provenance.value) if nr_fact and not module else "",
                               platform=plat.platform.id if plat.platform is not None else None,
                               platform_source=plat.source),
            outcomes=ev.outcomes, budgets=budget_out, not_applicable=ev.not_applicable, fail_on=fail_threshold,
            fail_on_inconclusive=fail_inconclusive, strict_findings=strict_findings)
        if resolved is not None and not warned_config:  # once, not once per image
            warned_config.append(True)
            shown = [f for f in resolved.findings if f.severity.rank >= 1]
            for f in shown[:MAX_CONFIG_WARNINGS]:
                warn(f"{f.path or 'config'}{':' + str(f.line) if f.line else ''}: {f.message}")
            if len(shown) > MAX_CONFIG_WARNINGS:
                warn(f"{len(shown) - MAX_CONFIG_WARNINGS} more config finding(s); `cpualloc config` lists them all")
        return report

    if not many:
        report = check_one(image, boot_image)
        emit(opts, render_check(opts, report))
        return report.exit_code
    from cpualloc_cli.cli.inspect_run import error_line
    from cpualloc_cli.errors import CpuallocError

    reports: list[CheckReport] = []
    failures: list[tuple[str, str]] = []
    for path in paths:
        try:
            # the build directory's boot image belongs to its vmlinux, not to the modules
            reports.append(check_one(path, boot_image if path == image and not path.endswith(".ko") else None))
        except CpuallocError as exc:
            if not isinstance(exc, InputError):
                raise
            failures.append((path, exc.one_line()))
            error_line(exc.one_line())
    from cpualloc_cli.render.check_many import draw_check_many, many_exit_code, render_check_many

    if failures:
        error_line(f"{len(failures)} of {len(paths)} inputs could not be read; the others are reported")
    if opts.format == "text":
        emit(opts, render_rich(opts, lambda console: draw_check_many(console, reports, failures)))
    else:
        emit(opts, render_check_many(opts.format, reports, failures))
    return many_exit_code(reports, failures)


def _boot_arch(kernel: Any, arch: str | None) -> str | None:
    """The arch a boot image implies when no config or ELF says (arm64 Image, zImage, bzImage)."""
    if arch is not None:
        return arch
    kind = kernel.inner_kind or kernel.kind
    return {"arm64-image": "arm64", "arm-zimage": "arm", "bzImage": "x86_64"}.get(kind)


def render_check(opts: Any, report: CheckReport) -> str:
    if opts.format == "json":
        from cpualloc_cli.render.check_json import render_check_json

        return render_check_json(report)
    if opts.format == "sarif":
        from cpualloc_cli.render.sarif import render_sarif

        return render_sarif(report)
    if opts.format == "github":
        from cpualloc_cli.render.github import render_github

        return render_github(report)
    if opts.format == "markdown":
        from cpualloc_cli.render.markdown import render_markdown

        return render_markdown(report)
    if opts.format == "junit":
        from cpualloc_cli.render.junit import render_junit

        return render_junit(report)
    from cpualloc_cli.render.check_text import draw_check

    return render_rich(opts, lambda console: draw_check(console, report))
