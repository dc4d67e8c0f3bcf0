"""Kconfig adapter: the only module that imports kconfiglib.

It parses a Kconfig tree (the bundled model in ``kconfig/`` or a real Linux tree given with
``--srctree``), loads a ``.config`` (file, fragment, ``/proc/config.gz`` or text extracted
from an image), applies ``--set`` assignments, and returns a model
:class:`~cpualloc_cli.model.config.ResolvedConfig`. No kconfiglib object leaves this module.

What it adds to the released kconfiglib 14.1.0 (a subclass, :class:`_Kconfig`):

* the bare ``modules`` keyword (Linux >= 5.13, ``kernel/module/Kconfig:4``), read as the
  old ``option modules``;
* the ``transitional`` keyword (Linux 6.18): the symbol's value is read from the .config
  (kconfiglib would ignore it, the symbol having no prompt) and it is left out of the written
  configuration. Checked on a synthetic tree only (no 6.18 tree here): listed in
  :data:`UNSUPPORTED` as partial;
* ``$(shell,...)`` control: without ``allow_shell`` no command runs. Each call expands to a
  placeholder symbol ``CPUALLOC_PROBE_<n>``; symbols whose defaults use a placeholder are
  *probe symbols*, whose value is replayed from the given ``.config`` when it records one,
  and otherwise "not available" (their other defaults apply). Every probe not run is
  reported;
* no module is imported on behalf of a tree: kconfiglib imports ``$KCONFIG_FUNCTIONS`` (default
  ``kconfigfunctions``) from ``sys.path``, which holds the working directory under
  ``python -m``; while parsing, ``KCONFIG_FUNCTIONS`` names this module (already imported, so
  ``import_module`` returns it from ``sys.modules`` without a path search) and its empty
  :data:`functions` table is ignored anyway;
* a tree stays a tree: every file read for it (the top ``Kconfig`` included, each ``source``
  glob match, the top ``Makefile``) must resolve inside ``--srctree`` (checked on the opened
  descriptor) and be a regular file (FIFOs, devices, sockets refused before opening); nothing
  outside it is read, so no error can quote it;
* the tree sees only the environment Kbuild defines (:func:`derive_environment`) plus the
  variables the user names (``ConfigRequest.env_names``, ``--env VAR``);
* ``$(info,...)`` and anything else kconfiglib prints go to the report as warnings, never to
  stdout;
* work budgets (:data:`BUDGETS`): ``.config`` size and lines, Kconfig file size, file count,
  line and continuation length, macro expansions and their output; past one, exit 3 naming
  the budget.

Exceptions from kconfiglib (``KconfigError``), I/O (``OSError``), decoding
(``UnicodeDecodeError``) and deep recursion (``RecursionError``) are translated into
:class:`~cpualloc_cli.errors.ConfigError` (exit 3) at one fence, :func:`_fence`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import glob as _glob
import gzip
import hashlib
import io
import json
import os
import pickle
import re
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import kconfiglib

from cpualloc_cli import __version__
from cpualloc_cli.adapters import securecache
from cpualloc_cli.errors import ConfigError, InternalError, UsageError
from cpualloc_cli.model.config import Origin, Probe, ResolvedConfig, SymbolValue
from cpualloc_cli.model.findings import Finding, Severity

T = TypeVar("T")

PROBE_PREFIX = "CPUALLOC_PROBE_"

#: Kconfig constructs the adapter does not fully support, said plainly in reports.
UNSUPPORTED: tuple[str, ...] = (
    "transitional (Linux 6.18): value read from the .config, symbol not written; checked on a "
    "synthetic Kconfig only (no 6.18 tree was available)",
    "$(shell,...) and the macros built on it (success, cc-option, ld-option, as-instr, ...) "
    "without --allow-shell: not run; replayed from the .config or 'not available'",
)

#: The symbols `cpualloc config` always shows (footprint-relevant).
RELEVANT_SYMBOLS: tuple[str, ...] = (
    "NR_CPUS", "SMP", "64BIT", "PAGE_SHIFT", "ARM64_PAGE_SHIFT", "CPU_AREA_VIRTUAL",
    "CPU_AREA_ORDER", "CPU_AREA_ALLOC_ORDER", "PERCPU_DESIGN", "PERCPU_DESIGN_CPU_ALLOC_STATIC",
    "PERCPU_DESIGN_CPU_ALLOC_VIRTUAL", "PERCPU_DESIGN_VMALLOC_RESERVE", "PERCPU_DESIGN_FIRST_CHUNK",
    "RANDOMIZE_BASE", "RELOCATABLE",
    "PHYSICAL_START", "NUMA", "NODES_SHIFT", "MAXSMP", "CPUMASK_OFFSTACK", "LOCKDEP", "MODULES",
    "RANDOM_KMALLOC_CACHES",
)

# cpualloc arch name -> (ARCH, SRCARCH, Debian cross prefix)
ARCH_ENV: dict[str, tuple[str, str, str]] = {
    "sparc64": ("sparc64", "sparc", "sparc64-linux-gnu-"),
    "sparc32": ("sparc32", "sparc", "sparc64-linux-gnu-"),
    "x86_64": ("x86_64", "x86", "x86_64-linux-gnu-"),
    "i386": ("i386", "x86", "i686-linux-gnu-"),
    "ia64": ("ia64", "ia64", "ia64-linux-gnu-"),
    "arm64": ("arm64", "arm64", "aarch64-linux-gnu-"),
    "arm": ("arm", "arm", "arm-linux-gnueabi-"),
    "powerpc": ("powerpc", "powerpc", "powerpc-linux-gnu-"),
    "powerpc64": ("powerpc", "powerpc", "powerpc64-linux-gnu-"),
    "mips": ("mips", "mips", "mips-linux-gnu-"),
    "riscv": ("riscv", "riscv", "riscv64-linux-gnu-"),
    "s390": ("s390", "s390", "s390x-linux-gnu-"),
    "loongarch": ("loongarch", "loongarch", "loongarch64-linux-gnu-"),
}

# bundled model: cpualloc arch -> ARCH_* choice symbol
BUNDLED_ARCH_SYMBOL: dict[str, str] = {
    "sparc64": "ARCH_SPARC64", "sparc32": "ARCH_SPARC32", "x86_64": "ARCH_X86_64", "i386": "ARCH_I386",
    "ia64": "ARCH_IA64", "arm64": "ARCH_ARM64", "powerpc": "ARCH_POWERPC", "powerpc64": "ARCH_POWERPC",
    "riscv": "ARCH_RISCV", "mips": "ARCH_MIPS", "s390": "ARCH_S390",
}

# A real kernel .config's arch, from the symbols it sets (first match wins).
_CONFIG_ARCH_HINTS: tuple[tuple[str, str], ...] = (
    ("SPARC64", "sparc64"), ("SPARC32", "sparc32"), ("X86_64", "x86_64"), ("X86_32", "i386"),
    ("IA64", "ia64"), ("ARM64", "arm64"), ("PPC64", "powerpc64"), ("PPC32", "powerpc"), ("RISCV", "riscv"),
    ("MIPS", "mips"), ("S390", "s390"), ("LOONGARCH", "loongarch"), ("ARM", "arm"),
)

CONFIG_READ_CAP_BYTES = 16 << 20  # a .config bigger than this is not a .config (Debian's: 0.3 MB)
CONFIG_MAX_LINES = 50_000  # Debian's amd64 6.1 .config has 10,644 lines
MAX_FINDINGS_PER_CODE = 100  # findings of one kind kept; the rest are counted in one more finding
KCONFIG_FILE_CAP_BYTES = 4 << 20  # one Kconfig file (Linux 6.12's biggest, arch/x86/Kconfig: 0.1 MB)
KCONFIG_TOTAL_CAP_BYTES = 64 << 20  # all Kconfig files of a tree together (6.12: 5.7 MB)
KCONFIG_MAX_FILES = 20_000  # 6.12 reads 1,606 Kconfig files
KCONFIG_MAX_LINE_CHARS = 64 << 10  # one logical line, continuations joined
KCONFIG_MAX_CONTINUATIONS = 1_000  # physical lines joined into one logical line
MACRO_MAX_EXPANSIONS = 50_000  # macro/variable/function calls in one parse (6.1: 483, 6.12: 612)
MACRO_MAX_OUTPUT_CHARS = 64 << 10  # the value of one call
MACRO_MAX_TOTAL_CHARS = 4 << 20  # the values of all calls together (6.12: 7,387 characters)
#: The work budgets, named in the exit-3 message when one is exceeded.
BUDGETS: dict[str, int] = {
    ".config bytes": CONFIG_READ_CAP_BYTES, ".config lines": CONFIG_MAX_LINES,
    "Kconfig file bytes": KCONFIG_FILE_CAP_BYTES, "Kconfig bytes in all": KCONFIG_TOTAL_CAP_BYTES,
    "Kconfig files": KCONFIG_MAX_FILES, "Kconfig line characters": KCONFIG_MAX_LINE_CHARS,
    "Kconfig continuation lines": KCONFIG_MAX_CONTINUATIONS, "macro expansions": MACRO_MAX_EXPANSIONS,
    "macro value characters": MACRO_MAX_OUTPUT_CHARS, "macro characters in all": MACRO_MAX_TOTAL_CHARS,
}
CACHE_MAGIC = b"cpualloc-kconfig-cache\n"
CACHE_MAX_ENTRIES = 8  # parsed trees kept (about 11 MB each for a full Linux tree)
CACHE_ENTRY_CAP_BYTES = 256 << 20  # a bigger entry is not ours
CACHE_FORMAT = 4  # bump when what _parse stores on the object changes
CACHE_STORE_NAME = "kconfig"  # <cache base>/cpualloc/kconfig (a securecache store)

#: What kconfiglib imports as "$KCONFIG_FUNCTIONS".functions while parsing: this module, with
#: an empty table (see the module docstring).
functions: dict[str, Any] = {}
_FUNCTIONS_MODULE = __name__
_SET_RE = re.compile(r"CONFIG_([A-Za-z0-9_]+)=(.*)")
_UNSET_RE = re.compile(r"# CONFIG_([A-Za-z0-9_]+) is not set")
_ERR_LOC_RE = re.compile(r"^(?P<path>[^\n:]+):(?P<line>\d+): (?P<msg>.*)$", re.S)
_BANNER_RE = re.compile(rb"Linux version (\d+\.\d+[0-9A-Za-z.+_-]*)")


# ------------------------------------------------------------------------------------------
# locating the bundled model


def bundled_kconfig_dir() -> Path:
    """The bundled model's directory: package `cpualloc_cli._kconfig` when installed, else
    `<repo>/kconfig` next to the package."""
    try:
        from importlib.resources import files

        base = files("cpualloc_cli._kconfig")
        candidate = Path(str(base))
        if (candidate / "Kconfig").is_file():
            return candidate
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    fallback = Path(__file__).resolve().parents[2] / "kconfig"
    if (fallback / "Kconfig").is_file():
        return fallback
    raise InternalError("the bundled Kconfig model is missing from the installation",
                        hint="reinstall cpualloc")


# ------------------------------------------------------------------------------------------
# reading inputs


def decode_config_bytes(data: bytes, display: str) -> str:
    """Validate and decode .config bytes (gzip allowed): NUL bytes or invalid UTF-8 are
    ConfigError with the line."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                data = gz.read(CONFIG_READ_CAP_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ConfigError(f"gzip data cannot be decompressed: {exc}", path=display) from None
        if len(data) > CONFIG_READ_CAP_BYTES:
            raise ConfigError(f"decompressed configuration exceeds {CONFIG_READ_CAP_BYTES >> 20} MiB",
                              path=display)
    if data[:6] == b"\xfd7zXZ\x00":
        raise ConfigError("xz-compressed: not a text .config", path=display, hint="decompress it first (xz -d)")
    _check_config_lines(data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0), display)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ConfigError("NUL byte: this is not a text .config", path=display,
                          line=data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"invalid UTF-8 ({exc.reason})", path=display,
                          line=data.count(b"\n", 0, exc.start) + 1) from None


