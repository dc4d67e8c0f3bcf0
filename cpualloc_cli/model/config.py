"""A resolved Kconfig configuration, as the footprint and limits need it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from cpualloc_cli.model.findings import Finding


class Origin(StrEnum):
    FILE = "file"  # assigned in --config and taken
    SET = "set"  # assigned with --set and taken
    DEFAULT = "default"  # Kconfig default
    SELECT = "select"  # forced by a select/imply
    OUT_OF_RANGE_DEFAULT = "default (given value out of range)"
    PROBE_REPLAYED = "probe replayed from .config"
    UNAVAILABLE = "not available"  # probe not run and not recorded
    UNKNOWN = "unknown symbol"  # asked for with --show, not defined in the tree


@dataclass(frozen=True, slots=True)
class SymbolValue:
    name: str
    value: str  # as written in a .config: "y", "m", "n", "64", "0x1000000", "text"
    type: str  # "bool", "tristate", "int", "hex", "string", "unknown"
    origin: Origin
    visible: bool = True
    range: tuple[int, int] | None = None
    defined_at: tuple[str, int] | None = None  # (Kconfig file, line)
    unmet_dependency: str | None = None  # expression with term values, when not visible
    given: str | None = None  # what the user wrote, when it did not take


@dataclass(frozen=True, slots=True)
class Probe:
    """One Kconfig `$(shell,...)` call: run (--allow-shell), or not run and then replayed
    from the .config or not available."""

    command: str
    defined_at: tuple[str, int]  # (Kconfig file, line) where it was expanded
    status: str  # "run", "replayed", "not available", "not available (dependency)", "not run"
    symbol: str | None  # the probe symbol whose value depends on it
    value: str | None  # the output (run) or the replayed value


@dataclass(frozen=True)
class ResolvedConfig:
    """Every symbol's resolved value plus where relevant ones came from."""

    arch: str  # cpualloc arch name: sparc64, sparc32, x86_64, i386, ia64, arm64, ...
    kernel_version: str  # "2.6.24", "6.1.0", ...
    kernel_version_source: str  # "bundled model", "srctree Makefile", "--kernel-version", "image banner"
    values: dict[str, str]  # every symbol with a value ("n" included for bools)
    details: dict[str, SymbolValue] = field(default_factory=dict)  # the footprint-relevant ones
    findings: tuple[Finding, ...] = ()
    source: str = "bundled"  # "bundled" or the srctree path
    config_path: str | None = None
    probes: tuple[Probe, ...] = ()  # $(shell,...) probes: run, replayed or not available
    unsupported: tuple[str, ...] = ()  # Kconfig constructs only partly supported (said plainly)
    header_version: str | None = None  # the version in a conf-written header ("# Linux/x86 6.1.192 Kernel ...")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def is_enabled(self, name: str) -> bool:
        return self.values.get(name, "n") in ("y", "m")

    def get_int(self, name: str, default: int | None = None) -> int | None:
        raw = self.values.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw, 0)
        except ValueError:
            return default
