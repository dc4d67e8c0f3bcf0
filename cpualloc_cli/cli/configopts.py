"""Config inputs shared by `config`, `footprint`, `sweep` and `check`.

Integration contract (keep stable)::

    from cpualloc_cli.cli.configopts import config_options, load_config_from_options

    @click.command()
    @config_options
    def footprint(arch, config, set_, config_from, srctree, allow_shell, kernel_version, strict, ...):
        resolved = load_config_from_options(
            arch=arch, config=config, set_=set_, config_from=config_from, srctree=srctree,
            allow_shell=allow_shell, kernel_version=kernel_version, strict=strict)
        # resolved is None when no config input was given at all (no --arch, --config,
        # --set, --config-from, --srctree)

``config_options`` adds: ``--arch A``, ``--config FILE``, ``--set SYM=VALUE`` (repeatable,
applied after the file as ``scripts/config`` would), ``--config-from IMAGE`` (the IKCONFIG
embedded in an image), ``--srctree DIR`` (a real Linux tree; otherwise the bundled model),
``--allow-shell`` (run Kconfig ``$(shell,...)`` probes), ``--kernel-version V`` and
``--strict``. Click passes them as the keyword arguments ``arch, config, set_, config_from,
srctree, allow_shell, kernel_version, strict``. It also adds ``--env VAR`` (repeatable: an
environment variable a ``--srctree`` tree may read besides the ones Kbuild defines), which is
not passed to the command: it is kept on the click context and read by
``load_config_and_text``.

``load_config_from_options(...) -> ResolvedConfig | None``: see its docstring. Reading the
design: ``resolved.values["PERCPU_DESIGN"]`` is ``"cpu_alloc_static"``,
``"cpu_alloc_virtual"``, ``"vmalloc_reserve"`` or ``"percpu_first_chunk"`` for the bundled
model (the choice symbols ``PERCPU_DESIGN_*`` are in ``values`` too); it is absent for a
real tree. ``config_findings_exit(resolved, strict)`` gives the exit code the findings
imply (1 under ``--strict`` when any warning).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from cpualloc_cli.errors import EXIT_FINDINGS, EXIT_OK, UsageError
from cpualloc_cli.model.config import ResolvedConfig
from cpualloc_cli.model.findings import Severity

F = TypeVar("F", bound=Callable[..., Any])

ARCH_CHOICES = ("sparc64", "sparc32", "x86_64", "i386", "ia64", "arm64", "arm", "powerpc", "powerpc64", "riscv",
                "mips", "s390", "loongarch")


_ENV_META_KEY = "cpualloc.env_names"


def _keep_env_names(ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    for name in value:
        if not name or not all(c.isalnum() or c == "_" for c in name) or name[0].isdigit():
            raise click.BadParameter(f"{name!r} is not an environment variable name", param_hint="--env")
    ctx.meta[_ENV_META_KEY] = tuple(value)
    return tuple(value)


def _env_names_from_context() -> tuple[str, ...]:
    ctx = click.get_current_context(silent=True)
    return tuple(ctx.meta.get(_ENV_META_KEY, ())) if ctx is not None else ()


def config_options(fn: F) -> F:
    """Add the config input options (see the module docstring for the parameter names)."""
    opts = [
        click.option("--env", "env_names", metavar="VAR", multiple=True, expose_value=False,
                     callback=_keep_env_names,
                     help="Let a --srctree tree read this environment variable (repeatable). By default "
                          "a tree sees only the variables Kbuild defines (srctree, ARCH, SRCARCH, CC, LD, "
                          "KERNELVERSION, CC_VERSION_TEXT, ...)."),
        click.option("--strict", "strict", is_flag=True,
                     help="Config findings (out of range, did not take, unknown symbol, malformed line, "
                          "kconfiglib warnings) exit 1 instead of warning."),
        click.option("--kernel-version", "kernel_version", metavar="VERSION", default=None,
                     help="The Linux version to evaluate version-ranged limits for (overrides the model's, "
                          "the tree's Makefile and the image banner)."),
        click.option("--allow-shell", "allow_shell", is_flag=True,
                     help="Run Kconfig $(shell,...) probes (compiler tests). Off by default: probes are "
                          "replayed from the .config or reported as not available."),
        click.option("--srctree", "srctree", metavar="DIR", default=None,
                     type=click.Path(file_okay=False, dir_okay=True),
                     help="A Linux source tree to evaluate the config with (default: the bundled model). "
                          "CROSS_COMPILE is taken from the environment when set."),
        click.option("--config-from", "config_from", metavar="IMAGE", default=None,
                     help="Use the configuration embedded in a kernel image (CONFIG_IKCONFIG).")
        ,
        click.option("--set", "set_", metavar="SYM=VALUE", multiple=True,
                     help="Assign a symbol after the file, as scripts/config would (repeatable; "
                          "CONFIG_ prefix optional)."),
        click.option("--config", "config", metavar="FILE", default=None,
                     help="A .config or a fragment to read (also /proc/config.gz)."),
        click.option("--arch", "arch", type=click.Choice(ARCH_CHOICES), default=None,
                     help="The architecture (default: from the config, else x86_64 in the bundled model)."),
    ]
    for opt in opts:
        fn = opt(fn)
    return fn


def parse_sets(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().removeprefix("CONFIG_")
        if not sep or not name or not all(c.isalnum() or c == "_" for c in name):
            raise UsageError(f"--set {item!r}: expected SYM=VALUE", hint="e.g. --set NR_CPUS=64")
        out.append((name, value))
    return tuple(out)


def _read_config_from_image(path: str) -> tuple[str, str | None]:
    """(.config text, kernel version from the banner or None) from an image."""
    from cpualloc_cli.adapters import kconfig as kadapter

    reader: Callable[[str], str] | None = None
    try:
        from cpualloc_cli.adapters import ikconfig

        reader = getattr(ikconfig, "read_ikconfig", None)
    except ImportError:
        reader = None
    if reader is None:
        try:
            from cpualloc_cli.adapters import decompress

            reader = getattr(decompress, "read_ikconfig", None)
        except ImportError:
            reader = None
    if reader is None:
        raise UsageError("--config-from is not available in this build (no IKCONFIG reader)",
                         hint="extract the config with `cpualloc extract --ikconfig` and pass --config")
    text = reader(path)
    version = kadapter.read_image_banner_version(path)
    return text, version


def load_config_from_options(*, arch: str | None, config: str | None, set_: Sequence[str],
                             config_from: str | None, srctree: str | None, allow_shell: bool,
                             kernel_version: str | None, strict: bool = False,
                             show: Sequence[str] = (), use_cache: bool = True) -> ResolvedConfig | None:
    """Resolve the configuration the options describe.

    Signature (stable)::

        load_config_from_options(*, arch, config, set_, config_from, srctree, allow_shell,
                                 kernel_version, strict=False, show=(), use_cache=True)
            -> ResolvedConfig | None

    Returns None when no config input was given at all (no --arch, --config, --set,
    --config-from, --srctree). Otherwise a ResolvedConfig whose ``values`` hold every
    symbol's value as .config writes it without the ``CONFIG_`` prefix (bools "y"/"m"/"n",
    ints/hex as written, strings unquoted), ``arch`` cpualloc's arch name, ``kernel_version``
    and its source, ``details`` for the footprint-relevant symbols (and ``show``), and
    ``findings`` (warnings; ``strict`` is accepted for symmetry, use
    :func:`config_findings_exit`). Raises ConfigError (exit 3) for unreadable/undecodable
    input or an unparsable Kconfig, UsageError (exit 2) for bad options.
    """
    loaded = load_config_and_text(arch=arch, config=config, set_=set_, config_from=config_from, srctree=srctree,
                                  allow_shell=allow_shell, kernel_version=kernel_version, show=show,
                                  use_cache=use_cache, require_input=True)
    return None if loaded is None else loaded.resolved


def load_config_and_text(*, arch: str | None, config: str | None, set_: Sequence[str], config_from: str | None,
                         srctree: str | None, allow_shell: bool, kernel_version: str | None,
                         show: Sequence[str] = (), use_cache: bool = True, require_input: bool = False,
                         env_names: Sequence[str] | None = None) -> Any:
    """Like load_config_from_options, returning the adapter's LoadedConfig (with the full
    resolved .config text for --write-config)."""
    from cpualloc_cli.adapters import kconfig as kadapter

    sets = parse_sets(set_)
    if require_input and not (arch or config or sets or config_from or srctree):
        return None
    if config is not None and config_from is not None:
        raise UsageError("give --config or --config-from, not both")
    text: str | None = None
    display: str | None = None
    image_version: str | None = None
    if config is not None:
        text = kadapter.read_config_text(config)
        display = config
    elif config_from is not None:
        text, image_version = _read_config_from_image(config_from)
        display = f"{config_from}:ikconfig"
    req = kadapter.ConfigRequest(
        arch=arch, config_text=text, config_display=display, sets=sets, srctree=srctree, allow_shell=allow_shell,
        kernel_version=kernel_version, image_kernel_version=image_version,
        cross_compile=os.environ.get("CROSS_COMPILE"), show=tuple(show), use_cache=use_cache,
        env_names=tuple(env_names) if env_names is not None else _env_names_from_context(),
    )
    return kadapter.load_resolved_config(req)


def config_findings_exit(resolved: ResolvedConfig | None, strict: bool) -> int:
    """EXIT_FINDINGS when --strict and any config finding is a warning or worse."""
    if resolved is None or not strict:
        return EXIT_OK
    worst = max((f.severity.rank for f in resolved.findings), default=-1)
    return EXIT_FINDINGS if worst >= Severity.WARNING.rank else EXIT_OK
