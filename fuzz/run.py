#!/usr/bin/env python3
"""The cpualloc fuzz harness: seeded, structure-aware mutation of real inputs, each case run
through the real CLI in its own process under resource limits.

    python fuzz/run.py --cases 10000 --seed 1            # the full run (see fuzz/README.md)
    python fuzz/run.py --cases 200 --seed 7 --no-save    # the CI slice (tests/test_fuzz_slice.py)
    python fuzz/run.py --self-test                       # prove the harness finds pyelftools escapes

A case fails on (see fuzz/README.md for the full rules):

* exit 4, a "Traceback" anywhere in its output, death by a signal, or an exit code other
  than 0, 1, 2, 3;
* wall time over CASE_SECONDS (confirmed by one sequential re-run, since the machine is shared);
* peak RSS over RSS_BOUND_BYTES (os.wait4's ru_maxrss of the case's own process);
* any file written outside the case's temporary folder (the repo tree, the fuzz root, /tmp's
  top level), or any change to an input file;
* on exit 3: not exactly one ``cpualloc: error: PATH[:LINE]: message`` line naming one of the
  case's files, or a generic fallback message (see :func:`message_problem`);
* on exit 3 with ``-o``: a partial output file; on exit 0/1 with ``--format json``: stdout
  that is not JSON.

Each failure is minimized (delta debugging, bounded) and saved under tests/regressions/ with
an entry in tests/regressions/index.json (unless --no-save).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import lzma
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import hostile as H  # noqa: E402
import mutators as M  # noqa: E402

# --- the bounds, stated --------------------------------------------------------------------------

CASE_SECONDS = 5.0                 # wall time per case (the bound)
CPU_SECONDS = 10                   # RLIMIT_CPU: a hung C decoder is killed by the kernel
AS_BYTES = 2 << 30                 # RLIMIT_AS: 2 GiB of address space per case
FSIZE_BYTES = 256 << 20            # RLIMIT_FSIZE: no single file written over 256 MiB
RSS_BOUND_BYTES = 512 << 20        # peak RSS per case (ru_maxrss from os.wait4)

COMMANDS = ("inspect", "extract", "config", "check", "diff")
EXTRA_COMMANDS = ("footprint",)
REGRESSIONS = REPO / "tests" / "regressions"

# --- the message rule ------------------------------------------------------------------------------

ERROR_PREFIX = "cpualloc: error: "


def _shown_path(path: str) -> str:
    """A path as the CLI's error line shows it: control characters as visible escapes (the
    current tree's render/safe.clean; the unfixed tree of --self-test-classes has none)."""
    try:
        from cpualloc_cli.render.safe import clean
    except ImportError:
        return path
    return clean(path)
GENERIC = re.compile(r"internal error|unexpected error|bug in cpualloc|traceback|unknown error", re.I)
# Python / library exception text that must never *be* the message.
PY_TEXT = re.compile(
    r"unpack requires a buffer|object has no attribute|NoneType|not subscriptable|unsupported operand|"
    r"index out of range|too large to convert|invalid literal for int\(\)|takes \d+ positional|"
    r"is not iterable|<class '|object at 0x|Container\(|expected str, bytes|maximum recursion depth|"
    r"can only concatenate|must be real number|is not in list|has no len\(\)|an integer is required|"
    r"ConstructError|StreamError|FieldError|MappingError|RangeError|ArrayError|SwitchError|"
    r"cannot fit 'int'|int too big to convert|offset must be non-negative|buffer is smaller than requested|"
    r"negative count|cannot convert float|division by zero|seek out of range|negative seek|mmap |"
    r"read length must be|I/O operation on closed|KeyError|struct\.error|OverflowError|"
    r"IndexError|TypeError|AttributeError|AssertionError|RecursionError|MemoryError")
# A generic label followed by a bare detail: "malformed ELF (headers): 'sh_type'", ": 12"
GENERIC_LABEL = re.compile(r"^(malformed [\w ]*\([^)]*\)|malformed [\w ]+|invalid input|bad input|error|failed|"
                           r"cannot read|corrupt(ed)? (file|input|data))$", re.I)
BARE = re.compile(r"^('[^']*'|\"[^\"]*\"|-?\d+|0x[0-9a-fA-F]+|[A-Za-z_][\w.]*|)$")


def message_problem(stderr: str, paths: Iterable[str]) -> str | None:
    """Why an exit-3 stderr is not 'one clear line naming the file and saying what is wrong'.

    The rule: exactly one ``cpualloc: error:`` line (other stderr lines may only be
    ``cpualloc: warning:``/``cpualloc: note`` diagnostics); it starts with one of the case's
    paths followed by ``:``; it contains no generic phrase (internal/unexpected error...);
    it contains no Python or library exception text (``unpack requires a buffer``,
    ``'NoneType' object...``, exception class names); and it is not a generic label with a
    bare detail (``malformed ELF (headers): 'sh_type'``, ``...: 12``).
    """
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(ERROR_PREFIX)]
    others = [ln for ln in lines if not ln.startswith(ERROR_PREFIX)
              and not ln.startswith(("cpualloc: warning:", "cpualloc: note", "cpualloc: "))]
    if len(errors) != 1:
        return f"{len(errors)} error lines on stderr (want exactly 1)"
    if others:
        return f"stray stderr line: {others[0][:120]!r}"
    body = errors[0][len(ERROR_PREFIX):]
    named = [p for p in paths if p and (body.startswith(p + ":") or body.startswith(_shown_path(p) + ":"))]
    if not named:
        return f"the error line does not start with the input's path: [{body[:70]}]"
    rest = body[len(max(named, key=len)) + 1:]
    rest = re.sub(r"^\d+:", "", rest).strip()
    what = rest.split("; ", 1)[0]
    if GENERIC.search(rest):
        return f"generic message: {what[:120]!r}"
    if PY_TEXT.search(what):
        return f"library exception text as the message: {what[:120]!r}"
    parts = what.split(": ")
    if not parts[0].strip():
        return "empty message"
    for label, detail in zip(parts, parts[1:], strict=False):
        if GENERIC_LABEL.match(label.strip()) and BARE.match(detail.strip()):
            return f"generic label with a bare detail: {what[:120]!r}"
    if len(parts) > 1 and re.match(r"^'[^']*'$", parts[-1].strip()):
        return f"bare quoted detail (a KeyError?): {what[:120]!r}"
    return None


# --- the seed corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    kind: str      # elf | compressed | config | ikconfig | kconfig | policy | baseline
    name: str
    data: bytes
    weight: int = 1


