"""The fuzz harness (fuzz/run.py): the CI slice, its self-test, and proof that each of its
failure checks fires (each run against a stand-in CLI that misbehaves in exactly one way)."""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

FUZZ = REPO / "fuzz"
sys.path.insert(0, str(FUZZ))
import hostile as H  # noqa: E402
import mutators as M  # noqa: E402
import run as fuzz_run  # noqa: E402

SLICE_CASES = 150
SLICE_SEED = 7


def test_ci_slice(tmp_path: Path) -> None:
    """Fixed seed, every command that exists, a process per case forked from a warm worker that
    has imported the CLI (`--fork`: `python -m cpualloc_cli`'s __main__ runs in each child; the
    mutation cases only: the hostile classes run in test_every_hostile_variant_passes)."""
    report = tmp_path / "slice.json"
    proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--cases", str(SLICE_CASES), "--seed",
                           str(SLICE_SEED), "--hostile-share", "0", "--no-save", "--quiet", "--fork",
                           "--report", str(report)],
                          capture_output=True, text=True, timeout=900)
    summary = json.loads(report.read_text())
    failures = [f"case {f['index']} {f['command']}/{f['kind']} {f['failure']}: {f['detail']}\n  {f['mutations']}"
                for f in summary["failures_full"]]
    assert summary["cases"] == SLICE_CASES
    assert summary["failures"] == 0, "\n".join(failures) + proc.stderr[-3000:]
    assert proc.returncode == 0
    wanted = {c for c in fuzz_run.COMMANDS if fuzz_run.available(c)}
    assert set(summary["commands"]) == wanted
    # the slice exercises both outcomes: reports and clean exit-3 rejections
    assert summary["exit_codes"].get("3", 0) > 0 and summary["exit_codes"].get("0", 0) > 0


def test_self_test_finds_the_pyelftools_escapes(tmp_path: Path) -> None:
    """Fence and extent pre-checks removed: the non-ELFError exceptions (#612: seek errors,
    overflow, ...) escape and the harness reports them. With the pre-checks kept, the fence
    has nothing left to catch on these inputs: every extent is checked before parsing."""
    report = tmp_path / "self.json"
    proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--self-test", "--fork", "--cases", "80",
                           "--seed", "1", "--quiet", "--report", str(report)],
                          capture_output=True, text=True, timeout=900)
    verdict = json.loads(report.read_text())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert verdict["self_test"] == "pass"
    assert verdict["fence_and_prechecks_removed"], "no escape found with the fence and pre-checks removed"
    assert set(verdict["non_elferror"]) & {"KeyError", "error", "OverflowError", "ValueError", "IndexError",
                                           "TypeError", "AttributeError", "UnicodeDecodeError", "StreamError"}


def test_self_test_classes_finds_each_class_on_the_unfixed_code(tmp_path: Path) -> None:
    """Every variant of every hostile generator (fuzz/hostile.py), run against a git archive of
    the code before issue 17's fixes, shows the failure its class showed there: a code-exec
    marker, a leaked secret, a replaced victim file, a hang, a raw ESC, JSON/XML that does not
    parse, exit 4... Skips (with the reason) only when the checkout has no history."""
    report = tmp_path / "classes.json"
    proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--self-test-classes", "--quiet", "--report",
                           str(report)], capture_output=True, text=True, timeout=900)
    verdict = json.loads(report.read_text())
    if verdict["self_test_classes"] == "skipped":
        pytest.skip(verdict["reason"])
    assert proc.returncode == 0 and verdict["self_test_classes"] == "pass", (verdict["missed"], proc.stderr[-3000:])
    assert set(verdict["classes"]) == {f"{c}/{v}" for c, vs in H.VARIANTS.items() for v in vs}


# --- the message rule -----------------------------------------------------------------------

P = "/x/in/input.elf"


@pytest.mark.parametrize("stderr", [
    f"cpualloc: error: {P}: section [3] .data (offset 5, size 9) extends beyond the end of the file (10 bytes); hint\n",
    f"cpualloc: error: {P}:12: CONFIG_X: value 'q' is not a number\n",
    f"cpualloc: warning: something\ncpualloc: error: {P}: not JSON: Expecting value: line 1 column 1 (char 0)\n",
])
def test_message_rule_accepts_clear_messages(stderr: str) -> None:
    assert fuzz_run.message_problem(stderr, [P]) is None


