"""Boot-side options shared by check, sweep, scale and limits (issue 13): --platform presets,
--param bounds, and check's placement inputs (--boot-image, --dtb, --load-addr, ...)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from cpualloc_cli.cli.common import size_option
from cpualloc_cli.errors import UsageError
from cpualloc_cli.model.limits import Limit, Policy

F = TypeVar("F", bound=Callable[..., Any])


def platform_options(func: F) -> F:
    """--platform NAME and --param NAME=SIZE (check, sweep, scale, limits)."""
    func = click.option("--param", "params_", multiple=True, metavar="NAME=SIZE",
                        help="A board or boot-flow bound: bootm_len, boot_partition, kernel_partition, "
                             "kernel_image_maxsize, crashkernel, load_window, or erase_block (repeatable).")(func)
    func = click.option("--platform", "platform", default=None, metavar="NAME",
                        help="A cited preset of bounds and addresses (`cpualloc limits --platform list`); "
                             "the policy's `platform = \"NAME\"` otherwise.")(func)
    return func


def placement_options(func: F) -> F:
    """check's placement inputs."""
    opts = [
        ("--ram-size", "ram_size", "SIZE", "RAM size, for the placement check."),
        ("--ram-base", "ram_base", "ADDR", "RAM base address, for the placement check."),
        ("--initrd-addr", "initrd_addr", "ADDR", "Where the boot loader puts the initrd."),
        ("--dtb-addr", "dtb_addr", "ADDR", "Where the boot loader puts the DTB."),
        ("--load-addr", "load_addr", "ADDR", "Where the boot loader puts the kernel image."),
        ("--initrd-size", "initrd_size", "SIZE", "The initrd's size (instead of --initrd FILE)."),
        ("--initrd", "initrd_path", "FILE", "The initrd file (its size is used)."),
        ("--dtb-size", "dtb_size", "SIZE", "The DTB's size (instead of --dtb FILE)."),
        ("--dtb", "dtb_path", "FILE", "The device tree blob (fdt_header.totalsize is used)."),
        ("--boot-image", "boot_image", "FILE",
         "The kernel as the boot loader gets it: Image, Image.gz, zImage, bzImage or a U-Boot uImage."),
    ]
    for opt, dest, metavar, text in opts:
        func = click.option(opt, dest, default=None, metavar=metavar, help=text)(func)
    return func


@dataclass(frozen=True)
class PlatformChoice:
    platform: Any | None  # model.boot.Platform
    params: dict[str, int] = field(default_factory=dict)
    limits: tuple[Limit, ...] = ()
    source: str | None = None  # "--platform" or "policy" (which one named the preset)


def all_platforms(policy: Policy) -> tuple[Any, ...]:
    from cpualloc_cli.adapters.limits_loader import load_platforms

    own = tuple(policy.platforms)
    names = {p.id for p in own}
    return own + tuple(p for p in load_platforms() if p.id not in names)


def choose_platform(name: str | None, params_: tuple[str, ...], policy: Policy) -> PlatformChoice:
    """The preset (--platform, else the policy's), its params overlaid by the policy's and then by
    --param, and its extra limits."""
    from cpualloc_cli.model.limits import BOUND_PARAMS, OTHER_PARAMS

    chosen = name or policy.platform
    plat = None
    if chosen is not None:
        found = {p.id: p for p in all_platforms(policy)}
        if chosen not in found:
            raise UsageError(f"--platform: unknown preset {chosen!r} (known: {', '.join(sorted(found))})")
        plat = found[chosen]
    params: dict[str, int] = dict(plat.params) if plat is not None else {}
    params.update(policy.params)
    for text in params_:
        key, sep, value = text.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in BOUND_PARAMS | OTHER_PARAMS:
            raise UsageError(f"--param: {text!r}: use NAME=SIZE with NAME one of "
                             f"{', '.join(sorted(BOUND_PARAMS | OTHER_PARAMS))}")
        size = size_option(value, f"--param {key}")
        assert size is not None
        params[key] = size
    source = None if plat is None else ("--platform" if name else "policy")
    return PlatformChoice(plat, params, tuple(plat.limits) if plat is not None else (), source)


