"""`footprint --memory`: the boot memory budget (analysis/bootmem.py) from footprint's inputs."""

from __future__ import annotations

from typing import Any

from cpualloc_cli.cli.common import emit, render_rich, size_option
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.bootmem import Machine


def raw_image_inputs(image: str, cfg_kwargs: dict[str, Any], static_size: str | None) -> tuple[Any, str | None]:
    """For an arm64 Image (a raw binary, no .symtab): its boot memory symbols
    (adapters/bootmem_image.py) and, unless given, its static per-cpu size as --static-size; the
    arch is arm64 unless a config says otherwise. (None, static_size) for any other image."""
    from cpualloc_cli.adapters.bootmem_image import is_arm64_image, read_arm64_image_symbols

    if not is_arm64_image(image):
        return None, static_size
    raw = read_arm64_image_symbols(image)
    if static_size is None and raw.percpu_static_bytes is not None:
        static_size = str(raw.percpu_static_bytes)
    if not any(cfg_kwargs.get(k) for k in ("arch", "config", "set_", "config_from", "srctree")):
        cfg_kwargs["arch"] = raw.arch
    return raw, static_size


def bootmem_config(prep: Any, config_path: str | None) -> dict[str, str] | None:
    """The config values the boot memory model reads: the resolved config, and for the symbols
    the bundled model does not carry, the --config file as written."""
    config = dict(prep.config.values) if prep.config is not None else None
    if config_path and config is not None:
        from cpualloc_cli.adapters.bootmem_image import read_config_as_written

        for k, v in read_config_as_written(config_path).items():
            if config.get(k) is None:
                config[k] = v
    return config


def run_bootmem(opts: Any, prep: Any, memory: str, crashkernel: str | None, machine: str, explain: bool,
                initrd_size: str | None = None, *, raw: Any = None, config_path: str | None = None,
                dtb_size: str | None = None) -> int:
    from cpualloc_cli.analysis.bootmem import build_bootmem_inputs, compute_bootmem

    mem = size_option(memory, "--memory")
    crash = size_option(crashkernel, "--crashkernel") or 0
    initrd = size_option(initrd_size, "--initrd-size") or 0
    dtb = size_option(dtb_size, "--dtb-size")
    assert mem is not None
    if mem <= 0:
        raise UsageError("--memory: must be more than 0")
    config = bootmem_config(prep, config_path)
    inp = build_bootmem_inputs(prep.built.inputs, prep.image, config, memory_bytes=mem, machine=Machine(machine),
                               crashkernel_bytes=crash, initrd_bytes=initrd,
                               raw_symbols=raw.symbols if raw is not None else None,
                               raw_reason=raw.reason if raw is not None else None, dtb_bytes=dtb)
    try:
        report = compute_bootmem(inp)
    except ValueError as exc:
        raise InputError(str(exc), path=prep.image.path if prep.image is not None else "--memory",
                         hint="give a larger --memory") from None
    if opts.format == "json":
        from cpualloc_cli.render.bootmem_json import bootmem_payload
        from cpualloc_cli.render.jsonout import dumps, envelope

        emit(opts, dumps(envelope("footprint", bootmem_payload(report))))
        return 0
    from cpualloc_cli.render.bootmem_text import draw_bootmem

    emit(opts, render_rich(opts, lambda console: draw_bootmem(console, report, explain)))
    return 0


def boot_memory_request(inputs: Any, image: Any, config: Any, params: dict[str, int], initrd_bytes: int | None,
                        warn: Any) -> dict[str, Any]:
    """EvalRequest keyword arguments for the boot memory limits: the model at --param memory=SIZE
    (memory_reserved) and the capture kernel at crashkernel= (kdump_reserved, booted with one
    possible CPU: the nr_cpus=1 that Debian's kdump-tools and RHEL's kdump append by default)."""
    import dataclasses

    from cpualloc_cli.analysis.bootmem import build_bootmem_inputs, compute_bootmem

    if inputs is None or ("memory" not in params and "crashkernel" not in params):
        return {}
    cfg = dict(config.values) if config is not None else None
    out: dict[str, Any] = {}
    for key, mem, fp, crash, initrd in (
            ("boot_memory", params.get("memory"), inputs, params.get("crashkernel", 0), 0),
            ("kdump_memory", params.get("crashkernel"), dataclasses.replace(inputs, possible_cpus=1), 0,
             initrd_bytes or 0)):
        if not mem:
            continue
        try:
            out[key] = compute_bootmem(build_bootmem_inputs(fp, image, cfg, memory_bytes=mem, machine=Machine.FLAT,
                                                            crashkernel_bytes=crash, initrd_bytes=initrd))
        except ValueError as exc:
            warn(f"boot memory model at {mem} B not computed: {exc}")
    return out
