"""`cpualloc footprint`: the footprint of each per-cpu design for a config and/or an image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from cpualloc_cli.cli.common import emit, make_output, output_options, progress, render_rich, size_option
from cpualloc_cli.cli.configopts import config_findings_exit, config_options, load_config_from_options
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.footprint import Design, FootprintInputs, FootprintReport, InputFact, Provenance
from cpualloc_cli.model.image import ElfImage
from cpualloc_cli.model.measures import Measure, parse_limit

F = TypeVar("F", bound=Callable[..., Any])
DESIGN_NAMES = [d.value for d in Design]


# --- config options (cpualloc_cli.cli.configopts: --arch/--config/--set/--config-from/--srctree/
# --allow-shell/--kernel-version/--strict, with the Kconfig semantics of `cpualloc config`) ----------

CONFIG_PARAMS = ("arch", "config", "set_", "config_from", "srctree", "allow_shell", "kernel_version", "strict")


def load_config(kwargs: dict[str, Any]) -> ResolvedConfig | None:
    """The resolved config from the config options (None when none was given)."""
    return load_config_from_options(**kwargs)


def config_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Split the config options out of a command's keyword arguments."""
    return {k: kwargs.pop(k) for k in CONFIG_PARAMS if k in kwargs}


def config_exit(config: ResolvedConfig | None, cfg_kwargs: dict[str, Any]) -> int:
    """1 under --strict when the config has findings (configopts' rule)."""
    return config_findings_exit(config, bool(cfg_kwargs.get("strict")))


# --- shared helpers for footprint and sweep ----------------------------------------------------

def read_image(path: str | None) -> ElfImage | None:
    if path is None:
        return None
    from cpualloc_cli.adapters.kallsyms_symbols import load_image_with_symbols

    with progress(f"reading {path}"):
        return load_image_with_symbols(path)


def parse_limits(texts: Sequence[str]) -> list[tuple[Measure, float]]:
    out = []
    for t in texts:
        try:
            out.append(parse_limit(t))
        except ValueError as exc:
            raise UsageError(f"--limit: {exc}") from None
    return out


