"""Find and read a project's policy: `cpualloc.toml`, or `[tool.cpualloc]` in `pyproject.toml`.

Schema (all keys optional):

    fail_on = "warning"            # or "error"
    crashkernel = "16MiB"          # default for --crashkernel
    load_window = "6MiB"           # default for --load-window
    [budgets]                      # growth against --baseline
    bss = "+1%"
    image_extent = "+64KiB"
    [[limit]]                      # custom limits, same schema as the shipped database
    platform = "rpi-arm64-uboot"   # a preset (data/platforms.toml or a [[preset]] below), as --platform
    [[preset]]                     # own presets: the [[platform]] schema of data/platforms.toml
    [[waiver]]
    rule = "x86.kernel-image-size" # the rule id it silences
    reason = "..."                 # mandatory
    expires = 2026-12-31           # optional (TOML date or "YYYY-MM-DD"); after it, no longer silences
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass, replace
from typing import Any

from cpualloc_cli.adapters.limits_loader import MAX_TOML_BYTES, decode_toml, parse_limits
from cpualloc_cli.errors import PolicyError
from cpualloc_cli.model.limits import Policy, Waiver
from cpualloc_cli.model.measures import Budget, check_number, parse_budget, parse_size

POLICY_FILE = "cpualloc.toml"
PYPROJECT = "pyproject.toml"
_KEYS = frozenset({"fail_on", "crashkernel", "load_window", "budgets", "limit", "waiver", "platform", "preset"})

# Discovery (issue 17, class 5): a policy found from the working directory upward is only taken
# from a directory and a file that nobody but the user (or root) can have written. The walk
# stops at the repository root (a directory holding `.git`) or the user's home, whichever comes
# first, so a `cpualloc.toml` planted in /tmp or in a shared parent never applies.
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


@dataclass(frozen=True)
class _Found:
    path: str
    is_pyproject: bool
    doc: dict[str, Any]


def _shown(value: object) -> str:
    """A value from the file for an error line: repr, cut to a readable length."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"a {value.bit_length()}-bit integer"  # (str() refuses more than 4,300 digits)
    text = repr(value)
    return text if len(text) <= 60 else text[:50] + f"... ({len(text)} characters)"


def _untrusted(st: os.stat_result) -> str | None:
    """Why a file or directory with this fstat() could have been written by someone other than
    the user or root, or None when it could not."""
    me = os.geteuid()
    if st.st_uid not in (me, 0):
        return f"owned by uid {st.st_uid} (not you, uid {me}, nor root)"
    if st.st_mode & stat.S_IWOTH:
        return f"writable by others (mode {stat.S_IMODE(st.st_mode):04o})"
    if st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid, st.st_uid):
        return f"writable by group {st.st_gid} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def _private_group(gid: int, uid: int) -> bool:
    """True when `gid` is the owner's own user-private group (the Debian/Fedora convention that
    makes umask 002 files group-writable): the owner's primary group, same name, no other members."""
    try:
        import grp
        import pwd
    except ImportError:  # (not on POSIX)
        return False
    try:
        owner = pwd.getpwuid(uid)
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return owner.pw_gid == gid and group.gr_name == owner.pw_name and not [m for m in group.gr_mem
                                                                           if m != owner.pw_name]