def _read_maybe_xz(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(raw)
    return raw


def bzimage_payload(image: bytes) -> bytes | None:
    """The decompressed kernel of an x86 bzImage with an xz payload: it starts payload_offset
    (0x248) bytes into the protected-mode code at (setup_sects (0x1f1) + 1) * 512 and is
    payload_length (0x24c) bytes long (Documentation/x86/boot.rst, protocol 2.08+)."""
    if len(image) < 0x250 or image[0x202:0x206] != b"HdrS":
        return None
    setup = (image[0x1F1] or 4) + 1
    off, length = int.from_bytes(image[0x248:0x24C], "little"), int.from_bytes(image[0x24C:0x250], "little")
    start = setup * 512 + off
    try:
        return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(image[start:start + length])
    except lzma.LZMAError:
        return None


def load_corpus(big: bool = False) -> dict[str, list[Seed]]:
    corpus: dict[str, list[Seed]] = {}

    def add(seed: Seed) -> None:
        corpus.setdefault(seed.kind, []).append(seed)

    elf_dir = REPO / "tests" / "fixtures" / "elf"
    index = json.loads((elf_dir / "index.json").read_text())
    for fx in index["fixtures"]:
        path = elf_dir / fx["file"]
        size = path.stat().st_size
        if fx.get("compressed") and not big:
            continue  # the 5 MB, 66k-section .o: slow per case; only with --big
        add(Seed("elf", fx["name"], _read_maybe_xz(path), 1 if size < 200_000 else 1))
    for p in sorted((REPO / "samples").glob("*.elf")):
        add(Seed("elf", "samples/" + p.name, p.read_bytes()))

    comp = REPO / "tests" / "fixtures" / "compressed"
    if comp.is_dir():
        for p in sorted(comp.iterdir()):
            if not p.is_file() or p.suffix == ".py" or p.name in ("config", "README.md"):
                continue
            data = p.read_bytes()
            if p.name in ("config.gz", "configs-ko.o"):
                add(Seed("ikconfig", p.name, data))
                continue
            if data[:4] == b"\x7fELF" and p.name == "payload.elf":
                add(Seed("elf", "compressed/" + p.name, data))
                continue
            add(Seed("compressed", p.name, data))
        if (comp / "config").is_file():
            add(Seed("config", "compressed/config", (comp / "config").read_bytes()))

    # kernels whose only symbols are kallsyms: the stripped vmlinux inside each real bzImage
    # (tests/fixtures/kallsyms/images/, tools/kallsyms_fixtures/build_images.sh), for the
    # hostile kallsyms class (not a mutation seed: 2 MB each)
    for p in sorted((REPO / "tests" / "fixtures" / "kallsyms" / "images").glob("*/bzImage"))[:1]:
        payload = bzimage_payload(p.read_bytes())
        if payload is not None:
            add(Seed("kallsyms", f"kallsyms/{p.parent.name}/bzImage:payload", payload))

    for p in sorted((REPO / "samples").glob("*.config")):
        add(Seed("config", "samples/" + p.name, p.read_bytes(), 3))
    kc = REPO / "tests" / "fixtures" / "kconfig"
    for p in sorted(kc.glob("*.input.xz")) if kc.is_dir() else []:
        data = lzma.decompress(p.read_bytes())
        if len(data) < 64_000 or big:
            add(Seed("config", "kconfig/" + p.name, data))

    for p in sorted((REPO / "kconfig").glob("Kconfig*")):
        add(Seed("kconfig", p.name, p.read_bytes()))

    for p in sorted((HERE / "corpus").glob("*.toml")):
        add(Seed("policy", p.name, p.read_bytes()))
    for p in sorted((HERE / "corpus").glob("*.json")):
        add(Seed("baseline", p.name, p.read_bytes()))
    return corpus


# --- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    index: int
    command: str
    kind: str
    seed_name: str
    data: bytes
    mutations: list[str]
    argv: list[str]             # with {in}, {orig}, {tree}, {good}, {out} placeholders
    json_out: bool = False
    tree_file: str | None = None  # for kind == "kconfig": which file of the tree `data` replaces
    setup: dict[str, Any] = field(default_factory=dict)  # a hostile scenario (fuzz/hostile.py), see Runner
    cls: str | None = None       # the hostile class (fuzz/hostile.py GENERATORS), None for a mutation case
    expect: tuple[str, ...] = ()  # failure kinds this hostile case shows on the unfixed code (self-test)
    recipe: dict[str, Any] | None = None  # hostile: how to make it again ({seed, index, classes})


GOOD_CONFIG = REPO / "samples" / "sparc64-nr64-static.config"
SRCTREE_MAKEFILE = b"VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 0\nEXTRAVERSION =\n"


def _fmt(rng: random.Random, choices: tuple[str, ...]) -> list[str]:
    f = rng.choice(choices)
    return ["--format", f]


# The share of cases in a normal run made by the hostile generators (fuzz/hostile.py).
HOSTILE_SHARE = 0.2


def make_hostile_case(index: int, seed: int, corpus: dict[str, list[Seed]], classes: list[str] | None = None,
                      variant: str | None = None) -> Case:
    """A case from one of fuzz/hostile.py's generators (a pure function of seed and index)."""
    rng = random.Random(f"cpualloc-fuzz-hostile:{seed}:{index}")
    names = classes or sorted(H.GENERATORS)
    cls = rng.choice(names)
    plan = H.GENERATORS[cls](corpus, rng, variant)
    return Case(index, plan.command, plan.kind, plan.notes[0], plan.data, [f"{cls}: {n}" for n in plan.notes],
                plan.argv, plan.json_out and "-o" not in plan.argv, tree_file=plan.tree_file, setup=plan.setup,
                cls=cls, expect=plan.expect, recipe={"seed": seed, "index": index, "classes": classes, "variant": variant})


def make_case(index: int, seed: int, corpus: dict[str, list[Seed]], commands: list[str],
              self_test: bool = False, hostile: float = HOSTILE_SHARE, classes: list[str] | None = None) -> Case:
    """Case `index` of a run: a hostile case (share `hostile`, from its own rng so that the
    mutation cases keep their numbers) or 1-3 stacked mutations of a corpus seed."""
    if not self_test and hostile and random.Random(f"cpualloc-fuzz-share:{seed}:{index}").random() < hostile:
        return make_hostile_case(index, seed, corpus, classes)
    rng = random.Random(f"cpualloc-fuzz:{seed}:{index}")
    command = rng.choice(commands)
    plan: list[tuple[str, int]]
    if command == "inspect":
        plan = [("elf", 7), ("compressed", 3)]
    elif command == "extract":
        plan = [("compressed", 7), ("elf", 1), ("ikconfig", 2)]
    elif command == "diff":
        plan = [("elf", 8), ("compressed", 1)]
    elif command in ("config", "footprint"):
        plan = [("config", 6), ("kconfig", 3)]
    else:  # check
        plan = [("config", 4), ("policy", 3), ("baseline", 2), ("elf", 2), ("kconfig", 1)]
    plan = [(k, w) for k, w in plan if corpus.get(k)]
    kind = rng.choices([k for k, _ in plan], weights=[w for _, w in plan])[0]
    pool = corpus[kind]
    s = rng.choices(pool, weights=[x.weight for x in pool])[0]

    if kind == "elf":
        muts = M.SELF_TEST_MUTATORS if self_test else M.ELF_MUTATORS
    elif kind in ("compressed", "ikconfig"):
        muts = M.COMPRESSED_MUTATORS if s.data[:4] != b"\x7fELF" else M.ELF_MUTATORS
    elif kind == "config":
        muts = M.text_mutators(M.CONFIG_LINES)
    elif kind == "kconfig":
        muts = M.text_mutators(M.KCONFIG_LINES)
    elif kind == "policy":
        muts = M.text_mutators(M.TOML_LINES)
    else:
        muts = M.text_mutators(M.JSON_LINES)
    data, notes = M.mutate(s.data, muts, rng)

    json_out = False
    argv: list[str]
    if command == "inspect":
        extra = rng.choice([[], ["--format", "json"], ["--format", "json"], ["--symbols", "--format", "json"],
                            ["--section", ".data..percpu"], ["--top", "3", "--format", "json"], ["-o", "{out}"]])
        json_out = "json" in extra and "-o" not in extra
        argv = ["inspect", "{in}", *extra]
    elif command == "extract":
        argv = ["extract", "{in}", "-o", "{out}"]
        if kind == "ikconfig" or rng.random() < 0.1:
            argv.append("--ikconfig")
        if rng.random() < 0.3:
            argv += ["--max-size", rng.choice(["64KiB", "1MiB", "16MiB"])]
        if rng.random() < 0.5:
            argv += ["--format", "json"]
            json_out = True
    elif command == "diff":
        pair = ["{orig}", "{in}"] if rng.random() < 0.5 else ["{in}", "{orig}"]
        extra = rng.choice([[], ["--format", "json"], ["--format", "markdown"], ["--budget", "bss=+1%"],
                            ["--threshold", "64", "--format", "json"]])
        json_out = "json" in extra
        argv = ["diff", *pair, *extra]
    elif command in ("config", "footprint"):
        if kind == "kconfig":
            argv = [command, "--srctree", "{tree}", "--arch", "sparc64", "--config", "{good}"]
        else:
            argv = [command, "--config", "{in}"]
            if rng.random() < 0.3:
                argv += ["--arch", rng.choice(["sparc64", "x86_64", "i386"])]
        if rng.random() < 0.5:
            argv += ["--format", "json"]
            json_out = True
    else:  # check
        if kind == "config":
            argv = ["check", "--config", "{in}"]
        elif kind == "policy":
            argv = ["check", "--config", "{good}", "--policy", "{in}"]
        elif kind == "baseline":
            argv = ["check", "--config", "{good}", "--baseline", "{in}", "--budget",
                    rng.choice(["bss=+1%", "image_extent=+64KiB", "total=+0%"])]
        elif kind == "kconfig":
            argv = ["check", "--srctree", "{tree}", "--arch", "sparc64", "--config", "{good}"]
        else:
            argv = ["check", "{in}"]
        fmt = rng.choice(["text", "json", "json", "sarif", "github", "markdown", "junit"])
        argv += ["--format", fmt]
        json_out = fmt in ("json", "sarif")
    if "-o" in argv:
        json_out = False
    return Case(index, command, kind, s.name, data, notes, argv, json_out,
                tree_file=s.name if kind == "kconfig" else None)


# --- running one case --------------------------------------------------------------------------


@dataclass
class Result:
    index: int
    command: str
    kind: str
    seed_name: str
    mutations: list[str]
    argv: list[str]
    rc: int | None
    signal: int | None
    wall_s: float
    cpu_s: float
    maxrss_bytes: int
    failure: str | None = None
    detail: str = ""
    stderr_tail: str = ""
    saved: str | None = None
    retried: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _limits() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (AS_BYTES, AS_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 2))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE_BYTES, FSIZE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-size write fails with EFBIG instead


Snapshot = dict[str, tuple[int, int]]
_SKIP_DIRS = {".git", ".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules",
              ".hypothesis"}


def snapshot_tree(root: Path) -> Snapshot:
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        for name in filenames:
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[p] = (st.st_mtime_ns, st.st_size)
    return out


def snapshot_listing(root: Path) -> Snapshot:
    out: Snapshot = {}
    try:
        with os.scandir(root) as it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                out[e.path] = (st.st_mtime_ns if not e.is_dir(follow_symlinks=False) else 0, st.st_size if
                               e.is_file(follow_symlinks=False) else 0)
    except OSError:
        pass
    return out