def parse_groups(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        groups = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise UsageError(f"--numa-nodes: {text!r} is not a comma-separated list of CPU counts") from None
    if not groups or any(g <= 0 for g in groups):
        raise UsageError("--numa-nodes: every node needs at least one CPU")
    return groups


def kernel_version_from(cfg_kwargs: dict[str, Any]) -> str | None:
    v = cfg_kwargs.get("kernel_version")
    return v if isinstance(v, str) else None


def common_options(fn: F) -> F:
    """Options footprint and sweep share (besides the config options and output options)."""
    fn = click.option("--numa-nodes", "numa_nodes", default=None, metavar="N,N,...",
                      help="Possible CPUs per NUMA node for the percpu groups (default: one node).")(fn)
    fn = click.option("--static-size", "static_size", default=None, metavar="SIZE",
                      help="Static per-cpu bytes when there is no image (overrides the estimate).")(fn)
    fn = click.option("--vmalloc-size", "vmalloc_size", default=None, metavar="SIZE",
                      help="Size of the vmalloc area (default: the arch's, i386 128MiB).")(fn)
    fn = click.option("--percpu-reserve", "percpu_reserve", default=None, metavar="SIZE",
                      help="Module reserve added to the static per-cpu data for cpu_alloc 'in use' (default 8KiB).")(fn)
    fn = click.option("--possible-cpus", "possible_cpus", type=click.IntRange(min=1), default=None,
                      help="CPUs possible at boot (default: NR_CPUS).")(fn)
    fn = click.option("--limit", "limits", multiple=True, metavar="MEASURE=SIZE",
                      help="A ceiling to check, e.g. image_extent=8MiB or vmalloc_share=25% (repeatable).")(fn)
    fn = click.option("--scale-from", "scale_from", multiple=True, metavar="IMAGE@N",
                      help="Images of one tree and config built at several NR_CPUS (repeat, at least two): the "
                           "base BSS and image extent at each NR_CPUS come from their `scale` model.")(fn)
    fn = click.option("--simulate-packing", is_flag=True,
                      help="Simulate the 2007 bitmap allocator over the image's per-cpu symbols for 'in use'.")(fn)
    return fn


def scale_base(scale_from: Sequence[str]) -> tuple[Callable[[int], tuple[int, int]], str] | None:
    """From `--scale-from IMAGE@N ...`: N -> (predicted BSS, predicted image extent), and a
    description of the model for the report's inputs. None when the option was not given."""
    if not scale_from:
        return None
    if len(scale_from) < 2:
        raise UsageError("--scale-from needs at least two images (IMAGE@N IMAGE@M)")
    from cpualloc_cli.analysis.scale import central_predictor, compute_scale
    from cpualloc_cli.cli.scale_cmd import load_scale_points

    points, _configs, _arch, _banner = load_scale_points(scale_from, "NR_CPUS")
    try:
        report = compute_scale(points, max(p.n for p in points), symbol="NR_CPUS")
    except ValueError as exc:
        raise UsageError(f"--scale-from: {exc}") from None
    # At a value that was built, the build's own figures (the model's prediction from the largest
    # build leaves out alignment padding); elsewhere the model's central prediction.
    cache: dict[int, tuple[int, int]] = {p.n: (p.bss_bytes, p.extent_bytes or 0) for p in points}

    central = central_predictor(report)  # closed form; compute_predictions_at is its oracle

    def base_at(n: int) -> tuple[int, int]:
        if n not in cache:
            preds = central(n)
            cache[n] = (preds["bss"], preds.get("image_extent", 0))
        return cache[n]

    ns = ", ".join(str(p.n) for p in points)
    return base_at, f"scale model from {len(points)} images at NR_CPUS={ns} (see `cpualloc scale`)"


def scale_kernel_base(scale_from: Sequence[str], cfg_kwargs: dict[str, Any]) -> Callable[[int], Any]:
    """For a config without an image: NR_CPUS -> the kernel's own size from a scale model."""
    from cpualloc_cli.analysis.engine import KernelBase

    scaled = scale_base(scale_from)
    assert scaled is not None
    base_at, described = scaled

    def at(n: int) -> KernelBase:
        bss, extent = base_at(n)
        return KernelBase("scale model", True, f"{described}, at NR_CPUS={n}", {"image_extent": extent, "bss": bss})

    return at


def with_scale_base(inp: FootprintInputs, described: str, bss: int | None, extent: int | None) -> FootprintInputs:
    """The inputs with the base BSS/extent taken from a scale model (None: varies per value)."""
    import dataclasses

    facts = tuple(f for f in inp.facts if f.name not in ("base_bss_bytes", "base_extent_bytes"))
    facts += (InputFact("base_bss_bytes", bss if bss is not None else "per NR_CPUS", Provenance.DERIVED, described),
              InputFact("base_extent_bytes", extent if extent is not None else "per NR_CPUS", Provenance.DERIVED,
                        described))
    changes: dict[str, Any] = {"facts": facts}
    if bss is not None:
        changes["base_bss_bytes"] = bss
    if extent is not None:
        changes["base_extent_bytes"] = extent
    return dataclasses.replace(inp, **changes)


@dataclass(frozen=True)
class Prepared:
    """What footprint and sweep both build from their shared options."""

    config: ResolvedConfig | None
    image: ElfImage | None
    packing: Any
    built: Any  # analysis.inputs.BuiltInputs
    gathered: Any = None  # cli.gather.Gathered


def prepare_inputs(cfg_kwargs: dict[str, Any], image: str | None, *, possible_cpus: int | None,
                   percpu_reserve: str | None, vmalloc_size: str | None, static_size: str | None,
                   numa_groups: tuple[int, ...] | None, simulate_packing: bool, what: str,
                   base_size: str | None = None, default_possible: bool = True,
                   symbols_from: str | None = None) -> Prepared:
    """Parse the size options, read the config and the image, and build the footprint inputs
    (through cli/gather.py, as check does)."""
    from cpualloc_cli.cli.gather import gather, read_image

    reserve = size_option(percpu_reserve, "--percpu-reserve")
    vmalloc = size_option(vmalloc_size, "--vmalloc-size")
    static = size_option(static_size, "--static-size")
    if symbols_from is not None and image is None:
        raise UsageError("--symbols-from goes with an IMAGE (the image without .symtab it gives symbols for)")
    img = read_image(image, symbols_from) if image is not None else None
    has_config = any(cfg_kwargs.get(k) for k in ("arch", "config", "set_", "config_from", "srctree"))
    if not has_config and img is None and static is None:
        raise UsageError(f"nothing to {what}: give a config (--arch/--config/--set) and/or an IMAGE")
    packing = run_packing(img.image if img is not None else None) if simulate_packing else None
    g = gather(cfg_kwargs, None, image=img, arch_opt=cfg_kwargs.get("arch"), possible_cpus=possible_cpus,
               percpu_reserve_bytes=reserve, vmalloc_size_bytes=vmalloc, numa_groups=numa_groups,
               static_bytes=static, packing_used_bytes=packing.used_bytes if packing else None,
               base_size=base_size, default_possible=default_possible)
    return Prepared(g.config, img.image if img is not None else None, packing, g.built, g)


def run_packing(image: ElfImage | None) -> Any:
    if image is None:
        raise UsageError("--simulate-packing needs an image (its per-cpu symbols)")
    from cpualloc_cli.analysis.inputs import percpu_objects
    from cpualloc_cli.analysis.packing import compute_packing

    objects, linker = percpu_objects(image)
    if not objects:
        raise InputError("no sized symbols in the per-cpu section to pack", path=image.path,
                         hint="the image needs a symbol table and a .data..percpu section")
    return compute_packing(objects, linker)


# --- the command -------------------------------------------------------------------------------

@click.command("footprint")
@click.argument("image", required=False, metavar="[IMAGE]")
@config_options
@common_options
@click.option("--design", type=click.Choice(DESIGN_NAMES), default=None,
              help="Show only this design (and use it); default: all side by side.")
@click.option("--explain", is_flag=True, help="Print every formula with its values put in.")
@click.option("--base-size", "base_size", default=None, metavar="SIZE",
              help="Without an image: the kernel's own image extent (without a cpu area).")
@click.option("--symbols-from", "symbols_from", default=None, metavar="FILE",
              help="Symbols for an IMAGE without .symtab from /proc/kallsyms or a System.map (sizes derived); "
                   "default: the image's own kallsyms.")
@click.option("--memory", "memory", default=None, metavar="SIZE",
              help="RAM of the machine: print what the kernel takes from it at boot instead of the designs.")
@click.option("--crashkernel", "crashkernel", default=None, metavar="SIZE", help="With --memory: a crashkernel=SIZE.")
@click.option("--initrd-size", "initrd_size", default=None, metavar="SIZE",
              help="With --memory: the size of the initramfs the boot loader passes.")
@click.option("--machine", "machine", type=click.Choice(["flat", "qemu-pc"]), default="flat",
              help="With --memory: how RAM appears (flat: no holes; qemu-pc: qemu's i440fx e820 map).")
@output_options(("text", "json"))
def footprint(image: str | None, design: str | None, explain: bool, base_size: str | None, limits: tuple[str, ...],
              possible_cpus: int | None, percpu_reserve: str | None, vmalloc_size: str | None,
              static_size: str | None, numa_nodes: str | None, simulate_packing: bool, scale_from: tuple[str, ...],
              format_: str, output: str | None, no_color: bool, traceback_: bool, **kwargs: Any) -> int:
    """Footprint of each per-cpu design (cpu_alloc static, virtual, vmalloc reserve, modern percpu)
    for a config and/or an IMAGE: BSS, image extent, address space, resident memory, vmalloc share.

    Exit 1 when the design used exceeds a --limit.
    """
    from cpualloc_cli.analysis.footprint import ALL_DESIGNS, choose_design, compute_footprint

    memory, crashkernel, machine = kwargs.pop("memory"), kwargs.pop("crashkernel"), kwargs.pop("machine")
    initrd_size = kwargs.pop("initrd_size")
    symbols_from = kwargs.pop("symbols_from")
    opts = make_output(format_, output, no_color, traceback_)
    cfg_kwargs = config_kwargs(kwargs)
    limit_pairs = parse_limits(limits)
    prep = prepare_inputs(cfg_kwargs, image, possible_cpus=possible_cpus, percpu_reserve=percpu_reserve,
                          vmalloc_size=vmalloc_size, static_size=static_size, numa_groups=parse_groups(numa_nodes),
                          simulate_packing=simulate_packing, what="compute", base_size=base_size,
                          symbols_from=symbols_from)
    config, packing, built = prep.config, prep.packing, prep.built
    inp = built.inputs
    if memory is not None:
        from cpualloc_cli.cli.bootmem_opts import run_bootmem

        if limit_pairs or scale_from or design is not None:
            raise UsageError("--memory reports the boot memory table; --limit, --design and --scale-from do not apply")
        return max(run_bootmem(opts, prep, memory, crashkernel, machine, explain, initrd_size),
                   config_exit(config, cfg_kwargs))
    inp = _with_possible_note(inp)
    scaled = scale_base(scale_from)
    if scaled is not None:
        base_at, described = scaled
        bss, extent = base_at(inp.nr_cpus)
        inp = with_scale_base(inp, f"{described}, predicted at NR_CPUS={inp.nr_cpus}", bss, extent)
    cli_design = Design(design) if design is not None else None
    chosen, reason = choose_design(cli_design, built.config_design, inp.arch, inp.kernel_version)
    designs = (chosen,) if cli_design is not None else ALL_DESIGNS
    report = compute_footprint(inp, designs, chosen, reason, limit_pairs, built.findings, packing)
    emit(opts, render_footprint(opts, report, explain))
    return max(footprint_exit_code(report), config_exit(config, cfg_kwargs))


def _with_possible_note(inp: FootprintInputs) -> FootprintInputs:
    """When the possible CPUs are a stated default, put the per-cpu memory at NR_CPUS beside it
    (the most it can be), so the default is never silent."""
    import dataclasses

    fact = next((f for f in inp.facts if f.name == "possible_cpus"), None)
    if fact is None or fact.provenance is not Provenance.DEFAULT or inp.possible_cpus >= inp.nr_cpus:
        return inp
    from cpualloc_cli.analysis.footprint import DESIGN_FUNCTIONS

    per = DESIGN_FUNCTIONS[Design.PERCPU]
    at_default = per(inp, explain=False).measures.get(Measure.PERCPU_RESIDENT)
    at_most = per(dataclasses.replace(inp, possible_cpus=inp.nr_cpus), explain=False).measures.get(Measure.PERCPU_RESIDENT)
    if at_default is None or at_most is None:
        return inp
    per_cpu = int(at_default) // inp.possible_cpus
    note = InputFact("percpu_resident_at_nr_cpus", int(at_most), Provenance.DERIVED,
                     f"modern percpu: {per_cpu} B per possible CPU; at most {int(at_most)} B if all NR_CPUS="
                     f"{inp.nr_cpus} CPUs are possible (give --possible-cpus N for a machine)")
    return dataclasses.replace(inp, facts=inp.facts + (note,))


def render_footprint(opts: Any, report: FootprintReport, explain: bool) -> str:
    if opts.format == "json":
        from cpualloc_cli.render.footprint_json import footprint_payload
        from cpualloc_cli.render.jsonout import dumps, envelope

        return dumps(envelope("footprint", footprint_payload(report)))
    from cpualloc_cli.render.footprint_text import draw_footprint

    return render_rich(opts, lambda console: draw_footprint(console, report, explain))


def footprint_exit_code(report: FootprintReport) -> int:
    """1 when the design used has an error finding (a --limit exceeded, the area too small)."""
    for d in report.designs:
        if d.design == report.chosen and any(f.severity is Severity.ERROR for f in d.findings):
            return 1
    if any(f.severity is Severity.ERROR for f in report.findings):
        return 1
    return 0
