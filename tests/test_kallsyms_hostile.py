"""Damaged kallsyms tables (issue 16 item 4): exit 3 naming the file, or no kallsyms, never an
exception, a hang or unbounded memory.

The corruptions are the fuzzer's (fuzz/mutators.py kallsyms_table, one class each in
KALLSYMS_CORRUPTIONS), applied to real kernels: the stripped vmlinux inside the i386 bzImage of
tests/fixtures/kallsyms/images/ (6.1 layout, an ELF), and the raw .rodata slices of
tests/fixtures/kallsyms/{i386-6.1-all,i386-6.12}/ (6.1 and 6.12 layouts; there a cut really
truncates the buffer). Where the mutator aims is checked first against GNU nm's kallsyms_*
labels (slice.txt), so a corruption lands in the table it names.

Each class runs in a fresh process started by tests/measured.py and is held to the fuzz
harness's own bounds (fuzz/run.py CASE_SECONDS of CPU, RSS_BOUND_BYTES peak, RLIMIT_AS), once
through find_kallsyms and once through `cpualloc inspect --symbols` by the harness's Runner
(every check of a fuzz case: exit code, traceback, the one-line message naming the file).
"""

from __future__ import annotations

import json
import lzma
import os
import random
import sys
from pathlib import Path

import pytest
from measured import spawn

REPO = Path(__file__).resolve().parents[1]
FIX = REPO / "tests" / "fixtures" / "kallsyms"
sys.path.insert(0, str(REPO / "fuzz"))

import hostile as H  # noqa: E402
import mutators as M  # noqa: E402
import run as fuzz_run  # noqa: E402

SLICES = ("i386-6.1-all", "i386-6.12")
LABELS = {"token_table": "kallsyms_token_table", "token_index": "kallsyms_token_index",
          "markers": "kallsyms_markers", "names": "kallsyms_names", "num_syms": "kallsyms_num_syms",
          "offsets": "kallsyms_offsets", "relative_base": "kallsyms_relative_base",
          "seqs": "kallsyms_seqs_of_names", "addresses": "kallsyms_addresses"}


def _slice(name: str) -> bytes:
    return lzma.decompress((FIX / name / "slice.bin.xz").read_bytes())


def _payload() -> bytes | None:
    images = sorted((FIX / "images").glob("*/bzImage"))
    return fuzz_run.bzimage_payload(images[0].read_bytes()) if images else None


@pytest.mark.parametrize("name", SLICES + ("sparc64-6.1", "arm64-6.1"))
def test_mutator_aims_at_the_tables_nm_names(name: str) -> None:
    """Every table start kallsyms_layout gives (from find_kallsyms' positions) is the address GNU
    nm gives its kallsyms_* label, less the slice's start (both in slice.txt)."""
    rec = {}
    for line in (FIX / name / "slice.txt").read_text().splitlines():
        k, v = line.split(" = ")
        rec[k] = int(v, 16)
    lay = M.kallsyms_layout(_slice(name))
    assert lay is not None
    got = {t: start for t, (start, _len) in lay.tables.items()}
    want = {t: rec[LABELS[t]] - rec["slice_start_address"] for t in got}
    assert got == want
    # the tables do not overlap and each is where the next one's label says it ends, at most
    ends = sorted((s, s + ln) for s, ln in lay.tables.values())
    assert all(e <= s2 for (_, e), (s2, _) in zip(ends, ends[1:], strict=False))


def test_bzimage_payload_is_the_kernel_with_kallsyms() -> None:
    data = _payload()
    if data is None:
        pytest.skip("no bzImage fixture (tools/kallsyms_fixtures/build_images.sh)")
    assert data[:4] == b"\x7fELF"
    lay = M.kallsyms_layout(data)
    assert lay is not None and lay.elf and lay.word == 4


# find_kallsyms on each damaged input, in a fresh process: "none" (no kallsyms), "found",
# "input-error" with the path it names, or anything else (which fails the test)
_DRIVER = r"""
import json, sys, time
from cpualloc_cli.adapters.kallsyms import find_kallsyms
from cpualloc_cli.errors import InputError
out = []
for path in sys.argv[1:]:
    buf = open(path, "rb").read()
    t = time.process_time()
    try:
        k = find_kallsyms(buf, path)
        got = {"outcome": "none" if k is None else "found"}
    except InputError as exc:
        got = {"outcome": "input-error", "path": exc.path, "message": exc.one_line()}
    got["cpu_s"] = time.process_time() - t
    out.append(got)
print(json.dumps(out))
"""


def _inputs(corruption: str, tmp: Path) -> list[tuple[Path, str]]:
    seeds = [(n, _slice(n)) for n in SLICES]
    payload = _payload()
    if payload is not None:
        seeds.append(("bzImage-payload", payload))
    made = []
    for name, data in seeds:
        for k in range(2):
            bad, what = M.kallsyms_table(data, random.Random(f"{corruption}:{k}"), corruption)
            p = tmp / f"{name}-{k}.bin"
            p.write_bytes(bad)
            made.append((p, f"{name}: {what}"))
    return made