def diff_snapshots(a: Snapshot, b: Snapshot) -> list[str]:
    changed = [p for p in b if a.get(p) != b[p]]
    changed += [p for p in a if p not in b]
    return sorted(changed)


# /tmp is shared with other users: only names a Python tempfile or cpualloc would create are
# watched there (anything cpualloc writes through tempfile lands in the case's TMPDIR anyway).
_TMP_WATCH = re.compile(r"^(tmp[a-z0-9_]{8}$|\.cpualloc|cpualloc(?!-fuzz-|-bench-|-unfixed-))")


class Runner:
    def __init__(self, root: Path, cli: list[str], watch_repo: bool = True, fork: bool = False,
                 code_root: Path | None = None) -> None:
        self.root = root
        self.cli = cli
        self.watch_repo = watch_repo
        self.fork = fork
        self.code_root = code_root or REPO  # where `python -m cpualloc_cli` imports the package from
        # a confirmation run: the wall deadline is this many times CASE_SECONDS, and a timeout
        # is confirmed by a kill at that deadline (a hang) or by CPU time over CASE_SECONDS
        # (slow on an idle machine too), not by wall time a loaded machine stretched
        self.confirm_factor = 1.0
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("XDG_CACHE_HOME", "COLUMNS", "PYTHONSTARTUP", "CPUALLOC_POLICY", "KCONFIG_FUNCTIONS")}
        self.env.update({"NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
                         "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
                         "PYTHONPATH": str(self.code_root), H.SECRET_ENV: H.SECRET_TOKEN})

    def materialize(self, case: Case, case_dir: Path) -> tuple[list[str], dict[str, Path], Path]:
        """Write the case's inputs under case_dir/in, set up its scenario (case.setup), return
        (argv, input paths, out path). The folder: in/ (inputs), work/ (cwd, HOME, TMPDIR),
        markers/ (files a planted module or pickle would create), victim/ (what a planted -o
        symlink points at), outside/ (what a planted top-level Kconfig symlink points at)."""
        indir = case_dir / "in"
        work = case_dir / "work"
        indir.mkdir(parents=True)
        work.mkdir()
        (case_dir / "markers").mkdir()
        setup = case.setup
        inputs: dict[str, Path] = {}
        ext = {"elf": "elf", "compressed": "img", "ikconfig": "img", "config": "config", "policy": "toml",
               "baseline": "json", "kconfig": "Kconfig"}[case.kind]
        out_path = work / "out.bin"
        subs: dict[str, str] = {"{out}": str(out_path)}
        if case.kind == "kconfig":
            tree = indir / "tree"
            tree.mkdir()
            for p in (REPO / "kconfig").glob("Kconfig*"):
                shutil.copyfile(p, tree / p.name)
            (tree / "Makefile").write_bytes(SRCTREE_MAKEFILE)
            marker = str(self.root / f"shell-marker-{case_dir.name}").encode()
            (tree / (case.tree_file or "Kconfig")).write_bytes(case.data.replace(b"__MARKER__", marker))
            for rel, content in (setup.get("glob_stale") or {}).items():
                if rel.endswith("a.Kconfig"):  # the second file appears only after the first run
                    (tree / rel).parent.mkdir(parents=True, exist_ok=True)
                    (tree / rel).write_text(content)
            if setup.get("top_symlink_out"):
                outside = case_dir / "outside"
                outside.mkdir()
                (outside / "Kconfig").write_text(f"{H.OUTSIDE_TOKEN}\nmainmenu ((( \"x\n")
                (tree / "Kconfig").unlink()
                (tree / "Kconfig").symlink_to(outside / "Kconfig")
            for p in tree.rglob("*"):
                inputs[str(p)] = p
            subs["{tree}"] = str(tree)
        else:
            name = "input"
            if setup.get("input_name"):
                name = setup["input_name"].replace("/", "_")
            p = indir / f"{name}.{ext}"
            kind = setup.get("input_kind")
            if kind == "fifo":
                os.mkfifo(p)
            elif kind == "devzero":
                p = Path("/dev/zero")
            else:
                p.write_bytes(case.data)
            if kind != "devzero":
                inputs[str(p)] = p
            subs["{in}"] = str(p)
        for rel in setup.get("fifo", []):
            f = indir / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(f)
            inputs[str(f)] = f
        if setup.get("plant_kconfigfunctions"):
            (work / "kconfigfunctions.py").write_text(
                H.KCONFIGFUNCTIONS_PY.format(marker=str(case_dir / "markers" / "kconfigfunctions")))
        if setup.get("plant_policy"):
            # a world-writable ancestor of the working directory (like /tmp) holds a policy file
            fname, body = setup["plant_policy"]
            proj = work / "proj"
            proj.mkdir()
            planted = case_dir / fname
            planted.write_text(body)
            os.chmod(planted, 0o666)
            os.chmod(case_dir, 0o777)
        out_kind = setup.get("out_kind")
        if out_kind:
            victim = case_dir / "victim"
            victim.mkdir()
            if out_kind == "symlink":
                (victim / "target").write_bytes(b"root-only file\n")
                out_path.symlink_to(victim / "target")
            elif out_kind == "dangling":
                out_path.symlink_to(victim / "new")
            elif out_kind == "fifo":
                os.mkfifo(out_path)
            elif out_kind == "directory":
                out_path.mkdir()
            elif out_kind == "missing-dir":
                out_path = work / "missing" / "out.bin"
            elif out_kind == "device":
                out_path = Path("/dev/full")
            subs["{out}"] = "" if out_kind == "empty" else str(out_path)
        if "{orig}" in case.argv:
            corpus_seed = ORIG_CACHE.get(case.seed_name)
            if corpus_seed is None and case.kind == "elf" and case.cls:
                corpus_seed = case.data  # a hostile case diffs against itself
            if corpus_seed is not None:
                o = indir / f"orig.{ext}"
                o.write_bytes(corpus_seed)
                inputs[str(o)] = o
                subs["{orig}"] = str(o)
        if "{good}" in case.argv:
            g = indir / "good.config"
            shutil.copyfile(GOOD_CONFIG, g)
            inputs[str(g)] = g
            subs["{good}"] = str(g)

        def sub(a: str) -> str:
            for k, v in subs.items():
                if k in a:
                    a = a.replace(k, v)
            return a

        argv = [sub(a) for a in case.argv]
        return argv, inputs, out_path

    def run(self, case: Case) -> Result:
        case_dir = Path(tempfile.mkdtemp(prefix=f"case-{case.index:06d}-", dir=self.root))
        try:
            return self._run(case, case_dir)
        finally:
            _make_removable(case_dir)
            shutil.rmtree(case_dir, ignore_errors=True)

    def _launch(self, argv: list[str], cwd: Path, env: dict[str, str], stdout_p: Path,
                stderr_p: Path) -> tuple[int, Any, bool, float]:
        import subprocess

        t0 = time.monotonic()
        if self.fork:
            pid = _fork_cli(argv, cwd, env, stdout_p, stderr_p)
            status, ru, killed = _wait(pid, t0 + CASE_SECONDS * self.confirm_factor)
        else:
            with open(stdout_p, "wb") as so, open(stderr_p, "wb") as se:
                proc = subprocess.Popen([*self.cli, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=so,
                                        stderr=se, preexec_fn=_limits)
                status, ru, killed = _wait(proc.pid, t0 + CASE_SECONDS * self.confirm_factor)
                proc.returncode = 0  # reaped by os.wait4 above
        return status, ru, killed, time.monotonic() - t0

    def _run(self, case: Case, case_dir: Path) -> Result:
        argv, inputs, out_path = self.materialize(case, case_dir)
        work = case_dir / "work"
        setup = case.setup
        cwd = work / "proj" if setup.get("plant_policy") else work
        env = dict(self.env)
        env.update({"HOME": str(work), "TMPDIR": str(work)})
        stdout_p, stderr_p = case_dir / "stdout", case_dir / "stderr"
        if setup.get("poison_cache") or setup.get("glob_stale"):
            # a first run fills the parse cache; then an attacker poisons it, or the tree changes
            self._launch(argv, cwd, env, stdout_p, stderr_p)
            if setup.get("poison_cache"):
                poison_cache(work / ".cache", str(case_dir / "markers" / "pickle"))
            for rel, content in (setup.get("glob_stale") or {}).items():
                p = case_dir / "in" / "tree" / rel
                if not p.exists():
                    p.write_text(content)
                    inputs[str(p)] = p
        before_inputs = {k: (p.stat().st_mtime_ns, p.stat().st_size, hashlib.sha256(p.read_bytes()).digest())
                         for k, p in inputs.items() if p.is_file()}
        victim_before = _victim_state(case_dir)
        out_existed = os.path.lexists(out_path)
        repo_before = snapshot_tree(REPO) if self.watch_repo else {}
        root_before = snapshot_listing(self.root)
        tmp_before = snapshot_listing(Path("/tmp"))
        status, ru, killed, wall = self._launch(argv, cwd, env, stdout_p, stderr_p)
        stdout_b = stdout_p.read_bytes()
        stderr_b = stderr_p.read_bytes()
        stdout = stdout_b.decode("utf-8", "replace")
        stderr = stderr_b.decode("utf-8", "replace")
        rc = os.waitstatus_to_exitcode(status)
        sig = -rc if rc < 0 else None
        res = Result(case.index, case.command, case.kind, case.seed_name, case.mutations, argv,
                     rc if rc >= 0 else None, sig, round(wall, 3), round(ru.ru_utime + ru.ru_stime, 3),
                     ru.ru_maxrss * 1024, stderr_tail=_clip(stderr))

        def fail(kind: str, detail: str) -> Result:
            res.failure = res.failure or kind
            res.detail = res.detail or detail
            res.extra.setdefault("all_failures", []).append(kind)
            return res

        res.extra["harness_maxrss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if case.cls:
            res.extra["class"] = case.cls
        # the security effects first: they matter more than how the run ended
        markers = sorted(p.name for p in (case_dir / "markers").iterdir())
        if markers:
            fail("code-exec", f"planted code ran: {', '.join(markers)} (a module from the working directory or "
                              "a pickle from the cache)")
        if _victim_state(case_dir) != victim_before:
            fail("victim-changed", "-o wrote through a planted symlink: a file outside the work folder changed")
        out_text = b""
        if case.command != "extract" and out_path.is_file() and not out_path.is_symlink():
            with contextlib.suppress(OSError):
                out_text = out_path.read_bytes()[:16 << 20]
        everything = stdout_b + stderr_b + out_text
        if H.SECRET_TOKEN.encode() in everything:
            fail("env-leak", f"the value of ${H.SECRET_ENV} (not named by --env) reached the output")
        if H.OUTSIDE_TOKEN.encode() in everything:
            fail("outside-read", "text of a file outside --srctree (the symlinked top Kconfig's target) was printed")
        if setup.get("plant_policy"):
            planted = str(case_dir / setup["plant_policy"][0])
            if rc == 3 and any(ln.startswith(ERROR_PREFIX) and planted in ln for ln in stderr.splitlines()):
                fail("planted-policy", f"a policy planted in a world-writable ancestor was used: {planted}")
        if killed:
            fail("timeout", f"killed after {CASE_SECONDS * self.confirm_factor:g} s wall time")
        elif self.confirm_factor > 1 and res.cpu_s > CASE_SECONDS:
            fail("timeout", f"{res.cpu_s:.1f} s of CPU, over the {CASE_SECONDS:g} s bound")
        elif sig is not None:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            fail("signal", f"died of {name}")
        if res.maxrss_bytes > RSS_BOUND_BYTES:
            fail("memory", f"peak RSS {res.maxrss_bytes >> 20} MiB > {RSS_BOUND_BYTES >> 20} MiB")
        if "Traceback (most recent call last)" in stdout + stderr:
            fail("traceback", "a traceback was printed")
        if rc == 4:
            m = re.search(r"internal error: ([\w.]+): (.*)", stderr)
            fail("escape", f"exit 4: {m.group(1)}: {m.group(2)[:160]}" if m else "exit 4")
        elif rc is not None and rc >= 0 and rc not in (0, 1, 2, 3):
            fail("exit-code", f"exit {rc}")
        raw = _RAW_ESCAPE.search(stdout + stderr + out_text.decode("utf-8", "replace"))
        if raw:
            fail("raw-escape", f"a raw terminal control character {raw.group(0)!r} from the input reached the output")
        out_kind = setup.get("out_kind")
        if out_kind and not killed and rc is not None:
            want = 2 if out_kind == "empty" else 3
            if rc != want:
                fail("out-not-refused", f"-o naming {OUT_KINDS.get(out_kind, out_kind)}: exit {rc}, want {want} "
                                        "(refused before anything is written)")
        if setup.get("glob_stale") and rc is not None:
            cold = case_dir / "cold"
            cold.mkdir()
            cold_env = dict(env, HOME=str(cold), TMPDIR=str(cold))
            cstatus, _ru, ckilled, _w = self._launch(argv, cwd, cold_env, case_dir / "cold.out", case_dir / "cold.err")
            crc = os.waitstatus_to_exitcode(cstatus)
            if not ckilled and crc != rc:
                fail("stale-cache", f"exit {rc} with the cache, {crc} without it: a file matching a source glob "
                                    "was added and the cache did not see it")
        if rc == 3:
            problem = message_problem(stderr, [*argv, *inputs])
            if problem:
                fail("message", problem)
            if "-o" in argv and not out_existed and os.path.lexists(out_path) and out_path.is_file():
                fail("partial-output", "exit 3 but the -o file exists")
        if rc in (0, 1) and case.json_out:
            try:
                json.loads(stdout)
            except ValueError as exc:
                fail("bad-json", f"--format json output does not parse: {exc}")
        if setup.get("expect_symbols") and rc in (0, 1):
            problem = _nm_mismatch(stdout, setup["expect_symbols"])
            if problem:
                fail("nm-mismatch", problem)
        if rc in (0, 1) and "junit" in argv and "-o" not in argv:
            import xml.etree.ElementTree as ET

            try:
                ET.fromstring(stdout_b)
            except ET.ParseError as exc:
                fail("bad-xml", f"--format junit output is not XML: {exc}")
        for k, p in inputs.items():
            if k in before_inputs:
                try:
                    now = (p.stat().st_mtime_ns, p.stat().st_size, hashlib.sha256(p.read_bytes()).digest())
                except OSError:
                    now = (0, 0, b"")
                if now != before_inputs[k]:
                    fail("input-modified", f"input {p.name} was modified")
        outside = []
        if self.watch_repo:
            outside += diff_snapshots(repo_before, snapshot_tree(REPO))
        outside += [p for p in diff_snapshots(root_before, snapshot_listing(self.root))
                    if not os.path.basename(p).startswith("case-")]
        # /tmp is shared with other users, whose cpualloc runs make the very names cpualloc
        # makes (tests run in-process, without our TMPDIR): what appears there is recorded,
        # not failed (a case's own TMPDIR is its work folder; victim/ and markers/ judge writes)
        tmp_after = snapshot_listing(Path("/tmp"))
        tmp_new = [p for p in tmp_after if p not in tmp_before and _TMP_WATCH.match(os.path.basename(p))]
        if tmp_new:
            res.extra["tmp_new"] = tmp_new[:5]
        marker = self.root / f"shell-marker-{case_dir.name}"
        if marker.exists():
            fail("shell", "a $(shell,...) command ran without --allow-shell")
            marker.unlink()
        if outside:
            res.extra["outside"] = outside[:10]
            fail("wrote-outside", f"files changed outside the case folder: {outside[:3]}")
        return res


# What each -o kind names (out-not-refused): each must be refused with exit 3 (an empty name: 2).
OUT_KINDS = {"symlink": "a planted symlink", "dangling": "a dangling symlink", "fifo": "a FIFO",
             "directory": "a directory", "missing-dir": "a file in a missing directory", "device": "/dev/full",
             "empty": "an empty name"}

# ESC, and the C1 CSI/OSC/DCS introducers as characters: what makes a terminal obey text.
_RAW_ESCAPE = re.compile("[\x1b\x9b\x9d\x90]")


def _nm_mismatch(stdout: str, expect: dict[str, str]) -> str | None:
    """`inspect --symbols --format json` against the nm letters the generator derived (GNU nm's
    rules: fuzz/hostile.py many_sections_elf)."""
    try:
        doc = json.loads(stdout)
        rows = doc["images"][0]["symbols"]["rows"]
        cols = doc["images"][0]["symbols"]["columns"]
        got = {r[cols.index("name")]: r[cols.index("type")] for r in rows}
    except (ValueError, KeyError, IndexError, TypeError):
        return "no symbol table in the JSON output"
    wrong = [f"{n}: {got.get(n, 'missing')} (nm: {letter})" for n, letter in sorted(expect.items())
             if got.get(n) != letter]
    return f"symbols differ from nm: {', '.join(wrong)}" if wrong else None


def _victim_state(case_dir: Path) -> list[tuple[str, int, int, bytes]]:
    """What lies in case_dir/victim (the target of a planted -o symlink): names, inodes, sizes, contents."""
    victim = case_dir / "victim"
    out = []
    if victim.is_dir():
        for p in sorted(victim.iterdir()):
            st = p.lstat()
            out.append((p.name, st.st_ino, st.st_size, p.read_bytes() if p.is_file() else b""))
    return out


def _make_removable(case_dir: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(case_dir, 0o700)


def poison_cache(cache: Path, marker: str) -> list[str]:
    """Be the attacker who can write one file in the cache directory: every entry the first run
    left there is rewritten as a well-formed entry of the pickle format of the unfixed code
    (magic, key, files hash, sha256 of the payload, then the payload) whose payload is a
    pickle that creates `marker`; an entry in any other format gets such a twin beside it
    (`<name>.pickle`). A cache that never unpickles, or authenticates what it reads, ignores it."""
    poisoned = []
    if not cache.is_dir():
        return poisoned
    payload = H.poison_pickle(marker)
    for p in sorted(cache.rglob("*")):
        if not p.is_file() or p.is_symlink():
            continue
        data = p.read_bytes()
        magic = b"cpualloc-kconfig-cache\n"
        key = p.name.split(".", 1)[0]
        if data.startswith(magic):
            parts = data.split(b"\n", 4)
            if len(parts) == 5:
                n_text, _, body = parts[4].partition(b"\n")
                try:
                    n = int(n_text)
                except ValueError:
                    n = 0
                names = body[:n]
                digest = hashlib.sha256(names + payload).hexdigest().encode()
                p.write_bytes(b"\n".join([parts[0], parts[1], parts[2], digest, n_text]) + b"\n" + names + payload)
                poisoned.append(str(p))
                continue
        twin = p.with_name(key + ".pickle")
        if twin == p or twin.exists():
            continue
        digest = hashlib.sha256(payload).hexdigest().encode()
        twin.write_bytes(magic + key.encode() + b"\n" + b"0\n" + digest + b"\n0\n" + payload)
        os.chmod(twin, 0o600)
        poisoned.append(str(twin))
    return poisoned


def preload_cli(code_root: Path | None = None) -> None:
    """--fork mode: import the CLI and every command module once, in the worker, so that each
    case's forked process starts warm (a process per case still; only the imports are shared)."""
    root = str(code_root or REPO)
    sys.path.insert(0, root)
    for name in [m for m in sys.modules if m == "cpualloc_cli" or m.startswith("cpualloc_cli.")]:
        if not str(getattr(sys.modules[name], "__file__", "") or "").startswith(root):
            del sys.modules[name]  # imported from another tree: the cases must run `root`'s code
    import importlib

    from cpualloc_cli.cli import COMMANDS

    for module, _attr, _help in COMMANDS.values():
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    for lib in ("elftools.elf.elffile", "elftools.elf.descriptions", "rich.console", "rich.table",
                "kconfiglib", "zstandard", "lz4.frame", "tomllib"):
        try:
            importlib.import_module(lib)
        except ImportError:
            pass


def _fork_cli(argv: list[str], work: Path, env: dict[str, str], stdout_p: Path, stderr_p: Path) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:  # the child: become one CLI run, then _exit
        os.chdir(work)
        # as `python -m cpualloc_cli` does: the cwd first on sys.path, then the package's
        # __main__ module runs (its top level, without the main() call: it may drop that entry)
        sys.path.insert(0, os.getcwd())
        import runpy

        runpy.run_module("cpualloc_cli.__main__", run_name="cpualloc_fuzz_main")
        os.environ.clear()
        os.environ.update(env)
        tempfile.tempdir = None
        fd_in = os.open(os.devnull, os.O_RDONLY)
        fd_out = os.open(stdout_p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fd_err = os.open(stderr_p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd_in, 0)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        _limits()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.argv = ["cpualloc", *argv]
        from cpualloc_cli.cli import run

        code = run(argv)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - report anything, then leave without cleanup
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


def _clip(text: str) -> str:
    return text if len(text) <= 2000 else text[:1500] + " ... " + text[-500:]


def _wait(pid: int, deadline: float) -> tuple[int, Any, bool]:
    delay = 0.002
    killed = False
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            return status, ru, killed
        if not killed and time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(delay)
        delay = min(delay * 1.5, 0.02)


# Noise on a shared machine (other developers' files, load) must not be reported as a bug:
# these failure kinds are confirmed by one sequential re-run before they count.
CONFIRM = ("timeout", "wrote-outside", "memory")
CONFIRM_FACTOR = 3.0  # the confirmation run's wall deadline, in CASE_SECONDS (see Runner.confirm_factor)

ORIG_CACHE: dict[str, bytes] = {}


# --- minimization -------------------------------------------------------------------------------


def signature(res: Result) -> tuple[str, str]:
    if res.failure == "escape":
        m = re.search(r"exit 4: ([\w.]+)", res.detail)
        return ("escape", m.group(1) if m else "")
    return (res.failure or "", "")


def ddmin(units: list[Any], test: Callable[[list[Any]], bool], budget: Callable[[], bool]) -> list[Any]:
    """Zeller's ddmin: the smallest subset of `units` (kept in order) for which `test` holds."""
    n = 2
    while len(units) >= 2 and budget():
        chunk = max(1, len(units) // n)
        subsets = [units[i:i + chunk] for i in range(0, len(units), chunk)]
        reduced = False
        for i in range(len(subsets)):
            if not budget():
                break
            complement = [u for j, s in enumerate(subsets) if j != i for u in s]
            if complement and test(complement):
                units = complement
                n = max(n - 1, 2)
                reduced = True
                break
        if not reduced:
            if n >= len(units):
                break
            n = min(len(units), n * 2)
    return units


def minimize(runner: Runner, case: Case, first: Result, seconds: float = 60.0, max_runs: int = 80) -> Case:
    want = signature(first)
    deadline = time.monotonic() + seconds
    runs = 0

    def budget() -> bool:
        return runs < max_runs and time.monotonic() < deadline

    def still_fails(data: bytes) -> bool:
        nonlocal runs
        runs += 1
        trial = Case(**{**asdict(case), "data": data})
        res = runner.run(trial)
        return signature(res) == want

    data = case.data
    orig = ORIG_CACHE.get(case.seed_name)
    binary = case.kind in ("elf", "compressed", "ikconfig")
    if binary and orig is not None and len(orig) == len(data):
        # 1. revert every byte the mutations changed that is not needed.
        diffs = [i for i in range(len(data)) if data[i] != orig[i]]
        if 1 < len(diffs) <= 20000:
            def with_diffs(keep: list[int]) -> bytes:
                b = bytearray(orig)
                for i in keep:
                    b[i] = data[i]
                return bytes(b)
            keep = ddmin(diffs, lambda k: still_fails(with_diffs(k)), budget)
            data = with_diffs(keep)
    if binary:
        # 2. cut the tail while it still fails (halving steps).
        step = len(data) // 2
        while step >= 16 and budget():
            if still_fails(data[:len(data) - step]):
                data = data[:len(data) - step]
            else:
                step //= 2
    else:
        lines = data.split(b"\n")
        keep_lines = ddmin(lines, lambda ls: still_fails(b"\n".join(ls)), budget)
        data = b"\n".join(keep_lines)
    return Case(**{**asdict(case), "data": data})


def regression_case(entry: dict[str, Any]) -> Case:
    """The Case an index.json entry describes (its file, command line and kind). A `.gen` file
    is the recipe of a big hostile input: the input is made again (and checked by its sha256)."""
    if entry["file"].endswith(".gen"):
        r = json.loads((REGRESSIONS / entry["file"]).read_text())
        case = make_hostile_case(r["index"], r["seed"], load_corpus(), r["classes"], r.get("variant"))
        if hashlib.sha256(case.data).hexdigest() != r["sha256"]:
            raise ValueError(f"{entry['file']}: the generator now makes another input (sha256 differs); "
                             "regenerate the entry")
        return case
    data = (REGRESSIONS / entry["file"]).read_bytes()
    if entry.get("orig") and entry["orig"] not in ORIG_CACHE:
        for seeds in load_corpus().values():
            for s in seeds:
                ORIG_CACHE.setdefault(s.name, s.data)
    return Case(index=-1, command=entry["argv"][0], kind=entry["kind"], seed_name=entry.get("orig") or "",
                data=data, mutations=[], argv=list(entry["argv"]), tree_file=entry.get("tree_file"),
                setup=dict(entry.get("setup") or {}), cls=entry.get("class"))


def known_key(res: Result) -> str:
    """The failure with the case's own paths and every number taken out, for de-duplication and
    for matching the 'open' entries of the regressions index."""
    detail = re.sub(r"/\S*?/(case-\d+-[\w]+|in|work)/", "<case>/", res.detail.replace(" (on the confirmation run)", ""))
    detail = re.sub(r"(?<![\w.])/[\w./-]+", "<path>", detail)   # other absolute paths
    detail = re.sub(r"(?<!\w)'[^']*'(?!\w)", "'…'", detail)      # quoted names and values
    key = f"{res.failure}: " + re.sub(r"\d+", "N", detail)[:100]
    if res.extra.get("class") and res.mutations:
        # a hostile case: its class and variant belong to the failure ("timeout" alone would
        # make one open entry hide every other hang)
        key += " [" + re.sub(r"\d+", "N", res.mutations[0])[:80] + "]"
    return key


def load_known(path: str | None) -> dict[str, str]:
    """Normalized failure (known_key) -> regression file, for index entries still 'open'."""
    if not path or not os.path.isfile(path):
        return {}
    out = {}
    for e in json.loads(Path(path).read_text()).get("regressions", []):
        if e.get("status") == "open" and e.get("signature"):
            out[e["signature"]] = e["file"]
    return out


# Who fixes a hostile class (issue 17's branches), the default owner of a saved entry.
CLASS_OWNER = {
    "kconfig-macro": "cpualloc_cli/adapters/kconfig.py (seckconfig)",
    "kconfig-tree": "cpualloc_cli/adapters/kconfig.py, adapters/securecache.py (seckconfig)",
    "planted-policy": "cpualloc_cli/adapters/policy.py (secio)",
    "numbers": "cpualloc_cli/model/measures.py, adapters/policy.py, adapters/baseline.py, cli/check_cmd.py (secio)",
    "output-path": "cpualloc_cli/cli/common.py write_atomic (secio)",
    "nonregular": "cpualloc_cli/adapters/decompress.py, elf.py (secbounds); config/policy/baseline readers (secio)",
    "bombs": "cpualloc_cli/adapters/decompress.py, elf.py (secbounds); .config reader (seckconfig)",
    "dwarf": "cpualloc_cli/adapters/dwarf.py (secbounds)",
    "many-sections": "cpualloc_cli/adapters/elf.py (secbounds)",
    "markup": "cpualloc_cli/render/* (formats)",
}

# A hostile input bigger than this is saved as the recipe that makes it (a `.gen` file).
BIG_INPUT_BYTES = 256 << 10


def save_regression(case: Case, res: Result, seed: int) -> str:
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    ext = {"elf": "elf", "compressed": "img", "ikconfig": "img", "config": "config", "policy": "toml",
           "baseline": "json", "kconfig": "Kconfig"}[case.kind]
    digest = hashlib.sha256(case.data).hexdigest()[:10]
    if case.recipe and len(case.data) > BIG_INPUT_BYTES:
        ext = "gen"
        body = json.dumps({**case.recipe, "sha256": hashlib.sha256(case.data).hexdigest(), "kind": case.kind},
                          indent=2, sort_keys=True).encode() + b"\n"
    else:
        body = case.data
    name = f"{case.command}-{digest}.{ext}"
    (REGRESSIONS / name).write_bytes(body)
    index_path = REGRESSIONS / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {"regressions": []}
    if not any(e["file"] == name for e in index["regressions"]):
        index["regressions"].append({
            "file": name,
            "argv": case.argv,
            "kind": case.kind,
            "orig": case.seed_name if "{orig}" in case.argv else None,
            "tree_file": case.tree_file,
            "setup": case.setup,
            "class": case.cls,
            "expect_exit": 3,
            "message": "",
            "found": f"fuzz/run.py --seed {seed}, case {case.index}: {'; '.join(case.mutations)}",
            "was": f"{res.failure}: {res.detail}",
            "signature": known_key(res),
            "status": "open",
            "owner": CLASS_OWNER.get(case.cls or "", "unassigned (see 'was')"),
            "note": f"found by the fuzzer{' (hostile class ' + case.cls + ')' if case.cls else ''}; open until fixed",
        })
        index["regressions"].sort(key=lambda e: e["file"])
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return name


# --- driver ------------------------------------------------------------------------------------------


_worker_runner: Runner | None = None


# (seed, corpus, commands, self_test, hostile share, hostile classes)
RunPlan = tuple[int, dict[str, list[Seed]], list[str], bool, float, list[str] | None]
_worker_plan: RunPlan | None = None


def _init_worker(root: str, cli: list[str], watch_repo: bool, orig: dict[str, bytes], fork: bool,
                 plan: RunPlan, code_root: str | None = None) -> None:
    """Workers make their own cases from (seed, index): the harness stays small, so the
    ru_maxrss of a case (which counts the worker's pages until exec) measures the CLI."""
    global _worker_runner, _worker_plan
    _worker_runner = Runner(Path(root), cli, watch_repo, fork, Path(code_root) if code_root else None)
    _worker_plan = plan
    ORIG_CACHE.update(orig)
    if fork:
        preload_cli(Path(code_root) if code_root else None)
        if any(str(a).endswith("unfenced.py") for a in cli):
            import unfenced  # the same patch fuzz/unfenced.py applies before running the CLI

            unfenced.remove_fence("--no-prechecks" in cli, "--keep-fence" not in cli)


def _settle(res: Result, again: Result) -> None:
    """A suspect (timeout, memory, wrote-outside) after its confirmation run `again`: the same
    failure confirms it (wrote-outside: with a path in common); another failure replaces it
    (a hang that, given time, ends in exit 4 is an exit 4); no failure clears it."""
    same_paths = set(again.extra.get("outside", [])) & set(res.extra.get("outside", []))
    if again.failure == res.failure and (res.failure != "wrote-outside" or same_paths):
        return
    res.extra["unconfirmed"] = f"{res.failure}: {res.detail}"
    if again.failure and again.failure != "wrote-outside":
        res.failure, res.detail = again.failure, again.detail + " (on the confirmation run)"
        res.extra["all_failures"] = again.extra.get("all_failures", [])
    else:
        res.failure, res.detail = None, ""


def _confirm_index(index: int) -> Result:
    assert _worker_runner is not None
    _worker_runner.confirm_factor = CONFIRM_FACTOR
    return _run_index(index)


def _run_index(index: int) -> Result:
    assert _worker_runner is not None and _worker_plan is not None
    seed, corpus, commands, self_test, hostile, classes = _worker_plan
    return _worker_runner.run(make_case(index, seed, corpus, commands, self_test, hostile, classes))


def available(command: str) -> bool:
    import importlib.util

    sys.path.insert(0, str(REPO))
    try:
        return importlib.util.find_spec(f"cpualloc_cli.cli.{command}_cmd") is not None
    finally:
        sys.path.pop(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--commands", default=",".join(COMMANDS),
                    help=f"comma-separated, from {', '.join(COMMANDS + EXTRA_COMMANDS)}")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--only", type=int, action="append", help="run only this case index (repeatable)")
    ap.add_argument("--no-save", action="store_true", help="do not minimize and save failures")
    ap.add_argument("--report", metavar="FILE", help="write a JSON summary (and every failure) to FILE")
    ap.add_argument("--big", action="store_true", help="also use the large seeds (5 MB .o, debian config)")
    ap.add_argument("--no-watch-repo", action="store_true", help="do not snapshot the repo tree per case")
    ap.add_argument("--self-test", action="store_true",
                    help="run against the ELF adapter with its fence removed (fuzz/unfenced.py); succeed "
                         "only if pyelftools escapes are found")
    ap.add_argument("--fork", action="store_true",
                    help="fork each case from a warm process that has imported the CLI (a process per case "
                         "still, with the same limits and checks; about 4x faster; for long runs)")
    ap.add_argument("--cli", help="command prefix to run instead of `python -m cpualloc_cli` (e.g. "
                                   "'python fuzz/unfenced.py --keep-fence --no-prechecks')")
    ap.add_argument("--self-test-mutators", action="store_true",
                    help="make the cases the self-test makes (ELF seeds, inspect, its mutator weights)")
    ap.add_argument("--known", default=str(REGRESSIONS / "index.json"),
                    help="regressions index: failures matching an entry with status 'open' (a known bug "
                         "in someone else's module, listed there) are counted as known, not as failures")
    ap.add_argument("--hostile", action="store_true",
                    help="only the hostile generators (fuzz/hostile.py), no mutation cases")
    ap.add_argument("--hostile-share", type=float, default=HOSTILE_SHARE,
                    help=f"share of hostile cases in a normal run (default {HOSTILE_SHARE})")
    ap.add_argument("--classes", help=f"comma-separated hostile classes, from {', '.join(sorted(H.GENERATORS))}")
    ap.add_argument("--self-test-classes", action="store_true",
                    help="run every variant of every hostile generator against the unfixed code (a git archive "
                         f"of {UNFIXED_COMMIT[:7]}) and succeed only if each shows its class")
    ap.add_argument("--variants", action="store_true",
                    help="every variant of every hostile class once, against this checkout: succeed only if none fails")
    ap.add_argument("--variant-cases", type=int, default=1,
                    help="with --self-test-classes: cases per variant (default 1)")
    ap.add_argument("--no-fork", action="store_true",
                    help="with --self-test-classes: exec `python -m cpualloc_cli` per case (default: --fork)")
    ap.add_argument("--unfixed", metavar="DIR", help="with --self-test-classes: the unfixed tree to use instead "
                                                     "of exporting it from git")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop starting cases after this many seconds, then confirm and summarize the cases run "
                         "(the summary's `cases` says how many)")
    ap.add_argument("--confirm-alone", action="store_true",
                    help="confirm timeouts/memory/wrote-outside suspects one at a time (default: --jobs at a time)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.hostile:
        args.hostile_share = 1.0
    args.class_list = None
    if args.classes:
        args.class_list = [c.strip() for c in args.classes.split(",") if c.strip()]
        unknown = [c for c in args.class_list if c not in H.GENERATORS]
        if unknown:
            ap.error(f"unknown class(es): {', '.join(unknown)}")

    corpus = load_corpus(big=args.big)
    for seeds in corpus.values():
        for s in seeds:
            ORIG_CACHE[s.name] = s.data
    if args.self_test:
        return self_test(args, corpus)
    if args.self_test_classes:
        return self_test_classes(args, corpus)
    if args.variants:
        return variants_pass(args, corpus)
    else:
        commands = [c.strip() for c in args.commands.split(",") if c.strip()]
        bad = [c for c in commands if c not in COMMANDS + EXTRA_COMMANDS]
        if bad:
            ap.error(f"unknown command(s): {', '.join(bad)}")
        missing = [c for c in commands if not available(c)]
        if missing:
            print(f"fuzz: skipping commands not in this checkout: {', '.join(missing)}", file=sys.stderr)
        commands = [c for c in commands if c not in missing]
        cli = [sys.executable, "-m", "cpualloc_cli"]
        if args.cli:
            import shlex

            cli = [sys.executable if w == "python" else w for w in shlex.split(args.cli)]
        if args.self_test_mutators:
            corpus = {"elf": corpus["elf"]}
            commands = ["inspect"]
    if not commands:
        print("fuzz: no commands to run", file=sys.stderr)
        return 2

    summary = campaign(args, corpus, commands, cli, self_test=args.self_test_mutators)
    return 1 if summary["failures"] else 0


def self_test(args: argparse.Namespace, corpus: dict[str, list[Seed]]) -> int:
    """Phase 1: the fence removed (the extent pre-checks kept): reported for information; since
    the adapter parses headers with pyelftools' ELFStructs after checking every extent itself,
    nothing is expected to escape. Phase 2: fence and extent pre-checks removed: the
    pyelftools #612-style escapes (not ELFError: overflow, seek, struct errors) must be
    reported, which proves the harness sees an escape when there is one."""
    args.no_save = True
    elf_only = {"elf": corpus["elf"]}
    wrapper = [sys.executable, str(HERE / "unfenced.py")]
    one = campaign(args, elf_only, ["inspect"], wrapper, self_test=True, report_suffix=".fence")
    two = campaign(args, elf_only, ["inspect"], [*wrapper, "--no-prechecks"], self_test=True,
                   report_suffix=".prechecks")
    ok = bool(two["self_test_non_elferror"])
    verdict = {"self_test": "pass" if ok else "FAIL", "fence_removed": one["self_test_escapes"],
               "fence_and_prechecks_removed": two["self_test_escapes"],
               "non_elferror": two["self_test_non_elferror"]}
    print(json.dumps(verdict, indent=2), file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(verdict, indent=2, sort_keys=True) + "\n")
    return 0 if ok else 1


# The code before issue 17's fixes (main at this commit): what --self-test-classes runs against.
UNFIXED_COMMIT = "f10b75d"


def export_unfixed(dest: Path) -> str | None:
    """Export the tree of UNFIXED_COMMIT into `dest` with `git archive`; None on success, or why
    it cannot be done (no git, no history: a shallow or exported checkout)."""
    import subprocess
    import tarfile

    git = shutil.which("git")
    if git is None:
        return "git is not installed"
    probe = subprocess.run([git, "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"{UNFIXED_COMMIT}^{{commit}}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"commit {UNFIXED_COMMIT} is not in this checkout's history (a shallow clone or an export?)"
    proc = subprocess.run([git, "-C", str(REPO), "archive", "--format=tar", UNFIXED_COMMIT], capture_output=True)
    if proc.returncode != 0:
        return f"git archive {UNFIXED_COMMIT} failed: {proc.stderr.decode(errors='replace').strip()[:200]}"
    import io

    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return None


def _run_variant(job: tuple[str, str, int]) -> tuple[str, str, Result, tuple[str, ...]]:
    assert _worker_runner is not None and _worker_plan is not None
    cls, variant, index = job
    seed, corpus = _worker_plan[0], _worker_plan[1]
    case = make_hostile_case(index, seed, corpus, [cls], variant)
    return cls, variant, _worker_runner.run(case), case.expect


def _run_variants(args: argparse.Namespace, corpus: dict[str, list[Seed]], classes: list[str], code_root: Path,
                  root: Path) -> list[tuple[str, str, Result, tuple[str, ...]]]:
    """One case (--variant-cases) of every variant of `classes`, run against `code_root`."""
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(cls, v, i) for cls in classes for v in H.VARIANTS[cls] for i in range(args.variant_cases)]
    cli = [sys.executable, "-m", "cpualloc_cli"]
    plan: RunPlan = (args.seed, corpus, [], False, 1.0, None)
    init = (str(root), cli, False, dict(ORIG_CACHE), not args.no_fork, plan, str(code_root))
    jobs_n = max(args.jobs, 3)  # hangs (FIFOs) mostly sleep: a third job overlaps them with the quick cases
    import multiprocessing as mp

    with mp.get_context("fork").Pool(jobs_n, initializer=_init_worker, initargs=init) as pool:
        return list(pool.imap_unordered(_run_variant, jobs, chunksize=1))


def variants_pass(args: argparse.Namespace, corpus: dict[str, list[Seed]]) -> int:
    """--variants: every variant of every hostile class once against this checkout's code; pass
    only if none fails (timeouts, memory and wrote-outside confirmed by a sequential re-run, as
    in a campaign; failures matching an 'open' regressions entry counted as known). The fast,
    complete guard CI runs: each class of issue 17 is tried on every run."""
    classes = args.class_list or sorted(H.VARIANTS)
    tmp = Path(tempfile.mkdtemp(prefix="cpualloc-variants-"))
    t0 = time.monotonic()
    try:
        results = _run_variants(args, corpus, classes, REPO, tmp / "cases")
        runner = Runner(tmp / "again", [sys.executable, "-m", "cpualloc_cli"], False, False)
        runner.confirm_factor = CONFIRM_FACTOR
        (tmp / "again").mkdir()
        for cls, variant, res, _expect in results:
            if res.failure in CONFIRM:
                again = runner.run(make_hostile_case(res.index, args.seed, corpus, [cls], variant))
                _settle(res, again)
        known = load_known(getattr(args, "known", None))
        if not args.no_save:  # each new failure saved as an open regression entry
            for cls, variant, res, _expect in results:
                if res.failure and known_key(res) not in known:
                    case = make_hostile_case(res.index, args.seed, corpus, [cls], variant)
                    small = case if len(case.data) > BIG_INPUT_BYTES else minimize(runner, case, res)
                    res.saved = save_regression(small, res, args.seed)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out: dict[str, Any] = {}
    for cls, variant, res, _expect in sorted(results, key=lambda r: (r[0], r[1])):
        status = "ok"
        if res.failure and known_key(res) in known:
            status = f"known open: {known[known_key(res)]}"
        elif res.failure:
            status = f"FAIL {res.failure}: {res.detail[:200]}"
        out[f"{cls}/{variant}"] = {"status": status, "rc": res.rc, "saved": res.saved, "wall_s": res.wall_s, "cpu_s": res.cpu_s,
                                   "maxrss_mib": round(res.maxrss_bytes / (1 << 20), 1), "mutations": res.mutations,
                                   "signature": known_key(res) if res.failure else None}
    failed = sorted(k for k, v in out.items() if v["status"].startswith("FAIL"))
    verdict = {"variants": "FAIL" if failed else "pass", "failed": failed, "elapsed_s": round(time.monotonic() - t0, 1),
               "cases": out}
    if not args.quiet:
        for k, v in out.items():
            print(f"{k:40s} {v['status'][:150]}", file=sys.stderr)
    print(json.dumps({k: v for k, v in verdict.items() if k != "cases"}, indent=2), file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(verdict, indent=2, sort_keys=True) + "\n")
    return 1 if failed else 0


def self_test_classes(args: argparse.Namespace, corpus: dict[str, list[Seed]]) -> int:
    """Every variant of every hostile generator, run through `python -m cpualloc_cli` of the
    unfixed code (UNFIXED_COMMIT, exported with git archive; the harness, its checks and the
    libraries are this checkout's): each variant must show one of the failure kinds its class
    showed there (case.expect). This proves that each generator and each new check finds its
    class, and keeps proving it after the fixes land. Exit 0 on pass; 0 with "skipped" when
    there is no history to export (say so, do not pretend)."""
    classes = args.class_list or sorted(set(H.VARIANTS) - H.SINCE_UNFIXED)
    tmp = Path(tempfile.mkdtemp(prefix="cpualloc-unfixed-"))
    t0 = time.monotonic()
    try:
        if args.unfixed:
            code_root = Path(args.unfixed).resolve()
        else:
            code_root = tmp / "src"
            code_root.mkdir()
            why = export_unfixed(code_root)
            if why:
                verdict: dict[str, Any] = {"self_test_classes": "skipped", "reason": why}
                print(json.dumps(verdict, indent=2), file=sys.stderr)
                if args.report:
                    Path(args.report).write_text(json.dumps(verdict, indent=2, sort_keys=True) + "\n")
                return 0
        results = _run_variants(args, corpus, classes, code_root, tmp / "cases")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    found: dict[str, dict[str, Any]] = {}
    for cls, variant, res, expect in sorted(results, key=lambda r: (r[0], r[1], r[2].index)):
        kinds = list(dict.fromkeys(res.extra.get("all_failures", [])))
        entry = found.setdefault(f"{cls}/{variant}", {"expect": list(expect), "found": [], "cases": []})
        entry["found"] = sorted(set(entry["found"]) | (set(kinds) & set(expect)))
        entry["cases"].append({"argv": res.argv[:1] + [a for a in res.argv[1:] if a.startswith("-")],
                               "mutations": res.mutations, "rc": res.rc, "failures": kinds, "detail": res.detail[:200],
                               "wall_s": res.wall_s})
    missed = sorted(k for k, v in found.items() if not v["found"])
    verdict = {"self_test_classes": "FAIL" if missed else "pass", "unfixed": UNFIXED_COMMIT,
               "variants": len(found), "missed": missed, "elapsed_s": round(time.monotonic() - t0, 1),
               "classes": found}
    if not args.quiet:
        for k, v in sorted(found.items()):
            print(f"{'ok  ' if v['found'] else 'MISS'} {k:40s} found {v['found'] or '-'} "
                  f"(case: {[c['failures'] for c in v['cases']]})", file=sys.stderr)
    print(json.dumps({k: v for k, v in verdict.items() if k != "classes"}, indent=2), file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(verdict, indent=2, sort_keys=True) + "\n")
    return 1 if missed else 0


def campaign(args: argparse.Namespace, corpus: dict[str, list[Seed]], commands: list[str], cli: list[str],
             self_test: bool = False, report_suffix: str = "") -> dict[str, Any]:
    indices = args.only or list(range(args.cases))
    hostile = float(getattr(args, "hostile_share", HOSTILE_SHARE))
    classes = getattr(args, "class_list", None)
    plan: RunPlan = (args.seed, corpus, commands, self_test, hostile, classes)

    def case_of(index: int) -> Case:
        return make_case(index, args.seed, corpus, commands, self_test, hostile, classes)

    root = Path(tempfile.mkdtemp(prefix="cpualloc-fuzz-"))
    watch = not args.no_watch_repo
    t0 = time.monotonic()
    max_seconds = getattr(args, "max_seconds", None)

    def out_of_time() -> bool:
        return max_seconds is not None and time.monotonic() - t0 > max_seconds
    results: list[Result] = []
    try:
        if args.jobs > 1:
            import multiprocessing as mp

            ctx = mp.get_context("fork")
            with ctx.Pool(args.jobs, initializer=_init_worker,
                          initargs=(str(root), cli, watch, dict(ORIG_CACHE), args.fork, plan)) as pool:
                for res in pool.imap_unordered(_run_index, indices, chunksize=1):
                    results.append(res)
                    _progress(res, len(results), len(indices), args.quiet)
                    if out_of_time():
                        pool.terminate()  # the cases under way are dropped; the summary counts the rest
                        break
        else:
            _init_worker(str(root), cli, watch, dict(ORIG_CACHE), args.fork, plan)
            for index in indices:
                res = _run_index(index)
                results.append(res)
                _progress(res, len(results), len(indices), args.quiet)
                if out_of_time():
                    break
        if len(results) < len(indices):
            print(f"fuzz: --max-seconds reached: {len(results)} of {len(indices)} cases run", file=sys.stderr)
        runner = Runner(root, cli, watch, args.fork)
        if args.fork:
            preload_cli()
        suspects = [r for r in results if r.failure in CONFIRM]
        agains: dict[int, Result] = {}
        if suspects and args.jobs > 1 and not args.confirm_alone:
            # confirmed by a second run, `jobs` at a time (on a shared machine, one at a time
            # would take longer than the campaign when there are hundreds of suspects)
            import multiprocessing as mp

            with mp.get_context("fork").Pool(args.jobs, initializer=_init_worker,
                                             initargs=(str(root), cli, watch, dict(ORIG_CACHE), args.fork, plan)) as pool:
                for again in pool.imap_unordered(_confirm_index, [r.index for r in suspects], chunksize=1):
                    agains[again.index] = again
        for res in results:
            if res.failure in CONFIRM:
                if res.index not in agains:
                    runner.confirm_factor = CONFIRM_FACTOR
                    agains[res.index] = runner.run(case_of(res.index))
                    runner.confirm_factor = 1.0
                again = agains[res.index]
                res.retried = True
                _settle(res, again)
        known = load_known(getattr(args, "known", None))
        for res in results:
            if res.failure and known_key(res) in known:
                res.extra["known_open"] = known[known_key(res)]
                res.extra["was"] = f"{res.failure}: {res.detail}"
                res.failure, res.detail = None, ""
        failures = [r for r in results if r.failure]
        if not args.no_save:
            seen: set[str] = set()
            for res in failures:
                if known_key(res) in seen:
                    continue  # one minimized input per distinct failure
                seen.add(known_key(res))
                case = case_of(res.index)
                # a big hostile input (a bomb, a million lines) is saved as its recipe, not minimized
                small = case if case.cls and len(case.data) > BIG_INPUT_BYTES else minimize(runner, case, res)
                res.saved = save_regression(small, res, args.seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.monotonic() - t0
    summary = summarize(results, elapsed, args)
    if self_test:
        escapes = [r for r in results if r.failure == "escape"]
        summary["self_test_escapes"] = sorted({r.detail.split(":")[1].strip() for r in escapes if ":" in r.detail})
        # pyelftools #612: exceptions other than its own ELFError family escaping its parsers
        summary["self_test_non_elferror"] = [t for t in summary["self_test_escapes"] if not t.startswith("ELF")]
    print(json.dumps({k: v for k, v in summary.items() if k != "failures_full"}, indent=2), file=sys.stderr)
    if args.report:
        Path(args.report + report_suffix).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _progress(res: Result, done: int, total: int, quiet: bool) -> None:
    if res.failure in CONFIRM:
        print(f"suspect case {res.index}: {res.failure}: {res.detail} (re-run to confirm at the end)",
              file=sys.stderr, flush=True)
    elif res.failure:
        print(f"FAIL case {res.index} [{res.command}/{res.kind} {res.seed_name}] {res.failure}: {res.detail}\n"
              f"     mutations: {'; '.join(res.mutations)}\n     stderr: {res.stderr_tail.strip()[-300:]}",
              file=sys.stderr, flush=True)
    elif not quiet and done % 100 == 0:
        print(f"fuzz: {done}/{total} cases", file=sys.stderr, flush=True)


def summarize(results: list[Result], elapsed: float, args: argparse.Namespace) -> dict[str, Any]:
    failures = [r for r in results if r.failure]
    slowest = max(results, key=lambda r: r.wall_s) if results else None
    biggest = max(results, key=lambda r: r.maxrss_bytes) if results else None
    by_cmd: dict[str, int] = {}
    by_rc: dict[str, int] = {}
    for r in results:
        by_cmd[r.command] = by_cmd.get(r.command, 0) + 1
        key = str(r.rc) if r.rc is not None else f"signal {r.signal}"
        by_rc[key] = by_rc.get(key, 0) + 1
    classes: dict[str, int] = {}
    for r in results:
        if r.extra.get("class"):
            classes[r.extra["class"]] = classes.get(r.extra["class"], 0) + 1
    kinds: dict[str, int] = {}
    for r in failures:
        kinds[r.failure or ""] = kinds.get(r.failure or "", 0) + 1
    return {
        "seed": args.seed,
        "cases": len(results),
        "cases_asked": len(args.only or range(args.cases)),
        "elapsed_s": round(elapsed, 1),
        "commands": by_cmd,
        "exit_codes": by_rc,
        "hostile_cases": classes,
        "failures": len(failures),
        "failure_kinds": kinds,
        "escapes": kinds.get("escape", 0),
        "timeouts": kinds.get("timeout", 0),
        "unconfirmed_noise": sum(1 for r in results if "unconfirmed" in r.extra),
        "known_open": sorted({r.extra["known_open"] for r in results if "known_open" in r.extra}),
        "slowest_case": {"index": slowest.index, "wall_s": slowest.wall_s, "cpu_s": slowest.cpu_s,
                         "command": slowest.command, "seed": slowest.seed_name} if slowest else None,
        "max_cpu_s": max((r.cpu_s for r in results), default=0.0),
        "peak_rss_mib": round(biggest.maxrss_bytes / (1 << 20), 1) if biggest else 0,
        "peak_rss_case": biggest.index if biggest else None,
        # a case's ru_maxrss also counts the harness worker's pages between fork and exec:
        # this is that floor (the worker's own peak)
        "harness_peak_rss_mib": round(max((r.extra.get("harness_maxrss_bytes", 0) for r in results), default=0)
                                      / (1 << 20), 1),
        "bounds": {"case_seconds": CASE_SECONDS, "cpu_seconds": CPU_SECONDS, "as_bytes": AS_BYTES,
                   "fsize_bytes": FSIZE_BYTES, "rss_bound_bytes": RSS_BOUND_BYTES},
        "failures_full": [asdict(r) for r in failures],
    }


if __name__ == "__main__":
    sys.exit(main())
