"""`cpualloc check`: every applicable limit over what can be measured; the CI lint step."""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import click

from cpualloc_cli.cli.common import emit, make_output, output_options, progress, render_rich, size_option, warn
from cpualloc_cli.cli.configopts import config_options, load_config_from_options
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.footprint import Design
from cpualloc_cli.model.image import ElfImage
from cpualloc_cli.model.limits import BudgetOutcome, CheckInputs, CheckReport, Status
from cpualloc_cli.model.measures import Budget, parse_budget

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "json", "sarif", "github", "markdown", "junit")
DESIGN_NAMES = [d.value for d in Design]
BOOT_IMAGE_GLOBS = ("arch/*/boot/bzImage", "arch/*/boot/zImage", "arch/*/boot/Image.gz", "arch/*/boot/Image",
                    "arch/*/boot/vmlinuz*", "arch/*/boot/image", "arch/*/boot/*Image*")
CPU_AREA_SYMBOL = "cpu_area"  # the static cpu_alloc area in BSS (2007 patch, mm/cpu_alloc.c)
MAX_BASELINE_BYTES = 16 << 20
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
                 current: dict[str, tuple[int, str]]) -> BudgetOutcome:
    """An overrun budget names the symbols that grew most since the baseline (of the recorded
    largest symbols on each side)."""
    from cpualloc_cli.analysis.diff import compute_symbol_growth

    if b.status is not Status.FAIL:
        return b
    grown = compute_symbol_growth(baseline, current, b.measure)
    if not grown:
        return b
    text = ", ".join(f"{name} {new - old:+d} B ({old} -> {new})" for name, old, new in grown)
    return replace(b, arithmetic=b.arithmetic + (f"grew most since the baseline: {text}",))


