"""Fixed inputs rendered for the footprint/sweep golden files (tests/fixtures/footprint_golden)."""

from __future__ import annotations

from cpualloc_cli.analysis.footprint import ALL_DESIGNS, compute_footprint
from cpualloc_cli.analysis.sweep import compute_sweep, default_points
from cpualloc_cli.cli.common import OutputOptions, render_rich
from cpualloc_cli.model.footprint import Design, FootprintInputs, InputFact, Provenance
from cpualloc_cli.model.measures import Measure
from cpualloc_cli.render.footprint_json import footprint_payload, sweep_payload
from cpualloc_cli.render.footprint_text import draw_footprint
from cpualloc_cli.render.jsonout import dumps, envelope
from cpualloc_cli.render.sweep_text import draw_sweep

FACTS = (
    InputFact("arch", "sparc64", Provenance.COMMAND_LINE),
    InputFact("nr_cpus", 64, Provenance.CONFIG),
    InputFact("base_bss_bytes", 74_864, Provenance.IMAGE, "GNU size (Berkeley) bss"),
)
SPARC64 = FootprintInputs(arch="sparc64", kernel_version=(2, 6, 24), bits=64, page_size=8192, nr_cpus=64,
                          possible_cpus=64, cpu_area_order=4, alloc_order=0, base_bss_bytes=74_864,
                          base_extent_bytes=1_868_912, percpu_static_bytes=16_728, facts=FACTS)
OPTS = OutputOptions(format="text", output="golden.txt", no_color=True, traceback=False)
LIMITS = [(Measure.IMAGE_EXTENT, float(8 << 20))]


def render_all() -> dict[str, str]:
    report = compute_footprint(SPARC64, ALL_DESIGNS, Design.STATIC, "arch default (test)", LIMITS)
    sweep = compute_sweep(SPARC64, "NR_CPUS", 2, 1024, default_points(2, 1024), [Design.STATIC, Design.PERCPU],
                          LIMITS, facts=FACTS)
    return {
        "footprint_sparc64.txt": render_rich(OPTS, lambda c: draw_footprint(c, report, explain=True)),
        "footprint_sparc64.json": dumps(envelope("footprint", footprint_payload(report))),
        "sweep_sparc64.txt": render_rich(OPTS, lambda c: draw_sweep(c, sweep, LIMITS, Measure.IMAGE_EXTENT)),
        "sweep_sparc64.json": dumps(envelope("sweep", sweep_payload(sweep))),
    }