@pytest.mark.parametrize(("stderr", "why"), [
    ("cpualloc: error: internal error: KeyError: 'x'; this is a bug\n", "does not start with the input's path"),
    (f"cpualloc: error: {P}: malformed ELF (headers): 'sh_type'; the file is corrupt\n", "bare"),
    (f"cpualloc: error: {P}: malformed ELF (headers): 12\n", "bare detail"),
    (f"cpualloc: error: {P}: malformed ELF (headers): unpack requires a buffer of 4 bytes\n", "library exception"),
    (f"cpualloc: error: {P}: malformed ELF (headers): seek out of range\n", "library exception"),
    (f"cpualloc: error: {P}: unexpected error while reading\n", "generic"),
    (f"cpualloc: error: {P}: bad\ncpualloc: error: {P}: bad again\n", "2 error lines"),
    (f"cpualloc: error: {P}: ok message\n  File \"x.py\", line 3\n", "stray stderr line"),
    ("cpualloc: error: /elsewhere: cannot parse Kconfig\n", "does not start with the input's path"),
])
def test_message_rule_rejects_generic_messages(stderr: str, why: str) -> None:
    problem = fuzz_run.message_problem(stderr, [P])
    assert problem is not None and why in problem


# --- mutators ------------------------------------------------------------------------------------


def test_header_field_mutation_sets_a_boundary_value() -> None:
    data = (REPO / "tests" / "fixtures" / "elf" / "x86_64-smp" / "vmlinux").read_bytes()
    rng = random.Random(3)
    for _ in range(50):
        out, what = M.elf_header_field(data, rng)
        name, value = what.removeprefix("elf header ").split("=")
        off, width = M.elf_layout(data).header_fields[name]  # type: ignore[union-attr]
        code = {2: "<H", 4: "<I", 8: "<Q"}[width]
        assert struct.unpack_from(code, out, off)[0] == int(value, 16)
        assert len(out) == len(data)
        assert out[:off] == data[:off] and out[off + width:] == data[off + width:]


@pytest.mark.parametrize("name", ["payload.elf.gz", "payload.elf.xz", "payload.elf.bz2", "payload.elf.lzma"])
def test_payload_mutation_recompresses_a_mutated_elf(name: str) -> None:
    import bz2
    import gzip
    import lzma

    data = (REPO / "tests" / "fixtures" / "compressed" / name).read_bytes()
    unpack = {"gz": gzip.decompress, "xz": lzma.decompress, "bz2": bz2.decompress,
              "lzma": lambda b: lzma.decompress(b, format=lzma.FORMAT_ALONE)}[name.rsplit(".", 1)[1]]
    original = unpack(data)
    changed = 0
    for seed in range(8):
        out, what = M.compressed_payload(data, random.Random(seed))
        assert what.startswith("payload ELF: ")
        inner = unpack(out)  # still a valid stream of the same codec
        changed += inner != original
    assert changed >= 6


def test_case_generation_never_crashes() -> None:
    """The full run makes all its cases up front: a mutator that raises would lose the run."""
    corpus = fuzz_run.load_corpus()
    for seed in (1, 2):
        for i in range(3000):
            case = fuzz_run.make_case(i, seed, corpus, list(fuzz_run.COMMANDS))
            assert case.argv[0] in fuzz_run.COMMANDS or (case.cls and case.argv[0] == "scale")


def test_cases_are_reproducible_from_seed_and_index() -> None:
    corpus = fuzz_run.load_corpus()
    a = fuzz_run.make_case(17, 5, corpus, list(fuzz_run.COMMANDS))
    b = fuzz_run.make_case(17, 5, corpus, list(fuzz_run.COMMANDS))
    c = fuzz_run.make_case(18, 5, corpus, list(fuzz_run.COMMANDS))
    assert (a.data, a.argv, a.mutations) == (b.data, b.argv, b.mutations)
    assert (a.data, a.argv) != (c.data, c.argv)


# --- each failure check fires --------------------------------------------------------------------

INSPECT_CASE = fuzz_run.Case(index=0, command="inspect", kind="elf", seed_name="x", data=b"\x7fELF" + b"\0" * 60,
                             mutations=["test"], argv=["inspect", "{in}"])

STAND_INS = {
    "escape": "import sys; sys.stderr.write('cpualloc: error: internal error: KeyError: 3; bug\\n'); sys.exit(4)",
    "traceback": "raise KeyError(3)",
    "message": "import sys; sys.stderr.write('cpualloc: error: ' + sys.argv[2] + ': malformed ELF (x): 3\\n'); "
               "sys.exit(3)",
    "timeout": "import time; time.sleep(5)",
    "memory": "import sys; b = bytearray(int(sys.argv[1])); b[::4096] = b'x' * len(b[::4096])",
    "input-modified": "import sys; open(sys.argv[2], 'ab').write(b'x')",
    "wrote-outside": "import os; open(os.path.join(os.getcwd(), '..', '..', 'stray-file'), 'w').write('x')",
    "signal": "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
}


