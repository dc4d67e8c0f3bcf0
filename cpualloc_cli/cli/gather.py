"""Gather the evaluation engine's inputs from the command line: read the image (with its banner and
IKCONFIG), the config, the kernel's own size; the decisions themselves are analysis/engine.py's.

Shared by check, footprint and sweep, so that "fits" means the same thing in every command.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cpualloc_cli.analysis.engine import (
    DEFAULT_POSSIBLE_CPUS,
    ImageFacts,
    KernelBase,
    choose_base,
    choose_lower_bound,
    compute_image_facts,
    decide_kernel_version,
    with_base,
)
from cpualloc_cli.cli.common import progress
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.footprint import Design
from cpualloc_cli.model.image import ElfImage

CONFIG_PARAMS = ("arch", "config", "set_", "config_from", "srctree", "allow_shell", "kernel_version", "strict")


@dataclass(frozen=True)
class ImageRead:
    image: ElfImage
    facts: ImageFacts
    ikconfig_text: str | None  # the embedded .config, when the image has one


def read_image(path: str, symbols_from: str | None = None) -> ImageRead:
    """The image with its facts; symbols from its kallsyms when it has no .symtab, or from
    `symbols_from` (/proc/kallsyms, System.map)."""
    from cpualloc_cli.adapters.elf import is_elf_file
    from cpualloc_cli.adapters.kallsyms_symbols import load_any_with_symbols

    with progress(f"reading {path}"):
        loaded = load_any_with_symbols(path, symbols_from, raw_payloads=True)
    if loaded.elf is None:
        from cpualloc_cli.errors import ElfFormatError

        raise ElfFormatError("the image's payload is a raw binary, not an ELF", path=path,
                             hint="section and symbol detail needs the vmlinux")
    is_elf = is_elf_file(path)
    facts = compute_image_facts(loaded.elf, path, is_elf, os.path.getsize(path) if not is_elf else None)
    return ImageRead(loaded.elf, facts, _ikconfig(path, loaded, is_elf))


def _ikconfig(path: str, loaded: Any, is_elf: bool) -> str | None:
    """The image's embedded config (CONFIG_IKCONFIG), or None; never an error (it is optional)."""
    from cpualloc_cli.adapters import ikconfig

    try:
        if is_elf:
            return ikconfig.read_ikconfig(path)
        data = getattr(loaded.payload, "data", None)
        if data is None:
            return None
        return ikconfig.read_ikconfig_from_buffer(path, data)
    except InputError:
        return None


def load_config(cfg_kwargs: dict[str, Any], image: ImageRead | None,
                memo: dict[Any, ResolvedConfig | None] | None = None) -> tuple[ResolvedConfig | None, str]:
    """The config the options give; else the image's IKCONFIG, taken as the kernel's own
    configuration (said in the report). (config, where it came from). `memo`, kept by one
    command over several images, resolves the same options once (check over a module tree)."""
    from cpualloc_cli.cli.configopts import load_config_from_options

    kwargs = dict(cfg_kwargs)
    if image is not None and image.facts.banner_version and not kwargs.get("kernel_version"):
        kwargs["image_kernel_version"] = image.facts.banner_version
    only_arch = not any(kwargs.get(k) for k in ("config", "set_", "config_from", "srctree"))
    if not (only_arch and image is not None and image.ikconfig_text is not None):
        key = tuple(sorted(kwargs.items()))
        if memo is not None and key in memo:
            resolved = memo[key]
        else:
            resolved = load_config_from_options(**kwargs)
            if memo is not None:
                memo[key] = resolved
        if resolved is not None:
            return resolved, "options"
    if image is not None and image.ikconfig_text is not None:
        from cpualloc_cli.adapters import kconfig as kadapter

        req = kadapter.ConfigRequest(config_text=image.ikconfig_text, config_display=f"{image.facts.path}:ikconfig",
                                     image_kernel_version=image.facts.banner_version)
        loaded = kadapter.load_resolved_config(req)
        from cpualloc_cli.adapters.config_as_written import header_version

        return dataclasses.replace(loaded.resolved, header_version=header_version(image.ikconfig_text)), "image IKCONFIG"
    return None, "none"


