"""`cpualloc diff` per-symbol deltas against Linux's own scripts/bloat-o-meter.

Oracle: the output of Linux 6.1's scripts/bloat-o-meter, recorded by
tests/fixtures/diff/regen.sh, on the same inputs. The input to our port is GNU nm's
`nm -S --size-sort` output recorded from the same files (the very list bloat-o-meter reads).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, need_shared
from hypothesis import given
from hypothesis import strategies as st

from cpualloc_cli.analysis.diff import (
    BLOAT_ALL,
    BLOAT_CATEGORIES,
    BLOAT_DATA,
    BLOAT_TEXT,
    compute_bloat,
    fold_name,
)
from cpualloc_cli.model.diff import NmSymbol
from cpualloc_cli.render.diff_text import render_bloat_o_meter

DIFF = FIXTURES / "diff"


def read_nm_size_sort(path: Path) -> list[NmSymbol]:
    """Test-only reader of `nm -S --size-sort` lines: VALUE SIZE TYPE NAME."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        out.append(NmSymbol(parts[3], int(parts[1], 16), parts[2]))
    return out


MODES = {"": [BLOAT_ALL], "-c": list(BLOAT_CATEGORIES), "-d": [BLOAT_DATA], "-t": [BLOAT_TEXT]}


def ours(old: list[NmSymbol], new: list[NmSymbol], mode: str) -> str:
    return "".join(render_bloat_o_meter(compute_bloat(old, new, label, types)) for label, types in MODES[mode])


@pytest.mark.parametrize("mode", ["", "-c", "-d", "-t"])
def test_demo_object_equals_bloat_o_meter(mode: str) -> None:
    old = read_nm_size_sort(DIFF / "demo-v1.nm.txt")
    new = read_nm_size_sort(DIFF / "demo-v2.nm.txt")
    expected = (DIFF / f"demo.bloat{mode}.txt").read_text()
    assert ours(old, new, mode) == expected


def test_demo_object_hand_checked_figures() -> None:
    # By hand from demo.c: grows int[4] -> int[16] (+48), bss_grows long[100] -> long[200] (+800),
    # calls.0 int[2] -> int[4] folded with calls.1 int[3]: 8+12=20 -> 16+12=28.
    old = read_nm_size_sort(DIFF / "demo-v1.nm.txt")
    new = read_nm_size_sort(DIFF / "demo-v2.nm.txt")
    res = compute_bloat(old, new)
    rows = {d.name: d for d in res.deltas}
    assert (rows["grows"].old_bytes, rows["grows"].new_bytes) == (16, 64)
    assert (rows["bss_grows"].old_bytes, rows["bss_grows"].new_bytes) == (800, 1600)
    assert (rows["calls"].old_bytes, rows["calls"].new_bytes) == (20, 28)
    assert rows["only_new"].status == "added" and rows["only_old"].status == "removed"
    assert "linux_banner" not in rows and "same_size" not in rows
    assert not any(n.startswith(("__mod_", "__addressable_")) for n in rows)


@pytest.mark.realkernel
@pytest.mark.parametrize("mode", ["", "-c", "-d", "-t"])
def test_shared_sparc64_pair_equals_bloat_o_meter(mode: str) -> None:
    kernels = need_shared()
    old = read_nm_size_sort(kernels / "sparc64-tiny-nr64" / "nm.txt")
    new = read_nm_size_sort(kernels / "sparc64-tiny-nr256" / "nm.txt")
    expected = (DIFF / f"sparc64-nr64-nr256.bloat{mode}.txt").read_text()
    assert ours(old, new, mode) == expected


@pytest.mark.realkernel
def test_shared_pair_headline() -> None:
    # The recorded bloat-o-meter line, and trap_block: 64*256 -> 256*256 bytes (256 B per CPU).
    kernels = need_shared()
    res = compute_bloat(read_nm_size_sort(kernels / "sparc64-tiny-nr64" / "nm.txt"),
                        read_nm_size_sort(kernels / "sparc64-tiny-nr256" / "nm.txt"))
    s = res.summary
    assert (s.added, s.removed, s.grown, s.shrunk, s.up_bytes, s.down_bytes) == (0, 0, 127, 5, 104524, 48)
    assert (s.old_total_bytes, s.new_total_bytes) == (1568826, 1673302)
    assert res.deltas[0].name == "trap_block"
    assert (res.deltas[0].old_bytes, res.deltas[0].new_bytes) == (64 * 256, 256 * 256)


def test_fold_name_is_bloat_o_meters_regex() -> None:
    assert fold_name("calls.0") == "calls"
    assert fold_name("foo.constprop.0.isra.3") == "foo.constprop.isra"
    assert fold_name("a.1b") == "ab"  # re.sub(r'\.[0-9]+', '', ...) removes it anywhere
    assert fold_name("plain") == "plain"


names = st.text(alphabet="abc._0123", min_size=1, max_size=6).filter(lambda s: ":" not in s)
syms = st.lists(st.tuples(names, st.integers(1, 1000), st.sampled_from("tTdDbBrRWVUa")), max_size=25)