def _check_config_lines(n: int, display: str) -> None:
    if n > CONFIG_MAX_LINES:
        raise ConfigError(f"{n} lines: more than the {CONFIG_MAX_LINES} lines a .config may have (work budget)",
                          path=display, hint="a real .config has about 11,000 lines")


def read_config_text(path: str) -> str:
    """Read a .config (or fragment, or /proc/config.gz): ConfigError when missing, a
    directory, too big, containing NUL bytes, or not UTF-8."""
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError("is a directory, not a .config", path=path)
        if stat.S_ISFIFO(st.st_mode):
            # a pipe (`--config <(zcat config.gz)`) is read as it is; a FIFO nobody writes to must
            # not hang: open without blocking, then a read with no writer returns EOF at once
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            os.set_blocking(fd, True)
            with os.fdopen(fd, "rb") as fh:
                data = fh.read(CONFIG_READ_CAP_BYTES + 1)
            if not data:
                raise ConfigError("a FIFO with nothing written to it, not a .config", path=path,
                                  hint="give a regular file, or a pipe that writes the configuration")
        elif not stat.S_ISREG(st.st_mode):
            raise ConfigError("not a regular file (a device or a socket), not a .config", path=path)
        else:
            with open(path, "rb") as fh:
                data = fh.read(CONFIG_READ_CAP_BYTES + 1)
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if len(data) > CONFIG_READ_CAP_BYTES:
        raise ConfigError(f"larger than {CONFIG_READ_CAP_BYTES >> 20} MiB: not a .config", path=path)
    return decode_config_bytes(data, path)


class _TreeRefusal(Exception):
    """A file read for a tree is outside it or not a regular file (`why` says which; never its
    content)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


_KIND_NAMES = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    for test, name in _KIND_NAMES:
        if test(mode):
            return f"is {name}, not a regular file; refused"
    return "is not a regular file; refused"


def _inside(root_real: str, real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def _fd_real_path(fd: int, fallback: str) -> str:
    """The path the kernel has for an open descriptor (Linux /proc), else realpath()."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(fallback)


def open_tree_file(path: str, root_real: str) -> int:
    """A descriptor for `path`, which must resolve inside `root_real` (a realpath) and be a
    regular file. Non-regular files are refused before opening (no FIFO open can block, no
    device is opened); both checks are made on the opened descriptor (its kind by fstat, where
    it resolves by /proc/self/fd), so a file swapped after the first look is caught. Raises
    _TreeRefusal or OSError."""
    why = _not_regular(os.stat(path).st_mode)
    if why:
        raise _TreeRefusal(why)
    # where it resolves is checked on the descriptor (nothing is read before that check)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    try:
        why = _not_regular(os.fstat(fd).st_mode)
        if why is None and not _inside(root_real, _fd_real_path(fd, path)):
            why = "resolves outside the --srctree tree; refused"
        if why:
            raise _TreeRefusal(why)
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_tree_file(path: str, root_real: str, cap: int) -> bytes:
    """At most `cap` bytes of a file of the tree (see open_tree_file)."""
    fd = open_tree_file(path, root_real)
    with os.fdopen(fd, "rb") as fh:
        return fh.read(cap)


def _tree_file_budget(data: bytes, relname: str) -> None:
    """Line length and continuation budgets of one Kconfig file (kconfiglib joins continued
    lines by repeated concatenation: quadratic in the run length)."""
    if len(data) > KCONFIG_FILE_CAP_BYTES:
        raise kconfiglib.KconfigError(
            f"{relname}:1: error: larger than {KCONFIG_FILE_CAP_BYTES >> 20} MiB, the size a Kconfig file may have "
            "(work budget); refused")
    if len(data) <= KCONFIG_MAX_LINE_CHARS and data.count(b"\\\n") <= KCONFIG_MAX_CONTINUATIONS:
        return  # cannot exceed either budget
    run = joined = 0
    for lineno, line in enumerate(data.split(b"\n"), 1):
        joined += len(line)
        if joined > KCONFIG_MAX_LINE_CHARS:
            raise kconfiglib.KconfigError(
                f"{relname}:{lineno}: error: a line (continuations joined) longer than {KCONFIG_MAX_LINE_CHARS} "
                "characters (work budget); refused")
        if line.endswith(b"\\") or line.endswith(b"\\\r"):
            run += 1
            if run > KCONFIG_MAX_CONTINUATIONS:
                raise kconfiglib.KconfigError(
                    f"{relname}:{lineno}: error: more than {KCONFIG_MAX_CONTINUATIONS} continued lines in a row "
                    "(work budget); refused")
        else:
            run = joined = 0


def read_srctree_version(srctree: str) -> str:
    """`VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]` from a tree's top Makefile."""
    path = os.path.join(srctree, "Makefile")
    try:
        head = read_tree_file(path, os.path.realpath(srctree), 4096).decode("utf-8", "replace")
    except _TreeRefusal as exc:
        raise ConfigError(f"the top Makefile {exc.why}", path=path,
                          hint="--srctree must be the top of a Linux source tree") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the top Makefile: {exc.strerror or exc}", path=path,
                          hint="--srctree must be the top of a Linux source tree") from None
    fields: dict[str, str] = {}
    for line in head.splitlines():
        m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)\s*$", line)
        if m:
            fields.setdefault(m.group(1), m.group(2))
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        raise ConfigError("no VERSION/PATCHLEVEL in the top Makefile", path=path,
                          hint="--srctree must be the top of a Linux source tree")
    version = f"{fields['VERSION']}.{fields['PATCHLEVEL']}"
    if fields.get("SUBLEVEL"):
        version += f".{fields['SUBLEVEL']}"
    return version + fields.get("EXTRAVERSION", "")