def policy_option(func: F) -> F:
    """sweep's and scale's --policy: the policy's `platform = "NAME"`, its [[platform]] presets and
    [params] are honoured as check honours them."""
    return click.option("--policy", "policy_path", default=None, metavar="FILE",
                        help="Policy file whose platform = \"NAME\", [[platform]] presets and params apply "
                             "(default: cpualloc.toml or [tool.cpualloc] in pyproject.toml, cwd upward).")(func)


def platform_for_sweep(platform: str | None, params_: tuple[str, ...],
                       policy_path: str | None) -> PlatformChoice | None:
    """The preset a sweep or scale answers against: --platform, else the policy's platform."""
    from cpualloc_cli.adapters.policy import load_policy
    from cpualloc_cli.cli.common import warn

    policy = load_policy(policy_path)
    for note in policy.notes:
        if not note.startswith("policy: using"):
            warn(note)
    if not (platform or params_ or policy.platform or policy.params):
        return None
    return choose_platform(platform, params_, policy)


def gather_boot(choice: PlatformChoice, boot_image: str | None, dtb_path: str | None, dtb_size: str | None,
                initrd_path: str | None, initrd_size: str | None, load_addr: str | None, dtb_addr: str | None,
                initrd_addr: str | None, ram_base: str | None, ram_size: str | None) -> dict[str, Any]:
    """EvalRequest keyword arguments for the boot side: the facts read (adapters) and the placement."""
    from cpualloc_cli.adapters.image import read_boot_facts
    from cpualloc_cli.analysis.placement import PlacementInputs

    kernel = read_boot_facts(boot_image) if boot_image is not None else None
    dtb = read_boot_facts(dtb_path) if dtb_path is not None else None
    dsize = size_option(dtb_size, "--dtb-size")
    if dsize is None and dtb is not None:
        dsize = dtb.fields.get("dtb_size", dtb.fields["file_bytes"])
    isize = size_option(initrd_size, "--initrd-size")
    if isize is None and initrd_path is not None:
        if not os.path.isfile(initrd_path):
            from cpualloc_cli.errors import InputError

            raise InputError("no such file", path=initrd_path)
        isize = os.path.getsize(initrd_path)
    addr = dict(choice.platform.addresses) if choice.platform is not None else {}
    given = {"load_addr": load_addr, "dtb_addr": dtb_addr, "initrd_addr": initrd_addr, "ram_base": ram_base,
             "ram_size": ram_size}
    from_cli = False
    for key, text in given.items():
        value = size_option(text, "--" + key.replace("_", "-"))
        if value is not None:
            addr[key] = value
            from_cli = True
    source = "options"
    if "load_addr" not in addr and kernel is not None and "load_addr" in kernel.fields:
        addr["load_addr"] = kernel.fields["load_addr"]
        source = "uImage ih_load"
    if choice.platform is not None and choice.platform.addresses:
        source = f"platform {choice.platform.id}" + (" and options" if from_cli else "")
    place = PlacementInputs(load_addr=addr.get("load_addr"), dtb_addr=addr.get("dtb_addr"),
                            initrd_addr=addr.get("initrd_addr"), ram_base=addr.get("ram_base"),
                            ram_size=addr.get("ram_size"), dtb_size=dsize, initrd_size=isize, source=source)
    return {"boot_kernel": kernel, "boot_dtb": dtb, "dtb_size": size_option(dtb_size, "--dtb-size"), "placement": place}


def platform_request(choice: PlatformChoice | None) -> dict[str, Any]:
    """EvalRequest keyword arguments a preset gives a sweep or scale: its params and addresses."""
    if choice is None:
        return {}
    from cpualloc_cli.analysis.placement import PlacementInputs

    out: dict[str, Any] = {"params": dict(choice.params)}
    if choice.platform is not None and choice.platform.addresses:
        a = choice.platform.addresses
        out["placement"] = PlacementInputs(load_addr=a.get("load_addr"), dtb_addr=a.get("dtb_addr"),
                                           initrd_addr=a.get("initrd_addr"), ram_base=a.get("ram_base"),
                                           ram_size=a.get("ram_size"), source=f"platform {choice.platform.id}")
    return out
