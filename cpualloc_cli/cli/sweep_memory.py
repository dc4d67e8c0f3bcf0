"""`sweep --measure memory_reserved`: the boot reservation (analysis/bootmem.py) at each value of
NR_CPUS or of the possible CPUs, on a machine with --memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cpualloc_cli.cli.common import emit, render_rich, size_option
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.bootmem import Machine


def run_reserved_sweep(opts: Any, prep: Any, symbol: str, points: Sequence[int], memory: str | None,
                       machine: str, crashkernel: str | None, fixed_possible: int | None,
                       bss_at: Callable[[int], int] | None) -> int:
    from cpualloc_cli.analysis.bootmem import build_bootmem_inputs, reserved_sweep

    if memory is None:
        raise UsageError("--measure memory_reserved needs --memory SIZE (the machine's RAM)")
    mem = size_option(memory, "--memory")
    crash = size_option(crashkernel, "--crashkernel") or 0
    if mem is None or mem <= 0:
        raise UsageError("--memory: must be more than 0")
    config = dict(prep.config.values) if prep.config is not None else None
    fp = prep.built.inputs
    boot = build_bootmem_inputs(fp, prep.image, config, memory_bytes=mem, machine=Machine(machine),
                                crashkernel_bytes=crash)
    over = "possible" if symbol == "possible_cpus" else "NR_CPUS"
    try:
        pts = reserved_sweep(boot, fp, over, points, fixed_possible=fixed_possible, base_bss_at=bss_at)
    except ValueError as exc:
        raise InputError(str(exc), path=prep.image.path if prep.image is not None else "--memory",
                         hint="give a larger --memory, or values within 1..NR_CPUS") from None
    if opts.format == "json":
        from cpualloc_cli.render.bootmem_json import reserved_sweep_payload
        from cpualloc_cli.render.jsonout import dumps, envelope

        emit(opts, dumps(envelope("sweep", reserved_sweep_payload(over, mem, pts))))
        return 0
    from cpualloc_cli.render.bootmem_text import draw_reserved_sweep

    emit(opts, render_rich(opts, lambda console: draw_reserved_sweep(console, over, mem, pts)))
    return 0