def read_image_banner_version(path: str, cap_bytes: int = 512 << 20) -> str | None:
    """The `Linux version X` banner of an uncompressed image, or None."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(cap_bytes)
    except OSError:
        return None
    m = _BANNER_RE.search(data)
    return m.group(1).decode("ascii", "replace") if m else None


def arch_from_config_text(text: str) -> str | None:
    """Guess cpualloc's arch from a real kernel .config's arch symbols."""
    enabled = {m.group(1) for m in re.finditer(r"^CONFIG_([A-Za-z0-9_]+)=y\s*$", text, re.M)}
    for sym, arch in _CONFIG_ARCH_HINTS:
        if sym in enabled:
            return arch
    return None


# ------------------------------------------------------------------------------------------
# the kconfiglib subclass


@dataclass
class _ProbeCall:
    placeholder: str
    command: str
    filename: str
    linenr: int
    output: str | None = None  # when run


class _Kconfig(kconfiglib.Kconfig):  # type: ignore[misc]
    """kconfiglib.Kconfig with `modules`/`transitional` and shell control.

    No __slots__ here, so our own attributes live in the instance __dict__."""

    def __init__(self, filename: str, *, allow_shell: bool, shell_cwd: str | None, root: str,
                 shell_env: Mapping[str, str] | None = None) -> None:
        self.cpa_allow_shell = allow_shell
        self.cpa_shell_cwd = shell_cwd
        self.cpa_shell_env = dict(shell_env) if shell_env is not None else None
        self.cpa_probes: dict[str, _ProbeCall] = {}
        self.cpa_transitional: set[str] = set()
        self.cpa_cur_node: Any = None
        self.cpa_root_real = os.path.realpath(root)
        self.cpa_files = 0
        self.cpa_bytes = 0
        self.cpa_expansions = 0
        self.cpa_expanded_chars = 0
        self.cpa_globs: list[tuple[str, tuple[str, ...]]] = []  # (pattern, sorted matches) per `source`
        try:
            super().__init__(filename, warn=True, warn_to_stderr=False, encoding="utf-8",
                             suppress_traceback=False)
        except RecursionError:
            # deeply nested input: name the file and line being parsed
            raise _LocatedRecursion(getattr(self, "filename", None), getattr(self, "linenr", None)) from None
        except AttributeError:
            # kconfiglib 14.1.0 trips over some malformed input instead of reporting it, e.g. `help`
            # directly under `menu` (MenuNode has no help) or a recursively defined variable
            # (`Z = $(Z)`): name the file and line being parsed, not the Python error.
            raise _LocatedUnsupported(getattr(self, "filename", None), getattr(self, "linenr", None)) from None

    def _enter_file(self, filename: str) -> Any:
        # `source` must stay inside the tree ($srctree): no ../ or absolute escapes
        root = os.path.realpath(self.srctree or os.curdir)
        real = os.path.realpath(filename)
        if os.path.commonpath([root, real]) != root:
            raise kconfiglib.KconfigError(
                f"{self.filename}:{self.linenr}: error: 'source' of '{filename}' leaves the Kconfig tree "
                f"({root}); refused")
        return super()._enter_file(filename)

    def _open(self, filename: str, mode: str) -> Any:
        """Every Kconfig file kconfiglib reads while parsing: inside the tree, regular, within
        the size budgets; read whole, so the budget checks see what will be parsed."""
        if not self._parsing_kconfigs or "r" not in mode:
            return super()._open(filename, mode)
        shown = os.path.relpath(filename, self.cpa_root_real) if os.path.isabs(filename) else filename
        # the top Kconfig is opened before any line is read: no location (the fence names it)
        where = f"{self.filename}:{self.linenr}: error:" if self._filestack or self.linenr else ""
        self.cpa_files += 1
        if self.cpa_files > KCONFIG_MAX_FILES:
            raise kconfiglib.KconfigError(f"{where} more than {KCONFIG_MAX_FILES} Kconfig files "
                                          "(work budget); refused")
        try:
            fd = open_tree_file(filename, self.cpa_root_real)
        except _TreeRefusal as exc:
            raise kconfiglib.KconfigError(f"{where} '{shown}' {exc.why}") from None
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(KCONFIG_FILE_CAP_BYTES + 1)
        self.cpa_bytes += len(data)
        if self.cpa_bytes > KCONFIG_TOTAL_CAP_BYTES:
            raise kconfiglib.KconfigError(f"{where} more than {KCONFIG_TOTAL_CAP_BYTES >> 20} MiB of Kconfig "
                                          "files (work budget); refused")
        _tree_file_budget(data, shown)
        return io.TextIOWrapper(io.BytesIO(data), encoding=self._encoding, newline=None)

    def _fn_val(self, args: list[str]) -> str:
        self.cpa_expansions += 1
        if self.cpa_expansions > MACRO_MAX_EXPANSIONS:
            raise kconfiglib.KconfigError(f"{self.filename}:{self.linenr}: error: more than {MACRO_MAX_EXPANSIONS} "
                                          "macro expansions (work budget); refused")
        # the arguments are expanded before the call: a macro that doubles its argument on each
        # recursive call grows them past any output budget before its first result returns
        arg_chars = sum(len(a) for a in args)
        if arg_chars > MACRO_MAX_OUTPUT_CHARS:
            raise kconfiglib.KconfigError(f"{self.filename}:{self.linenr}: error: macro arguments longer than "
                                          f"{MACRO_MAX_OUTPUT_CHARS} characters (work budget); refused")
        self.cpa_expanded_chars += arg_chars
        if self.cpa_expanded_chars > MACRO_MAX_TOTAL_CHARS:
            raise kconfiglib.KconfigError(f"{self.filename}:{self.linenr}: error: more than {MACRO_MAX_TOTAL_CHARS} "
                                          "characters of macro values (work budget); refused")
        res: str = super()._fn_val(args)
        self.cpa_expanded_chars += len(res)
        if len(res) > MACRO_MAX_OUTPUT_CHARS:
            raise kconfiglib.KconfigError(f"{self.filename}:{self.linenr}: error: a macro value longer than "
                                          f"{MACRO_MAX_OUTPUT_CHARS} characters (work budget); refused")
        if self.cpa_expanded_chars > MACRO_MAX_TOTAL_CHARS:
            raise kconfiglib.KconfigError(f"{self.filename}:{self.linenr}: error: more than {MACRO_MAX_TOTAL_CHARS} "
                                          "characters of macro values (work budget); refused")
        return res

    def _cpa_info(self, _name: str, msg: str) -> str:
        # kconfiglib prints $(info,...) on stdout: a warning in the report instead
        self._warn(f"$(info): {msg}", self.filename, self.linenr)
        return ""

    # kconfiglib keeps its preprocessor functions in a slot; a property here takes
    # precedence, so the table kconfiglib builds gets our "shell" and nothing imported.
    @property
    def _functions(self) -> dict[str, Any]:
        fns: dict[str, Any] = self.__dict__["cpa_functions"]
        return fns

    @_functions.setter
    def _functions(self, value: dict[str, Any]) -> None:
        table = _FunctionTable(value)
        table["shell"] = (_Kconfig._cpa_shell, 1, 1)
        table["info"] = (_Kconfig._cpa_info, 1, 1)
        self.__dict__["cpa_functions"] = table

    def _cpa_shell(self, _name: str, command: str) -> str:
        if self.cpa_allow_shell:
            return self._cpa_run(command)
        for call in self.cpa_probes.values():
            if call.command == command:
                return call.placeholder
        placeholder = f"{PROBE_PREFIX}{len(self.cpa_probes) + 1}"
        self.cpa_probes[placeholder] = _ProbeCall(placeholder, command, str(self.filename), int(self.linenr))
        return placeholder

    def _cpa_run(self, command: str) -> str:
        proc = subprocess.run(command, shell=True, capture_output=True, cwd=self.cpa_shell_cwd,
                              env=self.cpa_shell_env, timeout=120, check=False)
        try:
            out = proc.stdout.decode("utf-8")
            err = proc.stderr.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("$(shell,...) output is not UTF-8", path=str(self.filename),
                              line=int(self.linenr)) from None
        if err:
            self._warn(f"'{command}' wrote to stderr: {' '.join(err.splitlines())}", self.filename,
                       self.linenr)
        key = f"shell-{len(self.cpa_probes) + 1}"
        result = "\n".join(out.splitlines()).rstrip("\n").replace("\n", " ")
        self.cpa_probes[key] = _ProbeCall(key, command, str(self.filename), int(self.linenr), result)
        return result

    def _parse_props(self, node: Any) -> Any:
        self.cpa_cur_node = node
        return super()._parse_props(node)

    def _tokenize(self, s: str) -> Any:
        stripped = s.strip()
        if stripped == "transitional":
            node = self.cpa_cur_node
            if node is not None and isinstance(node.item, kconfiglib.Symbol):
                self.cpa_transitional.add(node.item.name)
            return (None,)
        tokens = super()._tokenize(s)
        if stripped == "modules" and len(tokens) == 2 and tokens[0] is kconfiglib._T_MODULES:
            # Linux >= 5.13: bare `modules` == the old `option modules`
            return [kconfiglib._T_OPTION, kconfiglib._T_MODULES, None]
        return tokens


class _LocatedUnsupported(Exception):
    """kconfiglib failed on input it does not handle, at this Kconfig file and line."""

    def __init__(self, filename: str | None, linenr: int | None) -> None:
        super().__init__("malformed Kconfig that kconfiglib cannot handle")
        self.filename = filename
        self.linenr = linenr


class _LocatedRecursion(Exception):
    """RecursionError while parsing, with the Kconfig file and line being parsed."""

    def __init__(self, filename: str | None, linenr: int | None) -> None:
        super().__init__("expressions or sources nested too deeply")
        self.filename = filename
        self.linenr = linenr


class _FunctionTable(dict[str, Any]):
    """kconfiglib calls .update() with the table of $KCONFIG_FUNCTIONS (set to this module
    while parsing, so nothing is imported): ignore it whatever it holds."""

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None


# ------------------------------------------------------------------------------------------
# the fence


def _location_from_message(msg: str) -> tuple[str | None, int | None, str]:
    text = msg.strip()
    m = _ERR_LOC_RE.match(text)
    if m:
        rest = m.group("msg")
        rest = rest.removeprefix("error: ")
        return m.group("path"), int(m.group("line")), " ".join(rest.split())
    flat = " ".join(text.split())
    # kconfiglib messages without a leading location still name one inside:
    # "Dependency loop ... NUMA (defined at Kconfig.kernel:71) ...", "expected 'endmenu' at end of 'Kconfig'"
    m2 = re.search(r"\(defined at ([^\s:()]+):(\d+)\)", flat)
    if m2:
        return m2.group(1), int(m2.group(2)), flat.removeprefix("error: ")
    m3 = re.search(r"at end of '([^']+)'", flat)
    if m3:
        return m3.group(1), None, flat.removeprefix("error: ")
    return None, None, flat


# A .config is untrusted data: a value echoed back (a 1 MiB line, say) is cut, so that every
# output format stays small and fast (found by fuzz/run.py: 4.6 s to render one such line).
MAX_ECHO_CHARS = 200
MAX_MESSAGE_CHARS = 600


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def _top_kconfig(root: str | None) -> str | None:
    """The top Kconfig file, to name when kconfiglib's message names none."""
    return os.path.join(root, "Kconfig") if root else None