def read_baseline(path: str) -> tuple[dict[str, float], dict[str, tuple[int, str]]]:
    """The `measures` of an earlier `check --format json`, and its `symbol_sizes` (empty when it
    had no image or predates them)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BASELINE_BYTES + 1)
    except FileNotFoundError:
        raise InputError("no such file", path=path, hint="--baseline takes an earlier `check --format json`") from None
    except IsADirectoryError:
        raise InputError("is a directory", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    if len(data) > MAX_BASELINE_BYTES:
        raise InputError(f"larger than {MAX_BASELINE_BYTES} bytes; not a check report", path=path)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not JSON: {exc}", path=path, hint="--baseline takes an earlier `check --format json`") from None
    except RecursionError:
        raise InputError("not a check report: JSON nested too deeply", path=path,
                         hint="--baseline takes an earlier `check --format json`") from None
    if not isinstance(doc, dict) or doc.get("kind") != "check" or not isinstance(doc.get("measures"), dict):
        raise InputError("not a `cpualloc check --format json` report (no kind=check with measures)", path=path)
    out: dict[str, float] = {}
    for k, v in doc["measures"].items():
        if isinstance(v, int | float) and not isinstance(v, bool):
            out[str(k)] = float(v)
    syms: dict[str, tuple[int, str]] = {}
    raw = doc.get("symbol_sizes")
    if isinstance(raw, dict):
        for name, entry in raw.items():
            if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
                    and not isinstance(entry[0], bool) and entry[0] >= 0 and isinstance(entry[1], str)):
                syms[str(name)] = (entry[0], entry[1])
    return out, syms


def _image_measures(img: ElfImage) -> tuple[dict[str, float], dict[str, str]]:
    from cpualloc_cli.analysis.extent import compute_extents, compute_percpu
    from cpualloc_cli.analysis.sizes import compute_berkeley

    m: dict[str, float] = {}
    src: dict[str, str] = {}
    b = compute_berkeley(img)
    for k, v in (("text", b.text), ("data", b.data), ("bss", b.bss), ("total", b.dec)):
        m[k] = float(v)
        src[k] = f"image: GNU size (Berkeley) {k}"
    ext = compute_extents(img)
    if ext:
        m["image_extent"] = float(ext[0].size_bytes)
        src["image_extent"] = f"image: {ext[0].end_name} - {ext[0].start_name} (0x{ext[0].end:x} - 0x{ext[0].start:x})"
    pc = compute_percpu(img)
    if pc.section is not None:
        m["percpu_static"] = float(pc.size_bytes)
        src["percpu_static"] = f"image: size of {pc.section}"
    return m, src


def _cpu_area_in_image(img: ElfImage) -> int:
    syms = img.symbols
    if syms is None:
        return 0
    i = syms.index(CPU_AREA_SYMBOL)
    return 0 if i is None else int(syms.sizes[i])


DESIGN_MEASURES = ("image_extent", "bss", "cpu_area", "address_space", "vmalloc_share", "percpu_unit",
                   "percpu_resident")


@click.command("check")
@click.argument("image", required=False, metavar="[IMAGE]")
@config_options
@click.option("--design", type=click.Choice(DESIGN_NAMES), default=None,
              help="Per-cpu design to check (default: the config's choice, then the arch's).")
@click.option("--build-dir", "build_dir", default=None, metavar="O",
              help="A kernel O= build directory: its .config, vmlinux, arch/*/boot image and source link.")
@click.option("--policy", "policy_path", default=None, metavar="FILE",
              help="Policy file (default: cpualloc.toml or [tool.cpualloc] in pyproject.toml, cwd upward).")
@click.option("--baseline", "baseline_path", default=None, metavar="PREV.json",
              help="An earlier `check --format json`, for --budget.")
@click.option("--budget", "budgets", multiple=True, metavar="MEASURE=+N%",
              help="Growth budget against --baseline, e.g. bss=+1% or image_extent=+64KiB (repeatable).")
@click.option("--fail-on", "fail_on", type=click.Choice(["warning", "error", "inconclusive"]), multiple=True,
              help="Lowest severity that gives exit 1 (default: error, or the policy's fail_on); "
                   "`inconclusive` (repeatable with the others): an inconclusive limit gives exit 1 too.")
@click.option("--crashkernel", default=None, metavar="SIZE", help="crashkernel= reservation to fit (kdump).")
@click.option("--load-window", "load_window", default=None, metavar="SIZE",
              help="Boot loader load window for the compressed image (OpenBoot: about 10 MB).")
@output_options(FORMATS)
def check(image: str | None, design: str | None, build_dir: str | None, policy_path: str | None,
          baseline_path: str | None, budgets: tuple[str, ...], fail_on: tuple[str, ...], crashkernel: str | None,
          load_window: str | None, format_: str, output: str | None, no_color: bool, traceback_: bool,
          arch: str | None, config: str | None, set_: tuple[str, ...], config_from: str | None,
          srctree: str | None, allow_shell: bool, kernel_version: str | None, strict: bool) -> int:
    """Check a config and/or an IMAGE against every limit that applies to its arch and kernel
    version, plus the policy's own limits and budgets.

    Exit 1 on an error (or a warning with --fail-on warning) or a budget overrun; limits that
    cannot be evaluated for lack of input are listed as skipped, with the reason.
    """
    from cpualloc_cli.adapters.limits_loader import load_database
    from cpualloc_cli.adapters.policy import load_policy
    from cpualloc_cli.analysis.limits import CheckContext, compute_top_bss, evaluate_budgets, evaluate_limits
    opts = make_output(format_, output, no_color, traceback_)
    kernel_version_opt = kernel_version
    params: dict[str, int] = {}
    budget_list: list[Budget] = []
    for text in budgets:
        try:
            budget_list.append(parse_budget(text))
        except ValueError as exc:
            raise UsageError(f"--budget: {exc}") from None
    if budget_list and baseline_path is None:
        raise UsageError("--budget needs --baseline PREVIOUS.json (an earlier `check --format json`)")

    boot_image: str | None = None
    if build_dir is not None:
        found = find_build_dir(build_dir)
        if config is None and config_from is None and found["config"] is not None:
            config = found["config"]
        if image is None and found["vmlinux"] is not None:
            image = found["vmlinux"]
        boot_image = found["boot"]
        if srctree is None and found["srctree"] is not None:
            srctree = found["srctree"]
        if config is None and image is None:
            raise InputError("no .config and no vmlinux in the build directory", path=build_dir,
                             hint="run the kernel build first, or give --config / IMAGE")

    policy = load_policy(policy_path)
    params.update(policy.params)
    for name, opt_value in (("crashkernel", size_option(crashkernel, "--crashkernel")),
                            ("load_window", size_option(load_window, "--load-window"))):
        if opt_value is not None:
            params[name] = opt_value
    given = {b.measure for b in budget_list}
    budget_list += [b for b in policy.budgets if b.measure not in given]
    baseline, baseline_syms = read_baseline(baseline_path) if baseline_path is not None else (None, {})
    fail_threshold = ("warning" if "warning" in fail_on else "error" if "error" in fail_on else None) \
        or policy.fail_on or "error"

    resolved: ResolvedConfig | None = load_config_from_options(
        arch=arch, config=config, set_=set_, config_from=config_from, srctree=srctree, allow_shell=allow_shell,
        kernel_version=kernel_version, strict=strict)
    img: ElfImage | None = None
    from cpualloc_cli.adapters.elf import is_elf_file

    if image is not None:
        from cpualloc_cli.adapters.image import load_image

        with progress(f"reading {image}"):
            img = load_image(image)
    if resolved is None and img is None:
        raise UsageError("nothing to check: give a config (--arch/--config/--set), an IMAGE or --build-dir")

    measures: dict[str, float] = {}
    sources: dict[str, str] = {}
    input_kind = "kernel"
    top_bss: tuple[tuple[str, int], ...] = ()
    if img is not None:
        if img.header.file_type == "REL":
            input_kind = "module" if (image or "").endswith(".ko") or img.section(".modinfo") is not None else "object"
        m, s = _image_measures(img)
        measures.update(m)
        sources.update(s)
        top_bss = compute_top_bss(img)
    if boot_image is not None:
        measures["compressed_size"] = float(os.path.getsize(boot_image))
        sources["compressed_size"] = f"file size of {boot_image}"
    elif img is not None and image is not None and not is_elf_file(image):
        measures["compressed_size"] = float(os.path.getsize(image))
        sources["compressed_size"] = f"file size of {image}"

    design_used: str | None = None
    design_source: str | None = None
    projector = None
    nr_cpus: int | None = None
    nr_range: tuple[int, int] | None = None
    kernel_version = kernel_version_opt
    kv_source: str | None = "--kernel-version" if kernel_version_opt else None
    if input_kind == "kernel":
        from cpualloc_cli.analysis.footprint import DESIGN_FUNCTIONS, choose_design
        from cpualloc_cli.cli.footprint_inputs import build_inputs
        from cpualloc_cli.model.footprint import Provenance

        built = build_inputs(resolved, img, arch=arch if resolved is None else None,
                             kernel_version=kernel_version_opt)
        inp = built.inputs
        arch = inp.arch
        for fact in inp.facts:
            if fact.name == "kernel_version" and fact.provenance is not Provenance.DEFAULT and kernel_version is None:
                kernel_version, kv_source = str(fact.value), fact.note or fact.provenance.value
        if img is not None:
            area = _cpu_area_in_image(img)
            if area and inp.base_extent_bytes is not None and inp.base_bss_bytes is not None:
                inp = replace(inp, base_extent_bytes=inp.base_extent_bytes - area, base_bss_bytes=inp.base_bss_bytes - area)
                sources["image_base"] = f"image base = measured - {CPU_AREA_SYMBOL} symbol ({area} B, the static cpu area)"
        if resolved is not None or design is not None:
            config_design = built.config_design
            chosen, reason = choose_design(Design(design) if design else None, config_design, inp.arch,
                                           inp.kernel_version)
            design_used, design_source = chosen.value, reason
            fp = DESIGN_FUNCTIONS[chosen](inp, explain=False)
            basis = "footprint model" + (" over the image's measured base" if img is not None else
                                         " (no image: base 0, growth only)")
            # cpu_alloc designs change the image (BSS, extent): the model over the image's base
            # wins. The modern percpu design does not: what the image measured wins.
            model_wins = img is None or chosen is not Design.PERCPU
            for meas, mvalue in fp.measures.items():
                if meas.value not in measures or (model_wins and meas.value in DESIGN_MEASURES):
                    measures[meas.value] = float(mvalue)
                    sources[meas.value] = f"{basis}: {chosen.value} design, NR_CPUS={inp.nr_cpus}"
            if img is not None and model_wins and {"text", "data", "bss"} <= measures.keys():
                measures["total"] = measures["text"] + measures["data"] + measures["bss"]
                sources["total"] = "text + data (image) + bss (footprint model)"
            nr_cpus = inp.nr_cpus if resolved is not None and resolved.values.get("SMP", "y") != "n" else None
            nr_range = built.nr_cpus_range
            projector = _projector(inp, chosen, DESIGN_FUNCTIONS)
    if arch is None:
        arch = img.header.arch if img is not None else (resolved.arch if resolved is not None else "unknown")
    if resolved is not None and nr_cpus is None and resolved.values.get("SMP") != "n":
        nr_cpus = resolved.get_int("NR_CPUS")
    if kernel_version is None and img is not None and img.banner:
        kernel_version, kv_source = img.banner.split()[2] if len(img.banner.split()) > 2 else None, "image banner"

    ctx = CheckContext(
        arch=arch, kernel_version=kernel_version, input_kind="module" if input_kind == "module" else "kernel",
        config=resolved.values if resolved is not None else None,
        config_path=resolved.config_path if resolved is not None else None,
        config_lines=config_lines(resolved.config_path if resolved is not None else None),
        image_path=image, measures=measures, measure_sources=sources, params=params, design=design_used,
        projector=projector, nr_cpus=nr_cpus, nr_cpus_range=nr_range, top_bss=top_bss, today=dt.date.today())
    limits = load_database() + policy.limits
    known = {lim.id for lim in limits} | {f"budget.{m}" for m in DESIGN_MEASURES + ("text", "data", "total",
                                                                                  "percpu_static", "compressed_size")}
    for w in policy.waivers:
        if w.rule not in known:
            warn(f"{w.origin}: waiver for unknown rule {w.rule!r} silences nothing (see `cpualloc limits`)")
    outcomes, not_applicable = evaluate_limits(limits, policy.waivers, ctx)
    budget_out = evaluate_budgets(budget_list, baseline, measures, policy.waivers, ctx.today)
    symbol_sizes: dict[str, tuple[int, str]] = {}
    if img is not None and img.symbols is not None:
        from cpualloc_cli.analysis.diff import compute_symbol_sizes

        symbol_sizes = compute_symbol_sizes(img, limit=SYMBOL_SIZES_RECORDED)
    if baseline_syms and symbol_sizes:
        budget_out = tuple(_with_growth(b, baseline_syms, symbol_sizes) for b in budget_out)
    basis = "+".join(p for p, on in (("image", img is not None), ("config", resolved is not None)) if on)
    report = CheckReport(
        inputs=CheckInputs(arch=arch, kernel_version=kernel_version, kernel_version_source=kv_source,
                           design=design_used, design_source=design_source,
                           config_path=resolved.config_path if resolved is not None else None, image_path=image,
                           boot_image_path=boot_image, baseline_path=baseline_path, policy_path=policy.path,
                           basis=basis, measures=measures, measure_sources=sources, symbol_sizes=symbol_sizes),
        outcomes=outcomes, budgets=budget_out, not_applicable=not_applicable, fail_on=fail_threshold,
        fail_on_inconclusive="inconclusive" in fail_on,
        strict_findings=tuple(f"{f.path or 'config'}{':' + str(f.line) if f.line else ''}: {f.message} [{f.rule}]"
                              for f in resolved.findings if f.severity.rank >= 1) if strict and resolved is not None else ())
    if resolved is not None:
        shown = [f for f in resolved.findings if f.severity.rank >= 1]
        for f in shown[:MAX_CONFIG_WARNINGS]:
            warn(f"{f.path or 'config'}{':' + str(f.line) if f.line else ''}: {f.message}")
        if len(shown) > MAX_CONFIG_WARNINGS:
            warn(f"{len(shown) - MAX_CONFIG_WARNINGS} more config finding(s); `cpualloc config` lists them all")
    emit(opts, render_check(opts, report))
    return report.exit_code  # the one rule every format states (CheckReport.failure_reasons)


def _projector(inp: Any, chosen: Design, functions: Mapping[Design, Any]) -> Callable[[str | None, int], Mapping[str, float]]:
    """(design, NR_CPUS) -> measures, for the computed fixes. 'none' = the base without a cpu area."""
    cache: dict[tuple[str | None, int], Mapping[str, float]] = {}
    derived_possible = inp.possible_cpus == inp.nr_cpus

    def project(design: str | None, n: int) -> Mapping[str, float]:
        key = (design, n)
        if key not in cache:
            if design == "none":
                cache[key] = {"image_extent": float(inp.base_extent_bytes or 0), "bss": float(inp.base_bss_bytes or 0)}
            else:
                d = chosen if design is None else Design(design)
                possible = n if derived_possible else min(inp.possible_cpus, n)
                fp = functions[d](replace(inp, nr_cpus=n, possible_cpus=possible), explain=False)
                cache[key] = {m.value: float(v) for m, v in fp.measures.items()}
        return cache[key]

    return project


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
