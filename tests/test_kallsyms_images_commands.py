"""`diff` and `scale` over real bzImages (no .symtab: symbols from their kallsyms, sizes derived).

Fixtures: tests/fixtures/kallsyms/images/ (tools/kallsyms_fixtures/build_images.sh; see
tests/test_kallsyms_images.py): i386 6.1 bzImages at NR_CPUS=8 and 32, the `nm -n -S` of each
build's vmlinux, and the tree's own scripts/bloat-o-meter over the two vmlinux files
(bloat-o-meter-nr8-nr32.txt, command in its .build.txt).

The derived-size error, as this test states it: a derived size is the distance to the next
symbol, so it takes in the alignment padding after the symbol (at most 3 bytes here: i386 aligns
data to 4, and the text trim of x86 padding leaves at most an SLS int3). Padding that changes
between two builds shows as a delta bloat-o-meter does not list, of at most 4 bytes. So: every row
bloat-o-meter lists is listed with the same old, new and delta; every other row has |delta| <= 4;
the net change is bloat-o-meter's plus those rows' deltas; the Before/After totals are at least
bloat-o-meter's (a derived size is never below st_size for these symbols), the excess being
bytes no symbol's st_size covers (strings, padding, linker labels' spans), printed.
"""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path

import pytest
from conftest import run_cli

IMAGES = Path(__file__).parent / "fixtures" / "kallsyms" / "images"
OLD, NEW = IMAGES / "i386-6.1-nr8" / "bzImage", IMAGES / "i386-6.1-nr32" / "bzImage"
BLOAT = IMAGES / "bloat-o-meter-nr8-nr32.txt"
PADDING = 4  # i386: data aligned to 4 bytes


def _need() -> None:
    if not (OLD.is_file() and NEW.is_file() and BLOAT.is_file()):
        pytest.skip("the kallsyms image fixtures are absent (tools/kallsyms_fixtures/build_images.sh)")


def parse_bloat(text: str) -> tuple[tuple[int, int], dict[str, tuple[str, str, int]], tuple[int, int]]:
    """(up, down), {name: (old, new, delta)}, (before, after) of bloat-o-meter's text."""
    lines = text.splitlines()
    m = re.match(r"add/remove: \d+/\d+ grow/shrink: \d+/\d+ up/down: (\d+)/(-?\d+) \(-?\d+\)$", lines[0])
    assert m, lines[0]
    t = re.match(r"Total: Before=(\d+), After=(\d+), chg [-+]\d+\.\d+%$", lines[-1])
    assert t, lines[-1]
    rows = {}
    for line in lines[2:-1]:
        name, old, new, delta = line.split()
        rows[name] = (old, new, int(delta))
    return (int(m.group(1)), int(m.group(2))), rows, (int(t.group(1)), int(t.group(2)))


def test_diff_of_two_bzimages_against_bloat_o_meter() -> None:
    _need()
    code, out, err = run_cli(["diff", str(OLD), str(NEW), "--format", "bloat-o-meter"])
    assert code == 0, err
    assert "symbol sizes are derived" in err  # said on stderr; stdout is bloat-o-meter's format
    (up, down), ours, (before, after) = parse_bloat(out)
    (want_up, want_down), theirs, (want_before, want_after) = parse_bloat(BLOAT.read_text())
    for name, row in theirs.items():
        assert ours.get(name) == row, name
    extra = {n: r for n, r in ours.items() if n not in theirs}
    assert all(abs(r[2]) <= PADDING for r in extra.values()), extra
    assert (up + down) == (want_up + want_down) + sum(r[2] for r in extra.values())
    assert before >= want_before and after >= want_after
    assert after - before == (want_after - want_before) + sum(r[2] for r in extra.values())
    print(f"bloat-o-meter rows {len(theirs)}, all matched; {len(extra)} more (|delta| <= {PADDING}): {extra}; "
          f"totals {before}/{after} vs {want_before}/{want_after} (+{before / want_before - 1:.1%})")


def test_diff_json_says_sizes_are_derived() -> None:
    _need()
    code, out, err = run_cli(["diff", str(OLD), str(NEW), "--format", "json"])
    assert code == 0, err
    doc = json.loads(out)
    assert any("symbol sizes are derived" in n and "kallsyms" in n for n in doc["notes"])


def _nm_sizes(build: str) -> dict[str, int]:
    """st_size by name from the recorded nm, names folded as bloat-o-meter folds them
    (`.NUMBER` dropped: 6.1 scripts/bloat-o-meter getsizes(), re_NUMBER), sizes summed."""
    out: dict[str, int] = {}
    for line in lzma.decompress((IMAGES / build / "nm.txt.xz").read_bytes()).decode().splitlines():
        f = line.split()
        if len(f) == 4:
            name = re.sub(r"\.\d+", "", f[3])
            out[name] = out.get(name, 0) + int(f[1], 16)
    return out


def test_scale_over_two_bzimages_finds_the_nr_cpus_arrays() -> None:
    """The symbols nm sizes exactly k*NR_CPUS at both builds (k whole) are the ones `scale`
    reports as linear k*NR_CPUS."""
    _need()
    code, out, err = run_cli(["scale", f"{OLD}@8", f"{NEW}@32", "--format", "json"])
    assert code in (0, 1), err
    doc = json.loads(out)
    a, b = _nm_sizes("i386-6.1-nr8"), _nm_sizes("i386-6.1-nr32")
    want = {n: a[n] // 8 for n in a if n in b and a[n] and a[n] % 8 == 0 and b[n] == a[n] // 8 * 32}
    assert "__per_cpu_offset" in want and want["__per_cpu_offset"] == 4  # unsigned long[NR_CPUS]
    got = {s["name"]: s for s in doc["symbols"] if s["status"] == "scaling"}
    assert set(got) == set(want), (set(got) ^ set(want))
    for name, k in want.items():
        assert got[name]["best"]["shape"] == "linear" and got[name]["best"]["formula"] == f"{k}*NR_CPUS", name
    assert any("sizes derived" in n and "kallsyms" in n for n in doc["notes"])
