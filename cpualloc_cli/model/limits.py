"""Limits, policies, waivers and the outcome of checking them (the `check` report).

Plain data only: the TOML readers live in adapters/limits_loader.py and adapters/policy.py,
the evaluation in analysis/limits.py.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.measures import Budget, Measure


class LimitKind(StrEnum):
    MEASURE = "measure"  # compare a measure with a bound
    SPARC64_PAGEFLAGS = "sparc64-pageflags"  # the init_64.c BUILD_BUG_ON, from the config
    LAST_CPUPID_COST = "last-cpupid-cost"  # a cost finding, never a failure
    PLACEMENT = "placement"  # the kernel's footprint at its load address vs the DTB, initrd and RAM


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"
    WAIVED = "waived"
    INFO = "info"
    # The inputs cannot decide: a bound or a measure is only known as a range (e.g. a cited
    # lower bound of the kernel's own size) that straddles the limit. Never drawn as PASS;
    # exit 0 unless `--fail-on inconclusive`.
    INCONCLUSIVE = "inconclusive"


LIMIT_MEASURES = frozenset(m.value for m in Measure)  # the one vocabulary (model/measures.py)
BOUND_PARAMS = frozenset({"crashkernel", "load_window", "bootm_len", "boot_partition", "kernel_partition",
                          "kernel_image_maxsize", "chromeos_kernel_buffer",
                          "memory_reserved_room"})  # memory - min_free_memory (derived, issue 15)
# Parameters that are not bounds: how partition_blocks rounds (the flash erase block / fs block).
OTHER_PARAMS = frozenset({"erase_block", "memory", "min_free_memory"})
FIXES = frozenset({"nr_cpus", "virtual_design", "top_bss", "sparsemem_vmemmap"})  # what a database limit may ask for
FIX_KINDS = FIXES | {"summary", "cause", "over_by"}  # what an outcome's fixes may be


@dataclass(frozen=True, slots=True)
class BoundCase:
    """`bound` applies when every `config` symbol has the given value (and the arch matches)."""

    config: tuple[tuple[str, str], ...]
    bound: float
    arches: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Limit:
    id: str
    title: str
    arches: tuple[str, ...]  # ("*",) for all
    since: str  # "" = always
    before: str  # "" = still applies (exclusive upper bound)
    kind: LimitKind
    severity: Severity
    sources: tuple[str, ...]
    note: str
    measure: str | None = None
    bound: float | None = None  # bytes, or a fraction for vmalloc_share
    bound_param: str | None = None
    bound_symbol: str | None = None
    bound_when: tuple[BoundCase, ...] = ()
    warn_above: float | None = None
    # a warning when the measure is within this many bytes of the bound (AOSP's 32 KiB), before it fails
    warn_within: float | None = None
    strict: bool = True
    strict_less: bool = False  # the kernel's test is `<`, not `<=`
    input: str = "kernel"  # "kernel" or "module"
    requires_config: tuple[tuple[str, str], ...] = ()
    fixes: tuple[str, ...] = ()
    origin: str = "database"  # "database" or the policy file path

    def applies_to_arch(self, arch: str) -> bool:
        return "*" in self.arches or arch in self.arches

    def warn_threshold(self, bound: float) -> float | None:
        """The value above which the limit warns though within `bound`: the lower of warn_above
        and bound - warn_within (None: no warning threshold)."""
        out = [t for t in (self.warn_above, None if self.warn_within is None else bound - self.warn_within)
               if t is not None]
        return min(out) if out else None


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    expires: _dt.date | None = None
    origin: str = ""  # policy file path

    def active(self, today: _dt.date) -> bool:
        return self.expires is None or today <= self.expires


@dataclass(frozen=True)
class Policy:
    path: str | None  # None: no policy file
    limits: tuple[Limit, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    budgets: tuple[Budget, ...] = ()
    fail_on: str | None = None  # "warning" or "error"
    params: dict[str, int] = field(default_factory=dict)  # crashkernel / load_window defaults
    # Which file discovery used or skipped and why ("skipped /tmp/cpualloc.toml: ..."): warnings
    # for stderr and the report.
    notes: tuple[str, ...] = ()
    platform: str | None = None  # `platform = "NAME"`: the preset the policy selects
    platforms: tuple[Any, ...] = ()  # the policy's own [[platform]] presets (model.boot.Platform)


@dataclass(frozen=True, slots=True)
class Fix:
    """A fix computed by the tool: `text` for people, the rest for machines."""

    text: str
    kind: str  # "nr_cpus", "virtual_design", "top_bss", "sparsemem_vmemmap", "over_by"
    value: int | None = None


@dataclass(frozen=True, slots=True)
class LimitOutcome:
    rule: str
    title: str
    status: Status
    severity: Severity  # the severity the outcome carries (error/warning/info)
    measure: str | None
    measured: float | None
    bound: float | None
    margin: float | None  # bound - measured (negative: over)
    unit: str  # "bytes", "fraction", "bits"
    basis: str  # where the measured value came from: "image", "config model", "config", ...
    arithmetic: tuple[str, ...]
    fixes: tuple[Fix, ...]
    sources: tuple[str, ...]
    note: str
    skip_reason: str | None = None
    waiver: Waiver | None = None
    path: str | None = None  # the input a finding points at (the .config or the image)
    line: int | None = None
    origin: str = "database"

    @property
    def counts(self) -> bool:
        """Whether it counts against the exit status (failures only, never waived ones)."""
        return self.status is Status.FAIL


@dataclass(frozen=True, slots=True)
class BudgetOutcome:
    measure: str
    budget: str  # "+1%", "+65536 B"
    baseline: float
    current: float | None
    allowed: float
    status: Status  # PASS, FAIL, SKIPPED, WAIVED
    arithmetic: tuple[str, ...]
    skip_reason: str | None = None

    @property
    def rule(self) -> str:
        return f"budget.{self.measure}"


@dataclass(frozen=True)
class CheckInputs:
    """What the check had to work with, for the report header."""

    arch: str
    kernel_version: str | None
    kernel_version_source: str | None
    design: str | None
    design_source: str | None
    config_path: str | None
    image_path: str | None
    boot_image_path: str | None
    baseline_path: str | None
    policy_path: str | None
    basis: str  # "image", "config", "image+config"
    measures: dict[str, float]
    measure_sources: dict[str, str]
    # folded name -> (size, nm letter) of the image's largest symbols, recorded for a later --baseline
    symbol_sizes: dict[str, tuple[int, str]] = field(default_factory=dict)
    config_source: str = ""  # "options", "image IKCONFIG" or "none"
    base: str = ""  # the kernel's own size and where it came from (image, --base-size, lower bound, ...)
    lower_bound_measures: tuple[str, ...] = ()  # measures known only from below
    nr_cpus: int | None = None
    nr_cpus_source: str = ""
    platform: str | None = None  # the preset used (--platform or the policy's platform = "...")
    platform_source: str | None = None  # "--platform" or "policy"


@dataclass(frozen=True)
class CheckReport:
    inputs: CheckInputs
    outcomes: tuple[LimitOutcome, ...]
    budgets: tuple[BudgetOutcome, ...]
    not_applicable: tuple[str, ...]  # rule ids filtered out by arch/version/input kind
    fail_on: str  # "error" or "warning": the lowest severity of a FAIL that gives exit 1
    fail_on_inconclusive: bool = False  # --fail-on inconclusive: an inconclusive limit gives exit 1 too
    # --strict: config findings (out of range, did not take, ...) that make the run fail
    strict_findings: tuple[str, ...] = ()

    def failing(self) -> list[LimitOutcome]:
        return [o for o in self.outcomes if o.status is Status.FAIL]

    def counts_against(self, o: LimitOutcome) -> bool:
        """Whether this outcome makes the run fail (the one rule every format follows)."""
        threshold = 1 if self.fail_on == "warning" else 2
        if o.status is Status.FAIL:
            return o.severity.rank >= threshold
        if o.status is Status.INCONCLUSIVE:
            return self.fail_on_inconclusive and o.severity.rank >= threshold
        return False

    def failure_reasons(self) -> tuple[str, ...]:
        """Why the run fails, one line each; empty when it passes. exit_code is 1 exactly when
        this is non-empty, so every renderer can state the verdict from it."""
        reasons: list[str] = []
        for o in self.outcomes:
            if self.counts_against(o):
                what = "inconclusive (--fail-on inconclusive)" if o.status is Status.INCONCLUSIVE else o.severity.value
                reasons.append(f"{o.rule}: {what}")
        reasons += [f"{b.rule}: budget overrun" for b in self.budgets if b.status is Status.FAIL]
        reasons += [f"--strict: {f}" for f in self.strict_findings]
        return tuple(reasons)

    @property
    def exit_code(self) -> int:
        return 1 if self.failure_reasons() else 0


def many_exit_code(reports: tuple[CheckReport, ...] | list[CheckReport], unreadable: int) -> int:
    """The exit code of one check over several inputs: 3 when an input could not be read (the
    others still reported), else 1 when any report fails the run (its own exit_code), else 0."""
    if unreadable:
        return 3  # errors.EXIT_INPUT
    return 1 if any(r.exit_code for r in reports) else 0
