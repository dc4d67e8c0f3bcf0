"""A `.config` for a kernel outside the bundled model's era, taken as written.

The bundled Kconfig model (kconfig/) describes one era per arch: Linux 2.6.24 for sparc64,
sparc32, x86_64, i386 and ia64, Linux 6.1 for the others. Re-resolving a Linux 6.1 sparc64
`.config` against the 2.6.24 model would reset NR_CPUS to that era's range and defaults (Debian's
NR_CPUS=8192 became "outside 2..255, default 8 used"): a false verdict. A full configuration
written by the kernel's own `conf` is already resolved, so its values are used as written: never
clamped, never reset by an old model's ranges. A fragment or `--set` for such a kernel is applied
as written too, with a warning that dependencies and ranges were not checked (`--srctree` checks
them against the real tree).

No kconfiglib here: nothing is evaluated, only read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cpualloc_cli.model.config import Origin, ResolvedConfig, SymbolValue
from cpualloc_cli.model.findings import Finding, Severity

#: The era the bundled model describes for each arch (kconfig/Kconfig.arch, KERNEL_VERSION).
BUNDLED_ERA: dict[str, str] = {
    "sparc64": "2.6.24", "sparc32": "2.6.24", "x86_64": "2.6.24", "i386": "2.6.24", "ia64": "2.6.24",
}
BUNDLED_ERA_DEFAULT = "6.1"

_SET_RE = re.compile(r"CONFIG_([A-Za-z0-9_]+)=(.*)")
_UNSET_RE = re.compile(r"# CONFIG_([A-Za-z0-9_]+) is not set")
# scripts/kconfig/confdata.c conf_write(): "# Linux/%s %s Kernel Configuration"
_HEADER_RE = re.compile(r"^# Linux/(\S+) (\d+\.\d+[0-9A-Za-z.+_~-]*) Kernel Configuration\s*$", re.M)
_AUTOGEN = "# Automatically generated file; DO NOT EDIT."
_MAX_ECHO = 120
_MAX_FINDINGS = 100  # per rule, then one "N more" (as the kconfig adapter does)


def header_version(text: str | None) -> str | None:
    """The kernel version in a `.config` header written by `conf`, or None."""
    if not text:
        return None
    m = _HEADER_RE.search(text[:4096])
    return m.group(2) if m else None


def is_conf_output(text: str | None) -> bool:
    """Whether the text is a full configuration written by the kernel's `conf` (its header)."""
    return bool(text) and _AUTOGEN in (text or "")[:512] and header_version(text) is not None


def _series(version: str) -> tuple[int, ...] | None:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    major, minor = int(m.group(1)), int(m.group(2))
    # 2.6.x kernels: the third number is the series
    if (major, minor) == (2, 6) and m.group(3) is not None:
        return (2, 6, int(m.group(3)))
    return (major, minor)


def bundled_era(arch: str) -> str:
    return BUNDLED_ERA.get(arch, BUNDLED_ERA_DEFAULT)


def outside_bundled_era(arch: str, version: str) -> bool:
    """Whether `version` is another series than the one the bundled model describes for `arch`."""
    want, have = _series(bundled_era(arch)), _series(version)
    return want is not None and have is not None and want != have


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _type_of(value: str) -> str:
    if value in ("y", "m", "n"):
        return "tristate" if value == "m" else "bool"
    if value.startswith('"'):
        return "string"
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", value):
        return "hex"
    if re.fullmatch(r"-?\d+", value):
        return "int"
    return "unknown"


def resolve_as_written(*, text: str | None, display: str | None, sets: Sequence[tuple[str, str]], arch: str,
                       version: str, version_source: str, relevant: Sequence[str],
                       show: Sequence[str] = ()) -> tuple[ResolvedConfig, str]:
    """(the configuration as written, its text with --set applied) for a kernel outside the
    bundled model's era. Malformed lines are findings, as `conf` treats them."""
    values: dict[str, str] = {}
    written: dict[str, str] = {}  # as it appears after CONFIG_X=, quotes kept
    origins: dict[str, Origin] = {}
    findings: list[Finding] = []
    where = display or "(config)"
    full = is_conf_output(text)
    malformed = 0
    for lineno, raw in enumerate((text or "").splitlines(), 1):
        line = raw.rstrip()
        m = _SET_RE.fullmatch(line)
        if m:
            values[m.group(1)] = _unquote(m.group(2))
            written[m.group(1)] = m.group(2)
            origins[m.group(1)] = Origin.FILE
            continue
        m = _UNSET_RE.fullmatch(line)
        if m:
            values[m.group(1)] = "n"
            written[m.group(1)] = "n"
            origins[m.group(1)] = Origin.FILE
            continue
        if line and not line.lstrip().startswith("#"):
            malformed += 1
            if malformed <= _MAX_FINDINGS:
                findings.append(Finding("config.malformed-line", Severity.WARNING,
                                        f"malformed line ignored: {line[:_MAX_ECHO]!r}", path=where, line=lineno))
    if malformed > _MAX_FINDINGS:
        findings.append(Finding("config.malformed-line", Severity.WARNING,
                                f"{malformed - _MAX_FINDINGS} more malformed lines ignored", path=where))
    for name, value in sets:
        values[name] = _unquote(value)
        written[name] = value
        origins[name] = Origin.SET
    era = bundled_era(arch)
    if full and not sets:
        findings.append(Finding(
            "config.taken-as-written", Severity.INFO,
            f"a full configuration written by conf for Linux {version} ({version_source}); the bundled model "
            f"describes {arch} as in Linux {era}, so the values are used as written, not re-resolved",
            path=where, hint="--srctree re-resolves it against a real tree"))
    else:
        what = "--set values" if not text else ("a fragment" + (" and --set values" if sets else "")
                                                if not full else "--set values on a full configuration")
        findings.append(Finding(
            "config.not-checked", Severity.WARNING,
            f"{what} for Linux {version} ({version_source}) applied as written: the bundled model describes "
            f"{arch} as in Linux {era}, so dependencies and ranges were not checked",
            path=where, hint="give --srctree with a Linux tree of that version to check them"))
    details: dict[str, SymbolValue] = {}
    for name in list(relevant) + [s for s in show if s not in relevant]:
        if name in values:
            details[name] = SymbolValue(name=name, value=values[name], type=_type_of(written[name]),
                                        origin=origins[name])
        elif name in show:
            details[name] = SymbolValue(name=name, value="", type="unknown", origin=Origin.UNKNOWN)
    resolved = ResolvedConfig(
        arch=arch, kernel_version=version, kernel_version_source=version_source, values=values, details=details,
        findings=tuple(findings), source="as written", config_path=display,
    )
    out_lines = [line for line in (text or "").splitlines()
                 if not any(line.startswith((f"CONFIG_{n}=", f"# CONFIG_{n} is not set")) for n, _ in sets)]
    for name, value in sets:
        out_lines.append(f"# CONFIG_{name} is not set" if value == "n" else f"CONFIG_{name}={value}")
    return resolved, "\n".join(out_lines) + ("\n" if out_lines else "")