def read_base_size(text: str | None) -> KernelBase | None:
    if text is None:
        return None
    from cpualloc_cli.cli.common import size_option

    value = size_option(text, "--base-size")
    assert value is not None
    return KernelBase("--base-size", True, f"--base-size {text} (the kernel's image extent without a cpu area)",
                      {"image_extent": value})


@dataclass(frozen=True)
class Gathered:
    config: ResolvedConfig | None
    config_origin: str
    image: ImageRead | None
    built: Any  # analysis.inputs.BuiltInputs
    kernel_version: str | None
    kernel_version_source: str
    base: KernelBase


def gather(cfg_kwargs: dict[str, Any], image_path: str | None, *, arch_opt: str | None,
           possible_cpus: int | None = None, percpu_reserve_bytes: int | None = None,
           vmalloc_size_bytes: int | None = None, numa_groups: Sequence[int] | None = None,
           static_bytes: int | None = None, packing_used_bytes: int | None = None,
           base_size: str | None = None, scaled: Callable[[int], KernelBase] | None = None,
           baseline: dict[str, float] | None = None, image: ImageRead | None = None,
           default_possible: bool = True, config_memo: dict[Any, ResolvedConfig | None] | None = None) -> Gathered:
    from cpualloc_cli.analysis.inputs import build_inputs

    if image is None and image_path is not None:
        image = read_image(image_path)
    config, origin = load_config(cfg_kwargs, image, config_memo)
    given = read_base_size(base_size)
    if given is not None and image is not None:
        raise UsageError("--base-size is for a config without an image: the image's own size is measured")
    ikcfg_version = None
    if image is not None and image.ikconfig_text is not None:
        from cpualloc_cli.adapters.config_as_written import header_version

        ikcfg_version = header_version(image.ikconfig_text)
    version, vsource = decide_kernel_version(cfg_kwargs.get("kernel_version"), config,
                                             image.facts if image is not None else None, ikcfg_version)
    elf = image.image if image is not None else None
    built = build_inputs(config, elf, arch=None if config is not None else arch_opt, kernel_version=version,
                         kernel_version_source=vsource if version else None, possible_cpus=possible_cpus,
                         percpu_reserve_bytes=percpu_reserve_bytes, vmalloc_size_bytes=vmalloc_size_bytes,
                         numa_groups=numa_groups, static_bytes=static_bytes, packing_used_bytes=packing_used_bytes,
                         image_nr_cpus=(image.facts.nr_cpus, image.facts.nr_cpus_source or "")
                         if image is not None and image.facts.nr_cpus else None,
                         default_possible_cpus=DEFAULT_POSSIBLE_CPUS if default_possible and elf is not None else None)
    arch = built.inputs.arch
    from cpualloc_cli.adapters.limits_loader import load_lower_bounds

    smp = None if config is None or "SMP" not in config.values else config.values["SMP"] == "y"
    base = choose_base(image=image.facts if image is not None else None, given=given,
                       scaled=scaled(built.inputs.nr_cpus) if scaled is not None else None, baseline=baseline,
                       lower=lambda: choose_lower_bound(load_lower_bounds(), arch, version, smp,
                                                        config.values if config is not None else None))
    if image is None:
        built = dataclasses.replace(built, inputs=with_base(built.inputs, base))
    elif image.facts.cpu_area_bytes and built.inputs.base_extent_bytes is not None \
            and built.inputs.base_bss_bytes is not None:
        area = image.facts.cpu_area_bytes
        built = dataclasses.replace(built, inputs=dataclasses.replace(
            built.inputs, base_extent_bytes=built.inputs.base_extent_bytes - area,
            base_bss_bytes=built.inputs.base_bss_bytes - area))
    return Gathered(config, origin, image, built, version, vsource, base)


def design_arg(name: str | None) -> Design | None:
    return Design(name) if name else None
