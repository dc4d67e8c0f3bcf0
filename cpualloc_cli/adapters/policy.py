"""Find and read a project's policy: `cpualloc.toml`, or `[tool.cpualloc]` in `pyproject.toml`.

Schema (all keys optional):

    fail_on = "warning"            # or "error"
    crashkernel = "16MiB"          # default for --crashkernel
    load_window = "6MiB"           # default for --load-window
    [budgets]                      # growth against --baseline
    bss = "+1%"
    image_extent = "+64KiB"
    [[limit]]                      # custom limits, same schema as the shipped database
    [[waiver]]
    rule = "x86.kernel-image-size" # the rule id it silences
    reason = "..."                 # mandatory
    expires = 2026-12-31           # optional (TOML date or "YYYY-MM-DD"); after it, no longer silences
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from cpualloc_cli.adapters.limits_loader import parse_limits, read_toml_file
from cpualloc_cli.errors import PolicyError
from cpualloc_cli.model.limits import Policy, Waiver
from cpualloc_cli.model.measures import Budget, parse_budget, parse_size

POLICY_FILE = "cpualloc.toml"
PYPROJECT = "pyproject.toml"
_KEYS = frozenset({"fail_on", "crashkernel", "load_window", "budgets", "limit", "waiver"})


def find_policy(start: str) -> tuple[str, bool] | None:
    """From `start` upward: the first cpualloc.toml, or pyproject.toml with [tool.cpualloc].
    Returns (path, is_pyproject) or None."""
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, POLICY_FILE)
        if os.path.isfile(candidate):
            return candidate, False
        pyproject = os.path.join(here, PYPROJECT)
        if os.path.isfile(pyproject):
            doc = read_toml_file(pyproject)
            tool = doc.get("tool")
            if isinstance(tool, dict) and "cpualloc" in tool:
                return pyproject, True
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def load_policy(path: str | None = None, *, start: str | None = None) -> Policy:
    """`path` (from --policy) or the one found from `start` (the cwd) upward; an empty Policy
    when there is none."""
    if path is not None:
        if not os.path.exists(path):
            raise PolicyError("no such file", path=path, hint="check the --policy path")
        is_pyproject = os.path.basename(path) == PYPROJECT
    else:
        found = find_policy(start or os.getcwd())
        if found is None:
            return Policy(path=None)
        path, is_pyproject = found
    doc = read_toml_file(path)
    prefix = ""
    if is_pyproject:
        tool = doc.get("tool", {})
        section = tool.get("cpualloc") if isinstance(tool, dict) else None
        if section is None:
            raise PolicyError("no [tool.cpualloc] table", path=path)
        if not isinstance(section, dict):
            raise PolicyError("tool.cpualloc: expected a table", path=path)
        doc = section
        prefix = "tool.cpualloc."
    return parse_policy(doc, path=path, prefix=prefix)


def parse_policy(doc: dict[str, Any], *, path: str, prefix: str = "") -> Policy:
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise PolicyError(f"{prefix}{unknown[0]}: unknown key", path=path,
                          hint=f"known keys: {', '.join(sorted(_KEYS))}")
    fail_on = doc.get("fail_on")
    if fail_on is not None and fail_on not in ("warning", "error"):
        raise PolicyError(f"{prefix}fail_on: {fail_on!r} is not \"warning\" or \"error\"", path=path)
    params: dict[str, int] = {}
    for name in ("crashkernel", "load_window"):
        if name in doc:
            value = doc[name]
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise PolicyError(f"{prefix}{name}: expected a size like \"16MiB\"", path=path)
            try:
                params[name] = value if isinstance(value, int) else parse_size(value)
            except ValueError as exc:
                raise PolicyError(f"{prefix}{name}: {exc}", path=path) from None
    budgets: list[Budget] = []
    raw_budgets = doc.get("budgets", {})
    if not isinstance(raw_budgets, dict):
        raise PolicyError(f"{prefix}budgets: expected a table of MEASURE = \"+N%\"", path=path)
    for name, value in raw_budgets.items():
        if not isinstance(value, str):
            raise PolicyError(f"{prefix}budgets.{name}: expected a string like \"+1%\" or \"+64KiB\"", path=path)
        try:
            budgets.append(parse_budget(f"{name}={value}"))
        except ValueError as exc:
            raise PolicyError(f"{prefix}budgets.{name}: {exc}", path=path) from None
    limits = parse_limits(doc.get("limit", []), path=path, key=f"{prefix}limit", origin=path)
    waivers = _parse_waivers(doc.get("waiver", []), path=path, key=f"{prefix}waiver")
    return Policy(path=path, limits=limits, waivers=waivers, budgets=tuple(budgets),
                  fail_on=fail_on, params=params)


def _parse_waivers(entries: Any, *, path: str, key: str) -> tuple[Waiver, ...]:
    if not isinstance(entries, list):
        raise PolicyError(f"{key}: expected an array of tables ([[waiver]])", path=path)
    out = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: expected a table", path=path)
        unknown = sorted(set(entry) - {"rule", "reason", "expires"})
        if unknown:
            raise PolicyError(f"{where}.{unknown[0]}: unknown key", path=path, hint="known keys: rule, reason, expires")
        rule = entry.get("rule")
        if not isinstance(rule, str) or not rule.strip():
            raise PolicyError(f"{where}.rule: missing (the rule id to waive)", path=path)
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise PolicyError(f"{where}.reason: missing; every waiver needs a reason", path=path)
        expires = entry.get("expires")
        date: dt.date | None = None
        if expires is not None:
            if isinstance(expires, dt.datetime):
                date = expires.date()
            elif isinstance(expires, dt.date):
                date = expires
            elif isinstance(expires, str):
                try:
                    date = dt.date.fromisoformat(expires.strip())
                except ValueError:
                    raise PolicyError(f"{where}.expires: {expires!r} is not a date (YYYY-MM-DD)", path=path) from None
            else:
                raise PolicyError(f"{where}.expires: expected a date (YYYY-MM-DD)", path=path)
        out.append(Waiver(rule=rule.strip(), reason=reason.strip(), expires=date, origin=path))
    return tuple(out)