def _decoding_location(msg: str, root: str | None) -> tuple[str | None, int | None]:
    m = re.search(r"Malformed \S+ in '([^']+)'", msg)
    if not m:
        return None, None
    path = _under(m.group(1), root)
    try:
        # read as the parse read it: inside the tree, a regular file, within the size budget
        data = read_tree_file(path, os.path.realpath(root or os.path.dirname(path)), KCONFIG_FILE_CAP_BYTES + 1)
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return path, data.count(b"\n", 0, exc.start) + 1
    except (OSError, _TreeRefusal):
        return path, None
    return path, None


def _under(path: str, root: str | None) -> str:
    return os.path.join(root, path) if root and not os.path.isabs(path) else path


def _fence(what: str, fn: Callable[[], T], root: str | None = None) -> T:
    """Run `fn`, translating the exceptions kconfiglib is known to raise into ConfigError.
    Relative Kconfig paths in messages are made relative to `root` (the srctree)."""
    try:
        return fn()
    except kconfiglib.KconfigError as exc:
        msg = str(exc)
        if "Malformed" in msg and "Reason:" in msg:
            path, line = _decoding_location(msg, root)
            raise ConfigError("invalid UTF-8 in a Kconfig file", path=path, line=line) from None
        path, line, text = _location_from_message(msg)
        if path is not None:
            path = _under(path, root)
        else:
            path = _top_kconfig(root)
        if "recursive 'source'" in text or "recursive" in text and "source" in text:
            text = text.split("\n")[0]
        raise ConfigError(f"{what}: {text}", path=path, line=line) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}: invalid UTF-8 ({exc.reason})") from None
    except _LocatedUnsupported as exc:
        path = _under(str(exc.filename), root) if exc.filename else _top_kconfig(root)
        raise ConfigError(f"{what}: malformed construct near this line that kconfiglib cannot handle "
                          "(e.g. `help` directly under `menu`, or a variable defined in terms of itself)",
                          path=path, line=exc.linenr) from None
    except _LocatedRecursion as exc:
        path = _under(str(exc.filename), root) if exc.filename else _top_kconfig(root)
        raise ConfigError(f"{what}: expressions or sources nested too deeply", path=path, line=exc.linenr,
                          hint="kconfiglib recursion limit reached; the input is not a sane Kconfig") from None
    except RecursionError:
        raise ConfigError(f"{what}: expressions or sources nested too deeply", path=_top_kconfig(root),
                          hint="kconfiglib recursion limit reached; the input is not a sane Kconfig") from None
    except OSError as exc:
        path = getattr(exc, "filename", None)
        raise ConfigError(f"{what}: {exc.strerror or exc}", path=str(path) if path else None) from None


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """kconfiglib reads os.environ while parsing and evaluating ($(VAR), `option env`,
    srctree, KCONFIG_*, CONFIG_): the tree sees exactly `env` (what Kbuild defines plus the
    variables the user named), never the rest of the user's environment (a $(TOKEN) in a
    hostile tree would print a secret). KCONFIG_FUNCTIONS names this module so that
    kconfiglib's import of it finds it in sys.modules and searches no path."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        os.environ["KCONFIG_FUNCTIONS"] = _FUNCTIONS_MODULE
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _tree_environment(derived: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """What a tree may read: Kbuild's variables (`derived`) plus the user's named ones."""
    env = dict(derived)
    for name in names:
        if name in os.environ and name != "KCONFIG_FUNCTIONS":
            env[name] = os.environ[name]
    return env


def derive_environment(*, srctree: str, arch: str, kernelversion: str, cross_compile: str | None,
                       cc_version_text: str | None, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment `make` exports to conf (top Makefile): ARCH/SRCARCH, the toolchain
    from CROSS_COMPILE, CC_VERSION_TEXT and the rest."""
    if arch not in ARCH_ENV:
        raise UsageError(f"unknown arch '{arch}'", hint="choose one of " + ", ".join(sorted(ARCH_ENV)))
    kernel_arch, srcarch, default_cross = ARCH_ENV[arch]
    if cross_compile is None:
        host = os.uname().machine
        native = {"x86_64": "x86_64", "aarch64": "arm64"}.get(host)
        cross_compile = "" if native == arch else default_cross
    cc = f"{cross_compile}gcc"
    env = {
        "srctree": srctree,
        "ARCH": kernel_arch,
        "SRCARCH": srcarch,
        "SUBARCH": {"x86_64": "x86", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
        "KERNELVERSION": kernelversion,
        "CROSS_COMPILE": cross_compile,
        "CC": cc,
        "LD": f"{cross_compile}ld",
        "AR": f"{cross_compile}ar",
        "NM": f"{cross_compile}nm",
        "OBJCOPY": f"{cross_compile}objcopy",
        "OBJDUMP": f"{cross_compile}objdump",
        "CLANG_FLAGS": "",
        "HOSTCC": "gcc",
        "HOSTCXX": "g++",
        "RUSTC": "rustc",
        "BINDGEN": "bindgen",
        "PAHOLE": "pahole",
        "CC_VERSION_TEXT": cc_version_text or "",
    }
    if overrides:
        env.update(overrides)
    return env


def run_cc_version_text(cc: str) -> str:
    """`LC_ALL=C $(CC) --version | head -n 1` with '#' removed, as the top Makefile does
    (runs the compiler: only with --allow-shell)."""
    try:
        proc = subprocess.run([*cc.split(), "--version"], capture_output=True, timeout=60,
                              env={**os.environ, "LC_ALL": "C"}, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    first = proc.stdout.decode("utf-8", "replace").splitlines()
    return first[0].replace("#", "") if first else ""


# ------------------------------------------------------------------------------------------
# caching the parsed tree


def _cache_base() -> Path:
    """Where the parse cache lives (`<XDG_CACHE_HOME or ~/.cache>/cpualloc`): read before the
    tree's environment replaces os.environ."""
    return securecache.default_base()


def _hash_files(names: Sequence[str], root: str) -> str | None:
    """sha256 over every Kconfig file the parse read (each read as the parse reads it:
    inside the tree and regular, else None)."""
    h = hashlib.sha256()
    root_real = os.path.realpath(root)
    for name in names:
        full = name if os.path.isabs(name) else os.path.join(root, name)
        try:
            data = read_tree_file(full, root_real, KCONFIG_FILE_CAP_BYTES + 1)
        except (OSError, _TreeRefusal):
            return None
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def _globs_match(globs: Sequence[Sequence[Any]]) -> bool:
    """Every `source` pattern of the parse still expands to the files it expanded to (a file
    added that matches `source "sub/*"`, or an `osource` target that appeared, invalidates)."""
    for pattern, matches in globs:
        if not isinstance(pattern, str):
            return False
        if not _glob.has_magic(pattern):
            # what glob() does for a literal (most `source` lines), without its overhead
            if list(matches) != ([pattern] if os.path.lexists(pattern) else []):
                return False
        elif sorted(_glob.iglob(pattern)) != list(matches):
            return False
    return True


@contextlib.contextmanager
def _recording_globs(record: list[tuple[str, tuple[str, ...]]]) -> Iterator[None]:
    """kconfiglib expands each `source` with its module-level `iglob`: record the patterns
    and their matches (for the cache's validity check) while parsing."""
    original = kconfiglib.iglob

    def recorder(pattern: str, *args: Any, **kwargs: Any) -> Iterator[str]:
        matches = tuple(sorted(original(pattern, *args, **kwargs)))
        record.append((pattern, matches))
        return iter(matches)

    kconfiglib.iglob = recorder
    try:
        yield
    finally:
        kconfiglib.iglob = original


def _cache_key(top: str, root: str, env: Mapping[str, str], allow_shell: bool) -> str:
    h = hashlib.sha256()
    h.update(CACHE_MAGIC + str(CACHE_FORMAT).encode() + __version__.encode() + kconfiglib.VERSION.__repr__().encode())
    h.update(f"{root}\0{top}\0{allow_shell}\0".encode())
    for key in sorted(env):
        h.update(f"{key}={env[key]}\0".encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def _with_big_stack(fn: Callable[[], T]) -> T:
    """Pickling kconfiglib's linked menu tree recurses deeply: run in a thread with a big stack."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 200_000))
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a big acyclic-looking graph: the collector only slows (un)pickling down
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(exc)
        finally:
            sys.setrecursionlimit(old)
            if gc_was_enabled:
                gc.enable()

    old_size = threading.stack_size()
    threading.stack_size(512 << 20)
    try:
        t = threading.Thread(target=target, name="cpualloc-kconfig-pickle")
        t.start()
        t.join()
    finally:
        threading.stack_size(old_size)
    if error:
        raise error[0]
    return result[0]


def _cache_load(key: str, root: str, base: Path) -> _Kconfig | None:
    """The cached parse of this tree, or None. The entry is a pickle, so it is only unpickled
    once the secure store has authenticated it (HMAC with the store's private key: only this
    user's cpualloc can have written it) and the tree's files and globs still hash the same."""
    store = securecache.open_store(CACHE_STORE_NAME, base)
    if store is None:
        return None
    with store:
        body = store.get(f"{key}.pickle", CACHE_ENTRY_CAP_BYTES)
    if body is None:
        return None
    # layout: key line, files-hash line, metadata length line, metadata (JSON), payload
    parts = body.split(b"\n", 3)
    if len(parts) != 4 or parts[0].decode(errors="replace") != key:
        return None
    files_hash, meta_len, rest = parts[1].decode(errors="replace"), parts[2], parts[3]
    try:
        n = int(meta_len)
        meta = json.loads(rest[:n])
        names, globs = meta["names"], meta["globs"]
    except (ValueError, KeyError, TypeError):
        return None
    payload = rest[n:]
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names) or not isinstance(globs, list):
        return None
    if _hash_files(names, root) != files_hash or not _globs_match(globs):
        return None
    try:
        obj = _with_big_stack(lambda: pickle.loads(payload))
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError,
            RecursionError, MemoryError, RuntimeError):  # RuntimeError: the helper thread could not start
        return None
    return obj if isinstance(obj, _Kconfig) and hasattr(obj, "cpa_probe_syms") else None


def _cache_store(key: str, root: str, kconf: _Kconfig, base: Path) -> None:
    names = sorted(set(kconf.kconfig_filenames))
    files_hash = _hash_files(names, root)
    if files_hash is None:
        return
    try:
        payload = _with_big_stack(lambda: pickle.dumps(kconf, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, MemoryError, RuntimeError):
        return
    meta = json.dumps({"names": names, "globs": [[p, list(m)] for p, m in kconf.cpa_globs]}).encode()
    body = b"".join([key.encode(), b"\n", files_hash.encode(), b"\n", str(len(meta)).encode(), b"\n", meta,
                     payload])
    store = securecache.open_store(CACHE_STORE_NAME, base)
    if store is None:
        return
    with store:
        if store.put(f"{key}.pickle", body):
            store.prune(".pickle", CACHE_MAX_ENTRIES)


# ------------------------------------------------------------------------------------------
# the request and its result


@dataclass(frozen=True)
class ConfigRequest:
    """Everything `load_resolved_config` needs (built by cli/configopts.py)."""

    arch: str | None = None
    config_text: str | None = None  # the .config text (already read and validated)
    config_display: str | None = None  # its name in findings ("FILE", "/proc/config.gz", "IMAGE:ikconfig")
    sets: tuple[tuple[str, str], ...] = ()
    srctree: str | None = None
    allow_shell: bool = False
    kernel_version: str | None = None  # --kernel-version
    image_kernel_version: str | None = None  # from an image banner (--config-from)
    cross_compile: str | None = None
    env_overrides: tuple[tuple[str, str], ...] = ()
    show: tuple[str, ...] = ()
    use_cache: bool = True
    # --env VAR: environment variables the tree may read besides Kbuild's own (values taken
    # from os.environ when the tree is loaded)
    env_names: tuple[str, ...] = ()


@dataclass
class LoadedConfig:
    resolved: ResolvedConfig
    config_text: str  # the full resolved configuration, as `make olddefconfig` writes it
    parse_from_cache: bool = False
    env: dict[str, str] = field(default_factory=dict)
    resolved_from_cache: bool = False  # the whole result came from adapters/resolvedcache.py


def load_resolved_config(req: ConfigRequest) -> LoadedConfig:
    """Parse the tree (or the bundled model), load the config, apply --set, resolve.

    Without a tree, a configuration for a kernel outside the bundled model's era (the version
    from --kernel-version, the `.config` header, or the image banner, in that order) is taken as
    written (adapters/config_as_written.py), never re-resolved by the old model."""
    try:
        if req.srctree is not None:
            return _load_srctree(req)
        as_written = _load_as_written(req)
        if as_written is not None:
            return as_written
        return _load_bundled(req)
    finally:
        _join_background()


def _load_as_written(req: ConfigRequest) -> LoadedConfig | None:
    from cpualloc_cli.adapters import config_as_written as aw

    arch = req.arch
    if arch is None and req.config_text is not None:
        arch = arch_from_config_text(req.config_text)
    if arch is None:
        return None
    evidence = ((req.kernel_version, "--kernel-version"), (aw.header_version(req.config_text), ".config header"),
                (req.image_kernel_version, "image banner"))
    version, source = next(((v, s) for v, s in evidence if v), (None, ""))
    if version is None:
        return None
    if not aw.outside_bundled_era(arch, version):
        return None
    resolved, text = aw.resolve_as_written(text=req.config_text, display=req.config_display, sets=req.sets,
                                           arch=arch, version=version, version_source=source,
                                           relevant=RELEVANT_SYMBOLS, show=req.show)
    return LoadedConfig(resolved=resolved, config_text=text)


def _load_bundled(req: ConfigRequest) -> LoadedConfig:
    root = str(bundled_kconfig_dir())
    arch = req.arch
    if arch is None and req.config_text is not None:
        arch = arch_from_config_text(req.config_text)
    if arch is not None and arch not in BUNDLED_ARCH_SYMBOL:
        raise UsageError(f"the bundled model has no arch '{arch}'",
                         hint="choose one of " + ", ".join(sorted(BUNDLED_ARCH_SYMBOL)))
    env = {"srctree": root}

    def compute() -> tuple[LoadedConfig, _Kconfig]:
        kconf, cached = _parse(root, "Kconfig", env, allow_shell=False, use_cache=req.use_cache)
        return _resolve(kconf, req, arch=arch, source="bundled", env=env, cached=cached, bundled=True), kconf

    return _cached_resolve(req, root, env, compute)


def _load_srctree(req: ConfigRequest) -> LoadedConfig:
    assert req.srctree is not None
    srctree = os.path.abspath(req.srctree)
    if not os.path.isfile(os.path.join(srctree, "Kconfig")):
        raise ConfigError("no top-level Kconfig here", path=srctree,
                          hint="--srctree must be the top of a Linux source tree")
    version = read_srctree_version(srctree)
    arch = req.arch
    if arch is None and req.config_text is not None:
        arch = arch_from_config_text(req.config_text)
    if arch is None:
        raise UsageError("--srctree needs --arch (or a --config that names its arch)")
    cc_text: str | None = None
    overrides = dict(req.env_overrides)
    cross = req.cross_compile
    probe_env = derive_environment(srctree=srctree, arch=arch, kernelversion=version, cross_compile=cross,
                                   cc_version_text=None, overrides=overrides)
    if "CC_VERSION_TEXT" in overrides:
        cc_text = overrides["CC_VERSION_TEXT"]
    elif req.allow_shell:
        cc_text = run_cc_version_text(probe_env["CC"])
    elif req.config_text is not None:
        m = re.search(r'^CONFIG_CC_VERSION_TEXT="(.*)"\s*$', req.config_text, re.M)
        cc_text = kconfiglib.unescape(m.group(1)) if m else None
    env = _tree_environment(derive_environment(srctree=srctree, arch=arch, kernelversion=version,
                                               cross_compile=cross, cc_version_text=cc_text, overrides=overrides),
                            req.env_names)

    def compute() -> tuple[LoadedConfig, _Kconfig]:
        with tempfile.TemporaryDirectory(prefix="cpualloc-kconfig-") as scratch:
            kconf, cached = _parse(srctree, "Kconfig", env, allow_shell=req.allow_shell,
                                   use_cache=req.use_cache, shell_cwd=scratch)
        return _resolve(kconf, req, arch=arch, source=srctree, env=env, cached=cached, bundled=False,
                        tree_version=version), kconf

    return _cached_resolve(req, srctree, env, compute)


def _cached_resolve(req: ConfigRequest, root: str, env: dict[str, str],
                    compute: Callable[[], tuple[LoadedConfig, _Kconfig]]) -> LoadedConfig:
    """The resolved result from the data-only cache (adapters/resolvedcache.py) when the
    request, environment and every Kconfig file's content are unchanged; else `compute()`,
    stored for next time. Not with --allow-shell (probe output depends on the host's tools)."""
    from cpualloc_cli.adapters import resolvedcache

    if not req.use_cache or req.allow_shell:
        return compute()[0]
    key = resolvedcache.key_for(dataclasses.asdict(req), env,
                                f"{kconfiglib.VERSION!r}\0{sys.version}\0{root}\0{CACHE_FORMAT}")
    base = _cache_base()

    def still_valid(names: list[str], files_hash: str, globs: list[Any]) -> bool:
        return _hash_files(names, root) == files_hash and _globs_match(globs)

    hit = resolvedcache.load(key, base, still_valid)
    if hit is not None:
        resolved, text, hit_env = hit
        return LoadedConfig(resolved=resolved, config_text=text, parse_from_cache=True, env=hit_env,
                            resolved_from_cache=True)
    loaded, kconf = compute()
    names = sorted(set(kconf.kconfig_filenames))
    files_hash = _hash_files(names, root)
    if files_hash is not None:
        resolvedcache.store(key, base, names=names, files_hash=files_hash, globs=kconf.cpa_globs,
                            resolved=loaded.resolved, config_text=loaded.config_text, env=loaded.env)
    return loaded


def _parse(root: str, top: str, env: Mapping[str, str], *, allow_shell: bool, use_cache: bool,
           shell_cwd: str | None = None) -> tuple[_Kconfig, bool]:
    # With --allow-shell the result also depends on the tools the probes find (pahole, rustc,
    # binutils features), which no key can see: parse afresh, never cache.
    use_cache = use_cache and not allow_shell
    key = _cache_key(top, root, env, allow_shell)
    base = _cache_base()
    if use_cache:
        hit = _cache_load(key, root, base)
        if hit is not None:
            return hit, True
    # $(shell,...) under --allow-shell runs as make would run it: the user's environment
    # with Kbuild's variables exported
    shell_env = {**os.environ, **env} if allow_shell else None
    globs: list[tuple[str, tuple[str, ...]]] = []

    def parse() -> _Kconfig:
        printed = io.StringIO()
        with _environment(env), contextlib.redirect_stdout(printed), _recording_globs(globs):
            kconf = _Kconfig(top, allow_shell=allow_shell, shell_cwd=shell_cwd, root=root, shell_env=shell_env)
        kconf.warnings.extend(_printed_warnings(printed.getvalue()))
        return kconf

    kconf = _fence("cannot parse Kconfig", parse, root)
    kconf.cpa_globs = globs
    # parse-time state that pins the last file open and cannot be pickled
    kconf._readline = None
    kconf.cpa_cur_node = None
    kconf.cpa_shell_env = None
    kconf.cpa_probe_syms = _probe_syms(kconf)
    if use_cache:
        _in_background(lambda: _cache_store(key, root, kconf, base))
    return kconf, False


# Storing the parse cache (pickling kconfiglib's tree: about a third of a cold run on Linux 6.1)
# needs nothing the resolution needs, so a forked child does it while this process resolves the
# configuration, on another core; load_resolved_config() waits for it before returning, so no
# process outlives the command and the entry is there when the command ends. Where fork is not
# available (or fails) the store runs inline, as before.
_BACKGROUND: list[int] = []


def _in_background(fn: Callable[[], None]) -> None:
    pid = -1
    if hasattr(os, "fork"):
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
    if pid < 0:
        fn()
        return
    if pid == 0:  # the child: store, then leave at once (no atexit handlers, no buffered output)
        code = 0
        try:
            fn()
        except BaseException:  # noqa: BLE001 - a failed store only means no cache entry
            code = 1
        finally:
            os._exit(code)
    _BACKGROUND.append(pid)


def _join_background() -> None:
    while _BACKGROUND:
        pid = _BACKGROUND.pop()
        with contextlib.suppress(ChildProcessError, InterruptedError):
            os.waitpid(pid, 0)


def _printed_warnings(text: str) -> list[str]:
    """Whatever kconfiglib printed on stdout (it should print nothing now), as warnings."""
    return [f"warning: kconfiglib printed: {line}" for line in text.splitlines()[:100] if line.strip()]


# ------------------------------------------------------------------------------------------
# resolving


@dataclass
class _Assignment:
    name: str
    value: str  # as given ("n" for "# ... is not set"; strings unescaped)
    raw: str
    path: str | None
    line: int | None
    via_set: bool


def _parse_config_lines(text: str, display: str) -> tuple[list[_Assignment], list[Finding]]:
    assignments: list[_Assignment] = []
    findings: list[Finding] = []
    for lineno, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.rstrip()
        m = _SET_RE.fullmatch(line)
        if m:
            assignments.append(_Assignment(m.group(1), m.group(2), m.group(2), display, lineno, False))
            continue
        m = _UNSET_RE.fullmatch(line)
        if m:
            assignments.append(_Assignment(m.group(1), "n", line, display, lineno, False))
            continue
        if line and not line.lstrip().startswith("#"):
            findings.append(Finding("config.malformed-line", Severity.WARNING,
                                    f"malformed line ignored: {line[:120]!r}", path=display, line=lineno))
    return assignments, findings


def _active_range(sym: Any) -> tuple[int, int] | None:
    if sym.orig_type not in (kconfiglib.INT, kconfiglib.HEX):
        return None
    base = 16 if sym.orig_type == kconfiglib.HEX else 10
    for low, high, cond in sym.ranges:
        if kconfiglib.expr_value(cond):
            try:
                return int(low.str_value, base), int(high.str_value, base)
            except ValueError:
                return None
    return None


def _term_values(sc: Any) -> str:
    if isinstance(sc, kconfiglib.Symbol):
        if sc.is_constant:
            return str(kconfiglib.standard_sc_expr_str(sc))
        return f"{sc.name} [={sc.str_value or 'n'}]"
    return str(kconfiglib.standard_sc_expr_str(sc))


def _unmet_dependency(sym: Any) -> str | None:
    """For a symbol that is not visible: the dependency (prompt condition) with term values."""
    exprs = []
    for node in sym.nodes:
        if node.prompt is not None:
            exprs.append(node.prompt[1])
    if not exprs:
        return None  # no prompt: the value comes only from defaults and selects
    failing = [e for e in exprs if kconfiglib.expr_value(e) == 0]
    # A symbol defined once per arch/variant (NR_CPUS in `if ARCH_X` blocks): the
    # definitions guarded by an unselected choice member are not the relevant ones.
    relevant = [e for e in failing if not any(
        isinstance(t, kconfiglib.Symbol) and t.choice is not None and t.tri_value == 0 for t in _and_terms(e))]
    parts = [kconfiglib.expr_str(e, _term_values) for e in (relevant or failing)]
    return " || ".join(f"({p})" if len(parts) > 1 else p for p in parts) or None


def _and_terms(expr: Any) -> list[Any]:
    if isinstance(expr, tuple) and expr and expr[0] == kconfiglib.AND:
        return _and_terms(expr[1]) + _and_terms(expr[2])
    return [expr]


def _defined_at(sym: Any, root: str) -> tuple[str, int] | None:
    if not sym.nodes:
        return None
    chosen = sym.nodes[0]
    for node in sym.nodes:
        if kconfiglib.expr_value(node.dep):
            chosen = node
            break
    name = str(chosen.filename)
    if os.path.isabs(name):
        with contextlib.suppress(ValueError):
            name = os.path.relpath(name, root)
    return name, int(chosen.linenr)


def _conf_value(sym: Any) -> str | None:
    """A symbol's value as .config writes it (strings unquoted); None when not written."""
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return str(sym.str_value)
    cs = sym.config_string
    if not cs or cs.startswith("#"):
        return None
    return str(sym.str_value)


def _probe_syms(kconf: _Kconfig) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """{symbol: [placeholders]} for value probes (placeholder in a default) and for
    dependency probes (placeholder only in a dependency/condition)."""
    value: dict[str, list[str]] = {}
    dep: dict[str, list[str]] = {}
    if not kconf.cpa_probes:
        return value, dep

    def names(expr: Any) -> list[str]:
        out = []
        for item in kconfiglib.expr_items(expr):
            if PROBE_PREFIX in str(item.name):
                out.extend(re.findall(PROBE_PREFIX + r"\d+", str(item.name)))
        return out

    for sym in kconf.unique_defined_syms:
        dep_names = names(sym.direct_dep)
        for default, cond in sym.defaults:
            # kconfiglib folds `depends on` into each default's condition: those are
            # dependency probes, not value probes
            found = names(default) + [n for n in names(cond) if n not in dep_names]
            if found:
                value.setdefault(sym.name, []).extend(found)
        for _target, cond in sym.selects:
            dep_names += [n for n in names(cond) if n not in dep_names]
        if dep_names:
            dep.setdefault(sym.name, []).extend(dep_names)
    return value, dep


def _replay_probes(kconf: _Kconfig, recorded: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Give each value-probe symbol the value the .config recorded; drop the probe defaults
    of the others ("not available"). Returns ({sym: replayed value}, [unavailable syms])."""
    value_probes, _ = kconf.cpa_probe_syms
    replayed: dict[str, str] = {}
    unavailable: list[str] = []
    for name in value_probes:
        sym = kconf.syms[name]
        if name in recorded:
            val = recorded[name]
            if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
                const = {"y": kconf.y, "m": kconf.m}.get(val, kconf.n)
            else:
                const = kconf._lookup_const_sym(val)
            sym.defaults = [(const, kconf.y)]
            replayed[name] = val
        else:
            sym.defaults = [(d, c) for d, c in sym.defaults
                            if not any(PROBE_PREFIX in str(i.name) for i in kconfiglib.expr_items(d))
                            and not any(PROBE_PREFIX in str(i.name) for i in kconfiglib.expr_items(c))]
            unavailable.append(name)
    # A probe used only in a dependency ("depends on $(success,...)"): when the .config
    # records a symbol that needs it (so the symbol was visible or set when conf wrote the
    # file), the probe succeeded. Only inferred when the probe is a positive AND term.
    _, dep_probes = kconf.cpa_probe_syms
    inferred: set[str] = set()
    for name, phs in dep_probes.items():
        if name not in recorded:
            continue
        sym = kconf.syms[name]
        for ph in phs:
            if _positive_and_term(sym.direct_dep, ph):
                inferred.add(ph)
        # `select T if A && $(cc-option,...)` (arch/powerpc/Kconfig: HAVE_STACKPROTECTOR): when the
        # .config records T set and T has no prompt (only a select or default can set it), a
        # probe that is a positive AND term of a select of T succeeded for conf. (Every such
        # select's probe is taken as y; a select whose other terms are n stays off anyway.)
        for target, cond in sym.selects:
            if recorded.get(target.name) not in ("y", "m") or any(n.prompt for n in target.nodes):
                continue
            for ph in phs:
                if _positive_and_term(cond, ph):
                    inferred.add(ph)
    for ph in inferred:
        psym = kconf.syms.get(ph)
        if psym is None:
            continue
        psym.orig_type = kconfiglib.BOOL
        psym.defaults = [(kconf.y, kconf.y)]
        psym.direct_dep = kconf.y
        for owner, phs in dep_probes.items():
            if ph in phs:
                replayed.setdefault(owner, "(dependency inferred y from the .config)")
    if value_probes or inferred:
        kconf._invalidate_all()
    return replayed, unavailable


def _positive_and_term(expr: Any, name: str) -> bool:
    if isinstance(expr, kconfiglib.Symbol):
        return bool(expr.name == name)
    if isinstance(expr, tuple) and expr and expr[0] == kconfiglib.AND:
        return _positive_and_term(expr[1], name) or _positive_and_term(expr[2], name)
    return False


def _recorded_values(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if text is None:
        return out
    for line in text.splitlines():
        m = _SET_RE.fullmatch(line.rstrip())
        if m:
            val = m.group(2)
            if len(val) >= 2 and val.startswith('"') and val.endswith('"'):
                val = kconfiglib.unescape(val[1:-1])
            out[m.group(1)] = val
            continue
        m = _UNSET_RE.fullmatch(line.rstrip())
        if m:
            out[m.group(1)] = "n"
    return out


def _shown(sym: Any) -> str:
    if sym.str_value:
        return str(sym.str_value)
    return "n" if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) else "(unset)"


def _type_name(sym: Any) -> str:
    return str(kconfiglib.TYPE_TO_STR.get(sym.orig_type, "unknown")) or "unknown"


def _given_matches(sym: Any, given: str) -> bool:
    cur = sym.str_value
    if sym.orig_type in (kconfiglib.INT, kconfiglib.HEX):
        base = 16 if sym.orig_type == kconfiglib.HEX else 10
        try:
            return int(given, base) == int(cur, base)
        except ValueError:
            return False
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return bool(given[:1] == cur)
    return bool(given == cur)


def _string_given(raw: str) -> str | None:
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return str(kconfiglib.unescape(raw[1:-1]))
    return None


def _resolve(kconf: _Kconfig, req: ConfigRequest, *, arch: str | None, source: str, env: dict[str, str],
             cached: bool, bundled: bool, tree_version: str | None = None) -> LoadedConfig:
    root = env["srctree"]

    def run() -> LoadedConfig:
        printed = io.StringIO()
        with _environment(env), contextlib.redirect_stdout(printed):
            loaded = _resolve_inner(kconf, req, arch=arch, source=source, env=env, cached=cached,
                                    bundled=bundled, tree_version=tree_version, root=root)
        extra = tuple(Finding("config.kconfiglib-warning", Severity.WARNING,
                              _clip(w.removeprefix("warning: "), MAX_MESSAGE_CHARS))
                      for w in _printed_warnings(printed.getvalue()))
        if extra:
            loaded.resolved = dataclasses.replace(loaded.resolved, findings=loaded.resolved.findings + extra)
        return loaded

    return _fence("cannot evaluate the configuration", run, root)


def _resolve_inner(kconf: _Kconfig, req: ConfigRequest, *, arch: str | None, source: str, env: dict[str, str],
                   cached: bool, bundled: bool, tree_version: str | None, root: str) -> LoadedConfig:
    findings: list[Finding] = []
    tree_warnings = list(kconf.warnings)  # about the Kconfig tree itself, not the user's input
    parse_warnings: list[str] = []  # raised while loading the .config and --set
    kconf.warnings = []
    display = req.config_display or "(config)"
    if req.config_text is not None:
        _check_config_lines(req.config_text.count("\n") + (0 if req.config_text.endswith("\n") else 1), display)

    # probes: replay from the .config, or "not available"
    recorded = _recorded_values(req.config_text)
    replayed, unavailable = _replay_probes(kconf, recorded) if not req.allow_shell else ({}, [])

    # arch selection (bundled model)
    arch_sym = kconf.syms[BUNDLED_ARCH_SYMBOL[arch]] if bundled and arch is not None else None

    assignments: list[_Assignment] = []
    if req.config_text is not None:
        lines, line_findings = _parse_config_lines(req.config_text, display)
        findings.extend(line_findings)
        assignments.extend(lines)
        with tempfile.TemporaryDirectory(prefix="cpualloc-config-") as tmp:
            path = os.path.join(tmp, "config")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(req.config_text)
            kconf.load_config(path, replace=False)
            for w in kconf.warnings:
                parse_warnings.append(w.replace(path, display))
            kconf.warnings = []
    if arch_sym is not None:
        arch_sym.set_value(2)  # --arch wins over an ARCH_* line in the file
        if arch == "powerpc64":
            kconf.syms["PPC64"].set_value(2)

    for name, value in req.sets:
        assignments.append(_Assignment(name, value, value, "--set", None, True))
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            continue
        val = value
        if sym.orig_type == kconfiglib.STRING:
            unq = _string_given(value)
            val = unq if unq is not None else value
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and val[:1] not in ("y", "m", "n"):
            findings.append(Finding("config.malformed-line", Severity.WARNING,
                                    f"--set {name}={value}: not a valid {_type_name(sym)} value; ignored",
                                    path="--set", symbol=name))
            continue
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            val = val[:1]
            if sym.choice is not None and val != "n":
                sym.choice.set_value(val)
        kconf.warnings = []
        sym.set_value(val)
        for w in kconf.warnings:
            parse_warnings.append(w)
        kconf.warnings = []

    # Linux 6.18 `transitional`: no prompt, but the value is read from the old .config (so a
    # new symbol can `default OLD_NAME`); never written. kconfiglib ignores the user value
    # of a prompt-less symbol, so it becomes the symbol's only default.
    transitional_taken: set[str] = set()
    for tname in kconf.cpa_transitional:
        tsym = kconf.syms.get(tname)
        if tsym is None or tsym.user_value is None:
            continue
        uval = tsym.user_value
        if tsym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            const = {2: kconf.y, 1: kconf.m}.get(uval, kconf.n)
        else:
            const = kconf._lookup_const_sym(str(uval))
        tsym.defaults = [(const, kconf.y)]
        transitional_taken.add(tname)
    if transitional_taken:
        kconf._invalidate_all()

    # last assignment of each symbol decides
    last: dict[str, _Assignment] = {}
    unknown: list[_Assignment] = []
    for a in assignments:
        sym = kconf.syms.get(a.name)
        if sym is None or not sym.nodes:
            unknown.append(a)
            continue
        last[a.name] = a

    out_of_range: dict[str, _Assignment] = {}
    not_taken: set[str] = set()
    for name, a in last.items():
        sym = kconf.syms[name]
        given = a.value
        if sym.orig_type == kconfiglib.STRING and not a.via_set:
            unq = _string_given(a.raw)
            if unq is None:
                continue  # kconfiglib warned: malformed string literal
            given = unq
        if _given_matches(sym, given) or name in transitional_taken:
            continue
        where = {"path": a.path, "line": a.line, "symbol": name}
        rng = _active_range(sym)
        if rng is not None and sym.orig_type in (kconfiglib.INT, kconfiglib.HEX) and sym.visibility:
            base = 16 if sym.orig_type == kconfiglib.HEX else 10
            try:
                num = int(given, base)
            except ValueError:
                findings.append(Finding("config.invalid-value", Severity.WARNING,
                                        f"{name}={given} is not a valid {_type_name(sym)}; "
                                        f"{name}={sym.str_value} used", **where))  # type: ignore[arg-type]
                not_taken.add(name)
                continue
            if not rng[0] <= num <= rng[1]:
                lo, hi = (hex(rng[0]), hex(rng[1])) if base == 16 else (str(rng[0]), str(rng[1]))
                findings.append(Finding(
                    "config.out-of-range", Severity.WARNING,
                    f"{name}={given} is outside its range {lo}..{hi}: ignored (not clamped), "
                    f"the default {sym.str_value} is used",
                    hint=f"choose a value in {lo}..{hi}", **where))  # type: ignore[arg-type]
                out_of_range[name] = a
                continue
        not_taken.add(name)
        if sym.visibility == 0 or (sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE)
                                   and kconfiglib.STR_TO_TRI.get(given[:1], 0) > sym.visibility):
            dep = _unmet_dependency(sym)
            why = f"unmet dependency {dep}" if dep else "it has no prompt (its value comes from defaults and selects)"
            findings.append(Finding(
                "config.not-taken", Severity.WARNING,
                f"{name}={given} did not take ({name}={_shown(sym)}): {why}",
                hint="satisfy the dependency or drop the assignment" if dep else None, **where))  # type: ignore[arg-type]
        elif sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and kconfiglib.expr_value(sym.rev_dep):
            sel = kconfiglib.expr_str(sym.rev_dep, _term_values)
            findings.append(Finding(
                "config.not-taken", Severity.WARNING,
                f"{name}={given} did not take ({name}={sym.str_value}): selected by {sel}", **where))  # type: ignore[arg-type]
        elif sym.choice is not None:
            sel = sym.choice.selection
            findings.append(Finding(
                "config.not-taken", Severity.WARNING,
                f"{name}={given} did not take: the choice selected {sel.name if sel else 'nothing'}",
                **where))  # type: ignore[arg-type]
        else:
            findings.append(Finding(
                "config.not-taken", Severity.WARNING,
                f"{name}={given} did not take ({name}={_shown(sym)})", **where))  # type: ignore[arg-type]

    if unknown:
        if bundled:
            names = sorted({a.name for a in unknown})
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            findings.append(Finding(
                "config.unknown-symbol", Severity.INFO,
                f"{len(names)} assigned symbol(s) are not in the bundled model and were ignored: {shown}",
                path=display, hint="use --srctree with the kernel tree to evaluate every symbol"))
        for a in unknown if not bundled else [a for a in unknown if a.via_set]:
            findings.append(Finding("config.unknown-symbol", Severity.WARNING,
                                    f"unknown symbol {a.name} (assignment ignored)", path=a.path, line=a.line,
                                    symbol=a.name))

    for w in tree_warnings:
        if PROBE_PREFIX in w:
            continue  # a probe not run: reported in the probes list
        wpath, wline, text = _location_from_message(w.removeprefix("warning: "))
        findings.append(Finding("config.kconfig-tree-warning", Severity.INFO, text.removeprefix("warning: "),
                                path=wpath, line=wline))
    for w in parse_warnings:
        if PROBE_PREFIX in w:
            continue
        if "attempt to assign the value" in w and "undefined symbol" in w:
            continue  # reported above as config.unknown-symbol
        wpath, wline, text = _location_from_message(w.removeprefix("warning: "))
        text = text.removeprefix("warning: ")
        findings.append(Finding("config.kconfiglib-warning", Severity.WARNING, text, path=wpath, line=wline))

    # probes report
    probes: list[Probe] = []
    value_probes, dep_probes = kconf.cpa_probe_syms if not req.allow_shell else ({}, {})
    if req.allow_shell:
        for call in kconf.cpa_probes.values():
            probes.append(Probe(call.command, (call.filename, call.linenr), "run", None, call.output))
    else:
        owners: dict[str, list[str]] = {}
        for sym_name, phs in list(value_probes.items()) + list(dep_probes.items()):
            for ph in phs:
                owners.setdefault(ph, []).append(sym_name)
        for call in kconf.cpa_probes.values():
            for sym_name in sorted(set(owners.get(call.placeholder, []))) or [None]:  # type: ignore[list-item]
                if sym_name is None:
                    probes.append(Probe(call.command, (call.filename, call.linenr), "not run", None, None))
                elif sym_name in replayed:
                    probes.append(Probe(call.command, (call.filename, call.linenr), "replayed", sym_name,
                                        replayed[sym_name]))
                elif sym_name in value_probes:
                    probes.append(Probe(call.command, (call.filename, call.linenr), "not available", sym_name,
                                        None))
                else:
                    probes.append(Probe(call.command, (call.filename, call.linenr), "not available (dependency)",
                                        sym_name, None))
        n_unavail = len(unavailable) + len(dep_probes)
        if kconf.cpa_probes:
            findings.append(Finding(
                "config.probes-not-run", Severity.INFO,
                f"{len(kconf.cpa_probes)} $(shell,...) probe(s) not run: {len(replayed)} symbol(s) replayed "
                f"from the .config, {n_unavail} not available",
                hint="--allow-shell runs them (with the toolchain the environment names)"))

    # values
    values: dict[str, str] = {}
    for sym in kconf.unique_defined_syms:
        if sym.name in kconf.cpa_transitional:
            continue
        conf_val = _conf_value(sym)
        if conf_val is not None:
            values[sym.name] = conf_val
    for name in kconf.cpa_transitional:
        values.pop(name, None)

    # details
    details: dict[str, SymbolValue] = {}
    wanted = list(RELEVANT_SYMBOLS) + [s for s in req.show if s not in RELEVANT_SYMBOLS]
    for name in wanted:
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            if name in req.show:
                details[name] = SymbolValue(name, "", "unknown", Origin.UNKNOWN, visible=False)
            continue
        assigned = last.get(name)
        if name in replayed:
            origin = Origin.PROBE_REPLAYED
        elif name in unavailable or name in dep_probes:
            origin = Origin.UNAVAILABLE
        elif name in out_of_range:
            origin = Origin.OUT_OF_RANGE_DEFAULT
        elif assigned is not None and name not in not_taken:
            origin = Origin.SET if assigned.via_set else Origin.FILE
        elif (sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and kconfiglib.expr_value(sym.rev_dep)
              and sym.tri_value == kconfiglib.expr_value(sym.rev_dep) and sym.tri_value > 0):
            origin = Origin.SELECT
        elif sym.choice is not None and sym.choice.user_selection is sym:
            origin = Origin.SET if arch_sym is sym else Origin.FILE
        else:
            origin = Origin.DEFAULT
        visible = bool(sym.visibility)
        details[name] = SymbolValue(
            name=name,
            value=_conf_value(sym) or "",
            type=_type_name(sym),
            origin=origin,
            visible=visible,
            range=_active_range(sym),
            defined_at=_defined_at(sym, root),
            unmet_dependency=None if visible else _unmet_dependency(sym),
            given=(_clip(assigned.value, MAX_ECHO_CHARS)
                   if assigned is not None and (name in not_taken or name in out_of_range) else None),
        )

    # arch and version
    if bundled:
        resolved_arch = values.get("CPUALLOC_ARCH") or arch or "x86_64"
        version, version_source = values.get("KERNEL_VERSION", ""), "bundled model"
    else:
        resolved_arch = arch or ""
        version, version_source = tree_version or "", "srctree Makefile"
    if req.image_kernel_version and bundled:  # a tree's Makefile outranks the image banner
        version, version_source = req.image_kernel_version, "image banner"
    if req.kernel_version:
        version, version_source = req.kernel_version, "--kernel-version"

    resolved = ResolvedConfig(
        arch=resolved_arch,
        kernel_version=version,
        kernel_version_source=version_source,
        values=values,
        details=details,
        findings=tuple(dataclasses.replace(f, message=_clip(f.message, MAX_MESSAGE_CHARS))
                       for f in _cap_findings(findings)),
        source=source,
        config_path=req.config_display,
        probes=tuple(probes),
        unsupported=UNSUPPORTED if not bundled else (),
    )
    _write_implied_like_conf(kconf)
    header = _config_header(kconf, env, bundled)
    text = kconf._config_contents(header)
    if kconf.cpa_transitional:
        drop = {f"CONFIG_{n}=" for n in kconf.cpa_transitional} | {f"# CONFIG_{n} is not set" for n in
                                                                   kconf.cpa_transitional}
        text = "".join(line for line in text.splitlines(keepends=True)
                       if not any(line.startswith(d) for d in drop))
    return LoadedConfig(resolved=resolved, config_text=text, parse_from_cache=cached, env=dict(env))


def _cap_findings(findings: Sequence[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS_PER_CODE findings of each rule (a .config of 50,000 malformed
    lines would otherwise make 100,000 findings, and every renderer slow); one more finding
    per rule says how many were left out."""
    kept: list[Finding] = []
    dropped: dict[str, tuple[int, Severity]] = {}
    counts: dict[str, int] = {}
    for f in findings:
        n = counts[f.rule] = counts.get(f.rule, 0) + 1
        if n <= MAX_FINDINGS_PER_CODE:
            kept.append(f)
        else:
            prev = dropped.get(f.rule, (0, f.severity))
            dropped[f.rule] = (prev[0] + 1, prev[1])
    for rule, (n, severity) in dropped.items():
        kept.append(Finding(rule, severity, f"{n} more {rule} finding(s) not shown (the first "
                                            f"{MAX_FINDINGS_PER_CODE} are)"))
    return kept


def _write_implied_like_conf(kconf: _Kconfig) -> None:
    """C conf (scripts/kconfig/symbol.c, sym_calc_value: `if (sym->implied.tri != no)
    sym->flags |= SYMBOL_WRITE;`) writes a bool that something `imply`s even when its own
    dependencies are unmet (as "# CONFIG_X is not set"); kconfiglib 14.1.0 writes it only when
    they are met. Same values, but the written .config differs: do what conf does. Must run
    after every value is computed and before _config_contents (no invalidation between)."""
    bool_types = (kconfiglib.BOOL, kconfiglib.TRISTATE)
    for sym in kconf.unique_defined_syms:
        if sym.orig_type not in bool_types or sym.choice is not None:
            continue
        _ = sym.str_value  # compute (and cache) the value and kconfiglib's write flag
        if not sym._write_to_conf and kconfiglib.expr_value(sym.weak_rev_dep):
            sym._write_to_conf = True


def _config_header(kconf: _Kconfig, env: Mapping[str, str], bundled: bool) -> str:
    title = kconf.mainmenu_text if not bundled else "cpualloc bundled model"
    return f"#\n# Automatically generated file; DO NOT EDIT.\n# {title}\n#\n"