@given(syms, syms)
def test_summary_counts_are_consistent(old_raw: list[tuple[str, int, str]], new_raw: list[tuple[str, int, str]]) -> None:
    old = [NmSymbol(n, s, t) for n, s, t in old_raw]
    new = [NmSymbol(n, s, t) for n, s, t in new_raw]
    res = compute_bloat(old, new)
    s = res.summary
    # up - down is the change of the totals; every counted name appears once.
    assert s.up_bytes - s.down_bytes == s.new_total_bytes - s.old_total_bytes
    assert sum(d.delta_bytes for d in res.deltas) == s.net_bytes
    assert len({d.name for d in res.deltas}) == len(res.deltas)
    assert s.added == sum(1 for d in res.deltas if d.old_bytes is None)
    assert s.removed == sum(1 for d in res.deltas if d.new_bytes is None)
    # descending by (delta, name), as bloat-o-meter's sort()+reverse()
    keys = [(d.delta_bytes, d.name) for d in res.deltas]
    assert keys == sorted(keys, reverse=True)


# --- through the real ELF adapter: our symbol table must give bloat-o-meter the same input ---


def _as_set(syms: list[NmSymbol]) -> list[tuple[str, int, str]]:
    return sorted((s.name, s.size_bytes, s.nm_type) for s in syms)


def test_size_sort_of_demo_objects_equals_nm() -> None:
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.diff import compute_size_sort

    for v in (1, 2):
        image = load_image(str(DIFF / f"demo-v{v}.o"))
        assert _as_set(list(compute_size_sort(image))) == _as_set(read_nm_size_sort(DIFF / f"demo-v{v}.nm.txt"))


@pytest.mark.realkernel
def test_compute_diff_on_shared_pair_equals_bloat_o_meter(kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.diff import compute_diff, compute_size_sort
    from cpualloc_cli.analysis.extent import compute_extents
    from cpualloc_cli.analysis.sizes import compute_berkeley

    kernels = need_shared()
    old = load_image(str(kernel_vmlinux("sparc64-tiny-nr64")))
    new = load_image(str(kernel_vmlinux("sparc64-tiny-nr256")))
    assert _as_set(list(compute_size_sort(old))) == _as_set(read_nm_size_sort(kernels / "sparc64-tiny-nr64" / "nm.txt"))
    rep = compute_diff(old, new, compute_berkeley(old), compute_berkeley(new),
                       compute_extents(old)[0], compute_extents(new)[0])
    assert render_bloat_o_meter(rep.bloat) == (DIFF / "sparc64-nr64-nr256.bloat.txt").read_text()
    # Berkeley deltas against the recorded GNU `size` lines of both images
    sizes = {}
    for name in ("sparc64-tiny-nr64", "sparc64-tiny-nr256"):
        sizes[name] = [int(x) for x in (kernels / name / "size.txt").read_text().splitlines()[1].split()[:3]]
    m = {d.measure: d for d in rep.measures}
    assert [m["text"].old_bytes, m["data"].old_bytes, m["bss"].old_bytes] == sizes["sparc64-tiny-nr64"]
    assert [m["text"].new_bytes, m["data"].new_bytes, m["bss"].new_bytes] == sizes["sparc64-tiny-nr256"]
    # sections: .bss from `readelf -S`: 0x12470 -> recorded in the nr256 listing
    secs = {s.name: s for s in rep.sections}
    assert secs[".bss"].old_bytes == 0x12470
    # kinds: nm says `B trap_block` (bss, section 26 = .bss in readelf -s), +49152
    kinds = {k.kind.value: k for k in rep.kinds}
    assert kinds["bss"].new_symbol_bytes - kinds["bss"].old_symbol_bytes >= 49152
    assert kinds["bss"].delta_bytes == 0x23460 - 0x12470  # .bss section sizes from readelf -S
    by = {d.name: d for d in rep.bloat.deltas}
    assert by["trap_block"].kind.value == "bss"
    assert by["rcu_gp_init"].kind.value == "text"


ELF_FIXTURES = FIXTURES / "elf"


def _elf_fixtures() -> list[tuple[Path, Path]]:
    import json

    index = ELF_FIXTURES / "index.json"
    if not index.is_file():
        return []
    out = []
    for fx in json.loads(index.read_text())["fixtures"]:
        path = ELF_FIXTURES / fx["file"]
        nm = path.parent / "nm.txt"
        if path.is_file() and nm.is_file():
            out.append((path, nm))
    return out


@pytest.mark.parametrize("path,nm", _elf_fixtures(), ids=lambda p: p.parent.name if p.name != "nm.txt" else "")
def test_size_sort_equals_nm_on_every_elf_fixture(path: Path, nm: Path) -> None:
    # GNU nm -S --size-sort recorded beside each fixture by tests/fixtures/elf/make_fixtures.py
    from cpualloc_cli.adapters.image import load_image
    from cpualloc_cli.analysis.diff import compute_size_sort

    assert _as_set(list(compute_size_sort(load_image(str(path))))) == _as_set(read_nm_size_sort(nm))