@pytest.mark.parametrize("corruption", M.KALLSYMS_CORRUPTIONS)
def test_find_kallsyms_on_damaged_tables(corruption: str, tmp_path: Path) -> None:
    made = _inputs(corruption, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        m = spawn([sys.executable, "-c", _DRIVER, *(str(p) for p, _ in made)], env=env, cwd=tmp_path, stdout=out,
                  stderr=err, deadline_s=4 * fuzz_run.CASE_SECONDS,
                  rlimits={"RLIMIT_AS": fuzz_run.AS_BYTES, "RLIMIT_CPU": 4 * fuzz_run.CPU_SECONDS})
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    assert not m.hung and m.returncode == 0, (m, stderr[-2000:])
    assert m.peak_rss_bytes < fuzz_run.RSS_BOUND_BYTES
    results = json.loads(stdout)
    for (p, what), got in zip(made, results, strict=True):
        # each input alone within the harness's per-case wall bound (CPU time, not wall: the
        # machine is shared)
        assert got["cpu_s"] < fuzz_run.CASE_SECONDS, (what, got)
        if got["outcome"] == "input-error":
            assert got["path"] == str(p) and got["message"].startswith(f"{p}: kallsyms: "), (what, got)
            assert fuzz_run.message_problem(f"cpualloc: error: {got['message']}\n", [str(p)]) is None, (what, got)
        else:
            assert got["outcome"] in ("none", "found"), (what, got)


# What each class must come to on the bzImage payload (6.1 layout, seqs_of_names), with the rng
# seeds above: the decoder reads that far and no further (the outcome is not our output copied:
# it follows from which table the class damages, 6.1 scripts/kallsyms.c:500-624).
@pytest.mark.parametrize(("corruption", "outcome"), [
    ("token-index-range", "none"),   # the token table is found by its index: an index that does not fit is no table
    ("token-no-nul", "none"),        # no 256 strings, so no token table
    ("markers-disagree", "input-error"),
    ("num-syms-huge", "input-error"),
    ("names-length", "input-error"),
    ("names-expand", "input-error"),
    ("addresses-unsorted", "input-error"),
])
def test_damage_ends_where_the_table_says(corruption: str, outcome: str, tmp_path: Path) -> None:
    from cpualloc_cli.adapters.kallsyms import find_kallsyms
    from cpualloc_cli.errors import InputError

    data = _payload()
    if data is None:
        pytest.skip("no bzImage fixture")
    bad, what = M.kallsyms_table(data, random.Random(f"{corruption}:0"), corruption)
    try:
        got = "none" if find_kallsyms(bad, "in.elf") is None else "found"
    except InputError:
        got = "input-error"
    assert got == outcome, what


@pytest.mark.parametrize("corruption", M.KALLSYMS_CORRUPTIONS)
def test_cli_on_damaged_tables(corruption: str, tmp_path: Path) -> None:
    """The hostile kallsyms class's case for this corruption, run by the fuzz harness's Runner
    (`python -m cpualloc_cli`, its limits and every check): no failure."""
    if not _payload():
        pytest.skip("no bzImage fixture")
    corpus = fuzz_run.load_corpus()
    for s in corpus.get("kallsyms", []):
        fuzz_run.ORIG_CACHE[s.name] = s.data
    runner = fuzz_run.Runner(tmp_path, [sys.executable, "-m", "cpualloc_cli"], watch_repo=False)
    for index in range(2):
        case = fuzz_run.make_hostile_case(index, 1, corpus, ["kallsyms"], corruption)
        assert case.cls == "kallsyms" and case.argv[0] in ("inspect", "diff")
        res = runner.run(case)
        assert res.failure is None, (case.mutations, res.argv, res.failure, res.detail, res.stderr_tail)
        assert res.rc in (0, 3), (case.mutations, res.rc, res.stderr_tail)


def test_kallsyms_class_is_registered() -> None:
    assert H.VARIANTS["kallsyms"] == M.KALLSYMS_CORRUPTIONS
    assert "kallsyms" in H.SINCE_UNFIXED


@pytest.mark.parametrize("into", [0, 1, 3])
def test_image_cut_inside_relative_base_is_bad_input(into: int) -> None:
    """6.12 puts kallsyms_offsets and then kallsyms_relative_base after the token index (6.12
    scripts/kallsyms.c:370-495). An image that ends inside relative_base has all the offsets but
    no base: bad input, not the offsets read as absolute addresses (which are sorted too)."""
    from cpualloc_cli.adapters.kallsyms import find_kallsyms
    from cpualloc_cli.errors import InputError

    data = _slice("i386-6.12")
    lay = M.kallsyms_layout(data)
    assert lay is not None
    rb = lay.tables["relative_base"][0]
    with pytest.raises(InputError, match="kallsyms_relative_base runs past the end of the image"):
        find_kallsyms(data[:rb + into], "in.bin")