@pytest.mark.parametrize("kind", sorted(STAND_INS))
def test_harness_flags(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    # A child forked from this (large, late-in-the-session) pytest process starts with the
    # parent's pages in its RSS, and ru_maxrss counts them: the bound sits above the parent's
    # peak, and the memory stand-in allocates past it.
    bound = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + (100 << 20)
    # The memory stand-in touches every page of about a gigabyte (the bound sits above a large
    # pytest's peak); on a loaded 2-core machine that alone can pass 1 s, and the harness would
    # then report a timeout, not the memory it is being tested for. Only the timeout stand-in
    # needs the short case time.
    monkeypatch.setattr(fuzz_run, "CASE_SECONDS", 60.0 if kind == "memory" else 1.0)
    monkeypatch.setattr(fuzz_run, "RSS_BOUND_BYTES", bound)
    extra = [str(bound + (64 << 20))] if kind == "memory" else []
    runner = fuzz_run.Runner(tmp_path, [sys.executable, "-c", STAND_INS[kind], *extra], watch_repo=False)
    res = runner.run(INSPECT_CASE)
    assert res.failure == kind, (res.failure, res.detail, res.stderr_tail)


def test_harness_passes_a_well_behaved_cli(tmp_path: Path) -> None:
    good = ("import sys; sys.stderr.write('cpualloc: error: ' + sys.argv[2] + ': not an ELF file (no magic)\\n'); "
            "sys.exit(3)")
    res = fuzz_run.Runner(tmp_path, [sys.executable, "-c", good], watch_repo=False).run(INSPECT_CASE)
    assert res.failure is None and res.rc == 3
    assert os.listdir(tmp_path) == []  # the case folder is removed


# --- the hostile generators' own pieces --------------------------------------------------------


def test_bombs_decode_to_the_size_they_claim() -> None:
    """The bombs are made from repeated deflate blocks (cheap to make): they must be valid
    streams of exactly the stated size, or the fuzzer tests a corrupt-stream path instead."""
    import gzip
    import zlib

    z = H.zlib_bomb(3)
    d = zlib.decompressobj()
    n = len(d.decompress(z, 0)) + len(d.flush())
    assert d.eof and n == 3 << 20  # the Adler-32 checked by zlib, 3 MiB of zeros
    head = b"\x7fELF" + bytes(range(60))
    g = H.gzip_bomb(head, 2, pad=100)
    out = gzip.GzipFile(fileobj=__import__("io").BytesIO(g[:-100])).read()
    assert out[:64] == head and len(out) == 64 + (2 << 20) and not out[64:].strip(b"\0")


def test_appended_sections_and_dwarf_parse_as_intended() -> None:
    """append_sections keeps the old sections and adds the new ones; the 'plain' DWARF
    variant is well formed (pyelftools walks it and finds the variable's struct type)."""
    import io

    from elftools.elf.elffile import ELFFile

    base = (REPO / "tests" / "fixtures" / "elf" / "x86_64-smp" / "vmlinux").read_bytes()
    abbrev, info, _ = H.dwarf_sections("plain", random.Random(1))
    data = H.append_sections(base, [H.NewSection(b".debug_info", data=info), H.NewSection(b".debug_abbrev", data=abbrev)],
                             null_sections=3)
    old = [s.name for s in ELFFile(io.BytesIO(base)).iter_sections()]
    elf = ELFFile(io.BytesIO(data))
    names = [s.name for s in elf.iter_sections()]
    assert names[:len(old)] == old and names[len(old):] == [".debug_info", ".debug_abbrev", "", "", "",
                                                            ".shstrtab.fuzz"]
    dies = list(next(elf.get_dwarf_info().iter_CUs()).iter_DIEs())
    var = next(d for d in dies if d.tag == "DW_TAG_variable")
    assert var.attributes["DW_AT_name"].value == b"percpu_thing"
    struct_die = var.get_DIE_from_attribute("DW_AT_type")
    assert struct_die.tag == "DW_TAG_structure_type"
    assert [c.tag for c in struct_die.iter_children()] == ["DW_TAG_member"]


@pytest.mark.skipif(not __import__("shutil").which("nm"), reason="GNU nm (binutils) is not installed")
def test_many_sections_oracle_is_gnu_nm(tmp_path: Path) -> None:
    """The letters the many-sections generator expects are GNU nm's, not our own guess."""
    data, expect = H.many_sections_elf(65530, (65521, 65522))
    obj = tmp_path / "many.o"
    obj.write_bytes(data)
    out = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    assert {ln.split()[2]: ln.split()[1] for ln in out.splitlines()} == expect


def test_poison_pickle_runs_when_loaded(tmp_path: Path) -> None:
    """The planted cache payload really is code execution (so a missing marker means the
    cache did not load it, not that the payload was inert)."""
    import pickle

    marker = tmp_path / "marker"
    pickle.loads(H.poison_pickle(str(marker)))  # noqa: S301 - the point of the test
    assert marker.exists()


def test_every_hostile_variant_makes_a_case() -> None:
    corpus = fuzz_run.load_corpus()
    for cls, variants in H.VARIANTS.items():
        for v in variants:
            case = fuzz_run.make_hostile_case(0, 1, corpus, [cls], v)
            assert case.cls == cls and case.expect and case.argv[0] in fuzz_run.COMMANDS + ("scale",)
    shares = [fuzz_run.make_case(i, 3, corpus, list(fuzz_run.COMMANDS)).cls is not None for i in range(400)]
    assert 40 < sum(shares) < 130  # about HOSTILE_SHARE of a normal run


# --- each new security check fires -----------------------------------------------------------

SECURITY_STAND_INS = {
    # (stand-in CLI, case setup, argv)
    "env-leak": (f"import os; print(os.environ[{H.SECRET_ENV!r}])", {}, ["config", "--config", "{in}"]),
    "raw-escape": ("print('name \\x1b[2J')", {}, ["config", "--config", "{in}"]),
    "bad-xml": ("print('<testsuites><testsuite>')", {}, ["check", "--config", "{in}", "--format", "junit"]),
    "code-exec": ("open('../markers/kconfigfunctions', 'w')", {"plant_kconfigfunctions": True},
                  ["config", "--config", "{in}"]),
    "victim-changed": ("import sys; open(sys.argv[5], 'w').write('x')", {"out_kind": "symlink"},
                       ["config", "--config", "{in}", "-o", "{out}"]),
    "out-not-refused": ("pass", {"out_kind": "fifo"}, ["config", "--config", "{in}", "-o", "{out}"]),
    "planted-policy": ("import sys, os; sys.stderr.write('cpualloc: error: ' + os.path.abspath('../../cpualloc.toml') + "
                       "': fail_on: bad\\n'); sys.exit(3)", {"plant_policy": ["cpualloc.toml", "x = 1"]},
                       ["check", "--config", "{in}"]),
    "outside-read": (f"print({H.OUTSIDE_TOKEN!r})", {}, ["config", "--config", "{in}"]),
    "nm-mismatch": ("import json; print(json.dumps({'images': [{'symbols': {'columns': ['address', 'size_bytes', "
                    "'type', 'name'], 'rows': [[0, 8, 'C', 'fuzz_sym_65522']]}}]}))",
                    {"expect_symbols": {"fuzz_sym_65521": "D", "fuzz_sym_65522": "D"}},
                    ["inspect", "{in}", "--symbols", "--format", "json"]),
}


@pytest.mark.parametrize("kind", sorted(SECURITY_STAND_INS))
def test_security_checks_fire(kind: str, tmp_path: Path) -> None:
    code, setup, argv = SECURITY_STAND_INS[kind]
    case = fuzz_run.Case(index=0, command=argv[0], kind="config", seed_name="x", data=b"CONFIG_SMP=y\n",
                         mutations=["test"], argv=argv, setup=setup)
    runner = fuzz_run.Runner(tmp_path, [sys.executable, "-c", code], watch_repo=False)
    res = runner.run(case)
    assert kind in res.extra.get("all_failures", []), (res.failure, res.detail, res.stderr_tail)


def test_security_checks_pass_a_well_behaved_cli(tmp_path: Path) -> None:
    """The same scenarios, a CLI that refuses the -o symlink with exit 3 and prints nothing
    hostile: no failure (the checks do not fire on their own)."""
    good = ("import sys; sys.stderr.write('cpualloc: error: ' + sys.argv[5] + ': is a symbolic link; no\\n'); "
            "sys.exit(3)")
    case = fuzz_run.Case(index=0, command="config", kind="config", seed_name="x", data=b"CONFIG_SMP=y\n",
                         mutations=["test"], argv=["config", "--config", "{in}", "-o", "{out}"],
                         setup={"out_kind": "symlink", "plant_kconfigfunctions": True})
    res = fuzz_run.Runner(tmp_path, [sys.executable, "-c", good], watch_repo=False).run(case)
    assert res.failure is None and res.rc == 3, (res.failure, res.detail)


def test_every_hostile_variant_passes(tmp_path: Path) -> None:
    """Every variant of every hostile class (fuzz/hostile.py) once, against this checkout: no
    failure, except those listed as open in tests/regressions/index.json (strict xfails there).
    This is what makes CI, not an attacker, catch a regression of issue 17's fixes."""
    report = tmp_path / "variants.json"
    proc = subprocess.run([sys.executable, str(FUZZ / "run.py"), "--variants", "--no-save", "--quiet", "--report",
                           str(report)], capture_output=True, text=True, timeout=900)
    verdict = json.loads(report.read_text())
    assert set(verdict["cases"]) == {f"{c}/{v}" for c, vs in H.VARIANTS.items() for v in vs}
    failed = {k: v["status"] for k, v in verdict["cases"].items() if v["status"].startswith("FAIL")}
    assert not failed and proc.returncode == 0, (failed, proc.stderr[-2000:])