def _read_fd(fd: int, path: str) -> bytes:
    """At most MAX_TOML_BYTES + 1 bytes of an open regular file (decode_toml refuses more)."""
    chunks: list[bytes] = []
    left = MAX_TOML_BYTES + 1
    while left > 0:
        try:
            chunk = os.read(fd, min(left, 1 << 20))
        except OSError as exc:
            raise PolicyError(f"cannot read: {exc.strerror}", path=path) from None
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _open_regular(path: str, *, dir_fd: int | None = None, nofollow: bool = False) -> tuple[int, os.stat_result]:
    """Open `path` for reading without blocking on a FIFO, and check on the descriptor that it
    is a regular file (PolicyError otherwise). Returns (fd, fstat)."""
    flags = os.O_RDONLY | _O_CLOEXEC | _O_NONBLOCK | (_O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise PolicyError("no such file", path=path, hint="check the --policy path") from None
    except OSError as exc:
        raise PolicyError(f"cannot open: {exc.strerror}", path=path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise PolicyError(f"is {kind}", path=path, hint="a policy is a TOML file")
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _stop_dirs() -> set[str]:
    home = os.path.expanduser("~")
    return {os.path.abspath(home)} if home and home != "~" else set()


def _discover(start: str) -> tuple[_Found | None, list[str]]:
    """From `start` upward: the first trusted cpualloc.toml, or trusted pyproject.toml with
    [tool.cpualloc], and a note for each file used or skipped."""
    notes: list[str] = []
    here = os.path.abspath(start)
    stops = _stop_dirs()
    while True:
        found, at_root = _look_in(here, notes)
        if found is not None:
            notes.append(f"policy: using {found.path} (found from the working directory upward)")
            return found, notes
        parent = os.path.dirname(here)
        if at_root or here in stops or parent == here:
            return None, notes
        here = parent


def _look_in(directory: str, notes: list[str]) -> tuple[_Found | None, bool]:
    """The policy in one directory, if any and trusted; and whether it is a repository root."""
    try:
        dfd = os.open(directory, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    except OSError:
        return None, False  # unreadable or gone: nothing found here, keep walking up
    try:
        try:
            os.stat(".git", dir_fd=dfd, follow_symlinks=False)
            at_root = True
        except OSError:
            at_root = False
        candidates = []
        for name in (POLICY_FILE, PYPROJECT):
            try:
                os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except OSError:
                continue
            candidates.append(name)
        if not candidates:
            return None, at_root
        why = _untrusted(os.fstat(dfd))
        if why is not None:
            for name in candidates:
                notes.append(f"policy: skipped {os.path.join(directory, name)}: its directory is {why}")
            return None, at_root
        for name in candidates:
            found = _try_file(dfd, directory, name, notes)
            if found is not None:
                return found, at_root
        return None, at_root
    finally:
        os.close(dfd)


def _try_file(dfd: int, directory: str, name: str, notes: list[str]) -> _Found | None:
    path = os.path.join(directory, name)
    try:
        fd, st = _open_regular(name, dir_fd=dfd, nofollow=True)
    except PolicyError as exc:
        reason = "a symbolic link" if os.path.islink(path) else exc.message
        notes.append(f"policy: skipped {path}: {reason}")
        return None
    try:
        why = _untrusted(st)
        if why is not None:
            notes.append(f"policy: skipped {path}: {why}")
            return None
        doc = decode_toml(_read_fd(fd, path), path)
    finally:
        os.close(fd)
    if name == PYPROJECT:
        tool = doc.get("tool")
        if not (isinstance(tool, dict) and "cpualloc" in tool):
            return None  # a pyproject.toml without [tool.cpualloc] is passed over
    return _Found(path, name == PYPROJECT, doc)


def find_policy(start: str) -> tuple[str, bool] | None:
    """From `start` upward (to the repository root or home): the first trusted cpualloc.toml,
    or pyproject.toml with [tool.cpualloc]. Returns (path, is_pyproject) or None."""
    found, _ = _discover(start)
    return None if found is None else (found.path, found.is_pyproject)


def load_policy(path: str | None = None, *, start: str | None = None) -> Policy:
    """`path` (from --policy, used as given but it must be a regular file) or the one found
    from `start` (the cwd) upward; an empty Policy when there is none. `Policy.notes` says
    which file discovery used or skipped, and why."""
    notes: list[str] = []
    if path is not None:
        fd, _ = _open_regular(path)
        try:
            doc = decode_toml(_read_fd(fd, path), path)
        finally:
            os.close(fd)
        is_pyproject = os.path.basename(path) == PYPROJECT
    else:
        found, notes = _discover(start or os.getcwd())
        if found is None:
            return Policy(path=None, notes=tuple(notes))
        path, is_pyproject, doc = found.path, found.is_pyproject, found.doc
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
    return replace(parse_policy(doc, path=path, prefix=prefix), notes=tuple(notes))


def parse_policy(doc: dict[str, Any], *, path: str, prefix: str = "") -> Policy:
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise PolicyError(f"{prefix}{unknown[0]}: unknown key", path=path,
                          hint=f"known keys: {', '.join(sorted(_KEYS))}")
    fail_on = doc.get("fail_on")
    if fail_on is not None and fail_on not in ("warning", "error"):
        raise PolicyError(f"{prefix}fail_on: {_shown(fail_on)} is not \"warning\" or \"error\"", path=path)
    params: dict[str, int] = {}
    for name in ("crashkernel", "load_window"):
        if name in doc:
            value = doc[name]
            if not isinstance(value, str | int) or isinstance(value, bool):
                raise PolicyError(f"{prefix}{name}: expected a size like \"16MiB\"", path=path)
            try:  # inf, nan, negative, 5,000 digits: refused (check_number)
                if isinstance(value, int):
                    check_number(value)
                    params[name] = value
                else:
                    params[name] = parse_size(value)
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
    # `platform = "NAME"` selects a preset; `[[preset]]` tables define the policy's own
    platform = doc.get("platform")
    if platform is not None and not isinstance(platform, str):
        raise PolicyError(f"{prefix}platform: expected a preset name (platform = \"NAME\")", path=path,
                          hint="define your own presets as [[preset]] tables")
    from cpualloc_cli.adapters.limits_loader import parse_platforms

    platforms = parse_platforms(doc.get("preset", []), path=path, origin=path)
    return Policy(path=path, limits=limits, waivers=waivers, budgets=tuple(budgets),
                  fail_on=fail_on, params=params, platform=platform, platforms=platforms)


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
                    raise PolicyError(f"{where}.expires: {_shown(expires)} is not a date (YYYY-MM-DD)",
                                      path=path) from None
            else:
                raise PolicyError(f"{where}.expires: expected a date (YYYY-MM-DD)", path=path)
        out.append(Waiver(rule=rule.strip(), reason=reason.strip(), expires=date, origin=path))
    return tuple(out)
