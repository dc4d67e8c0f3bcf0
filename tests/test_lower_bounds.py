"""cpualloc_cli/data/lower_bounds.toml against the builds it was made from.

Every measured figure is worked out here, by hand, from the GNU binutils output that
tools/lower_bounds/build.sh recorded next to itself (size, readelf -S, readelf -s), never from
cpualloc. Structural floors are checked against the Linux source lines they cite (when a 6.1 tree is
given) and against every measured kernel. With ../shared present, the shared kernels built with the
same (or a larger) recipe must be at least as large as the bounds.
"""

from __future__ import annotations

import lzma
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, need_linux_tree, need_shared

TOML = REPO / "cpualloc_cli" / "data" / "lower_bounds.toml"
TOOLS = REPO / "tools" / "lower_bounds"

# Where each arch's loader mapping starts, from the kernel source (Debian linux-source-6.1):
KERNBASE = 0x400000  # arch/sparc/include/asm/head_64.h:15  #define KERNBASE 0x400000
START_KERNEL_MAP = 0xFFFFFFFF80000000  # arch/x86/include/asm/page_64_types.h:50
SPARC64_TEXTSTART = 0x404000  # arch/sparc/kernel/vmlinux.lds.S:18  #define TEXTSTART 0x...404000


def load() -> list[dict[str, Any]]:
    with TOML.open("rb") as f:
        doc = tomllib.load(f)
    bounds = doc["bound"]
    assert isinstance(bounds, list) and bounds
    return bounds


BOUNDS = load()
MEASURED = [b for b in BOUNDS if b["kind"] == "measured"]
STRUCTURAL = [b for b in BOUNDS if b["kind"] == "structural"]


def by_id(ident: str) -> dict[str, Any]:
    for b in BOUNDS:
        if b["id"] == ident:
            return b
    pytest.fail(f"no bound {ident} in {TOML.name}")


# --- parsing the recorded GNU output, independently of tools/lower_bounds/to_toml.py ---

def size_berkeley(text: str) -> dict[str, int]:
    """GNU size's Berkeley table: 'text data bss dec hex filename' and one row."""
    head, row = text.strip().splitlines()[:2]
    cols = head.split()
    vals = row.split()
    assert cols[:5] == ["text", "data", "bss", "dec", "hex"]
    out = {c: int(v) for c, v in zip(cols[:4], vals[:4], strict=True)}
    assert int(vals[4], 16) == out["dec"]  # size's own hex column agrees with its dec column
    return out


def readelf_symbols(text: str) -> dict[str, int]:
    """readelf -s -W rows: 'Num: Value Size Type Bind Vis Ndx Name'."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 8 and re.fullmatch(r"\d+:", f[0]):
            out.setdefault(f[7], int(f[1], 16))
    return out


def readelf_section_size(text: str, name: str) -> int | None:
    for line in text.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s", line)
        if m and m.group(1) == name:
            return int(m.group(2), 16)
    return None


def config_values(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"CONFIG_(\w+)=(.*)", line)
        if m:
            out[m.group(1)] = m.group(2).strip('"')
        m = re.fullmatch(r"# CONFIG_(\w+) is not set", line)
        if m:
            out[m.group(1)] = "n"
    return out


def build_info(text: str) -> dict[str, str]:
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith(" "))


def recorded(b: dict[str, Any]) -> Path:
    return REPO / b["recorded"]


def loader_start(arch: str, cfg: dict[str, str]) -> int | None:
    if arch == "sparc64":
        return KERNBASE
    if arch == "x86_64":
        return START_KERNEL_MAP  # LOAD_OFFSET, arch/x86/kernel/vmlinux.lds.S:21
    if arch == "i386":
        return int(cfg["PAGE_OFFSET"], 16)  # LOAD_OFFSET = __PAGE_OFFSET = CONFIG_PAGE_OFFSET
    return None


def align_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


# --- the table itself ---

def test_there_are_measured_sparc64_bounds() -> None:
    ids = {b["id"] for b in MEASURED}
    assert {"sparc64-6.1-smp", "sparc64-6.1-up"} <= ids


def test_ids_unique_and_kinds_known() -> None:
    ids = [b["id"] for b in BOUNDS]
    assert len(ids) == len(set(ids))
    assert {b["kind"] for b in BOUNDS} <= {"measured", "structural"}


def test_arch_names_are_cpualloc_arches() -> None:
    from cpualloc_cli.model.arches import ARCHES

    for b in BOUNDS:
        assert b["arch"] in ARCHES, b["id"]


def test_every_entry_has_a_source() -> None:
    for b in MEASURED:
        assert b["source"].strip(), b["id"]
        assert "tools/lower_bounds/build.sh" in b["source"]
    for b in STRUCTURAL:
        assert b["sources"], b["id"]
        for s in b["sources"]:
            assert re.match(r"[\w./-]+:\d+: \S", s), s
        assert b["note"].strip()


def test_toml_is_what_the_generator_writes(tmp_path: Path) -> None:
    """Nobody edited the generated file by hand: to_toml.py rewrites it byte for byte."""
    out = tmp_path / "lower_bounds.toml"
    subprocess.run([sys.executable, str(TOOLS / "to_toml.py"), str(out)], check=True, capture_output=True)
    assert out.read_text() == TOML.read_text()


@pytest.mark.parametrize("b", MEASURED, ids=lambda b: b["id"])
def test_measured_figures_equal_recorded_gnu_output(b: dict[str, Any]) -> None:
    folder = recorded(b)
    assert folder.is_dir() and not Path(b["recorded"]).is_absolute()
    for name in ("config", "size.txt", "size-A.txt", "readelf-S.txt", "readelf-h.txt", "symbols.txt", "build.txt"):
        assert (folder / name).is_file(), f"{folder / name} missing"
    size = size_berkeley((folder / "size.txt").read_text())
    syms = readelf_symbols((folder / "symbols.txt").read_text())
    cfg = config_values((folder / "config").read_text())
    info = build_info((folder / "build.txt").read_text())

    assert b["text"] == size["text"]
    assert b["data"] == size["data"]
    assert b["bss"] == size["bss"]
    assert b["total"] == size["text"] + size["data"] + size["bss"] == size["dec"]

    # The version, recipe and tools are the build's own.
    assert b["kernel_version"] == info["kernel_version"]
    assert b["kernel_version"].startswith(b["series"] + ".")
    assert b["series"] == info["series"] and b["arch"] == info["arch"]
    assert b["smp"] == (cfg.get("SMP") == "y") == (info["mode"] == "smp")
    if b["smp"]:
        assert b["nr_cpus"] == int(cfg["NR_CPUS"]) == 2
    else:
        assert "nr_cpus" not in b
    gcc = info["gcc"].split()[-1]
    binutils = info["binutils"].split()[-1]
    assert f"gcc {gcc} / binutils {binutils}" in b["source"] and b["kernel_version"] in b["source"]

    # Extents: _end minus the arch's start, by hand.
    end, text = syms["_end"], syms["_text"]
    ext = b["extents"]
    start = loader_start(b["arch"], cfg)
    assert ext["text_to_end"] == {"start_symbol": "_text", "start": text, "end_symbol": "_end", "end": end,
                                  "size": end - text}
    if start is None:
        assert "loader" not in ext
        assert b["image_extent"] == end - text and b["image_extent_kind"] == "text_to_end"
    else:
        assert ext["loader"]["start"] == start and ext["loader"]["end"] == end
        assert ext["loader"]["size"] == end - start
        assert b["image_extent"] == end - start and b["image_extent_kind"] == "loader"
    if b["arch"] == "sparc64":
        assert text == _stext(syms) == SPARC64_TEXTSTART
        assert ext["loader"]["start_symbol"] == "KERNBASE"
    if b["arch"] in ("x86_64", "i386"):
        assert ext["loader"]["start_symbol"] == "LOAD_OFFSET"

    percpu = readelf_section_size((folder / "readelf-S.txt").read_text(), ".data..percpu")
    assert b.get("percpu_static") == percpu


def _stext(syms: dict[str, int]) -> int:
    return syms["_stext"]


def test_smp_bound_is_not_below_up_bound() -> None:
    """Turning SMP on adds code and data: where both builds exist, SMP >= UP in every measure."""
    for smp in (b for b in MEASURED if b["smp"]):
        up = [b for b in MEASURED if not b["smp"] and b["arch"] == smp["arch"] and b["series"] == smp["series"]]
        for u in up:
            for key in ("text", "total", "image_extent"):
                assert smp[key] >= u[key], (smp["id"], key)


# --- structural floors ---

def test_structural_floors_hold_for_every_measured_kernel() -> None:
    for s in STRUCTURAL:
        for m in (b for b in MEASURED if b["arch"] == s["arch"]):
            if s["since"] and _ver(m["kernel_version"]) < _ver(s["since"]):
                continue
            got = m["extents"][s["measure"]]["size"]
            floor = s["min_bytes"]
            if s.get("floor_symbols") == ["PHYSICAL_START", "PHYSICAL_ALIGN"]:
                cfg = config_values((recorded(m) / "config").read_text())
                floor = align_up(int(cfg["PHYSICAL_START"], 16), int(cfg["PHYSICAL_ALIGN"], 16))
                floor += m["extents"]["text_to_end"]["size"]
            assert got >= floor, (s["id"], m["id"], got, floor)


def test_structural_figures_by_hand() -> None:
    assert by_id("sparc64.text-above-kernbase")["min_bytes"] == SPARC64_TEXTSTART - KERNBASE == 16 * 1024
    # 0x428000 (the end of the trap table, head_64.S:942) - KERNBASE
    assert by_id("sparc64.head-layout")["min_bytes"] == 0x428000 - KERNBASE == 160 * 1024
    # Default PHYSICAL_START 0x1000000 rounded up to the default PHYSICAL_ALIGN 0x200000.
    for ident in ("x86_64.physical-start", "i386.physical-start"):
        assert by_id(ident)["min_bytes"] == align_up(0x1000000, 0x200000) == 16 * 1024 * 1024


TREES = {"6.1": "CPUALLOC_LINUX_6_1", "6.12": "CPUALLOC_LINUX_6_12"}


@pytest.mark.parametrize("series", sorted(TREES))
def test_structural_sources_quote_the_linux_tree(series: str) -> None:
    """Each cited file:line reads as quoted, in every tree the entry says it was checked in."""
    entries = [s for s in STRUCTURAL if any(v.startswith(series + ".") for v in s["checked_in"])]
    if not entries:
        pytest.skip(f"no structural entry is checked in {series}")
    tree = Path(need_linux_tree(TREES[series]))
    makefile = (tree / "Makefile").read_text()
    version = ".".join(re.search(rf"^{k} = (\d+)", makefile, re.M).group(1)  # type: ignore[union-attr]
                       for k in ("VERSION", "PATCHLEVEL"))
    assert version == series
    for s in entries:
        for src in s["sources"]:
            path, line, quote = re.fullmatch(r"([\w./-]+):(\d+): (.*)", src).groups()  # type: ignore[union-attr]
            lines = (tree / path).read_text(errors="replace").splitlines()
            # The quoted text is on that line (whitespace runs compared as one space).
            assert " ".join(quote.split()) in " ".join(lines[int(line) - 1].split()), (series, src)


def _ver(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


# --- the shared kernels (same recipe, or a larger one) ---

def _shared_measures(folder: Path, arch: str) -> dict[str, int]:
    size = size_berkeley((folder / "size.txt").read_text())
    syms = readelf_symbols(lzma.decompress((folder / "readelf-s.txt.xz").read_bytes()).decode())
    cfg = config_values((folder / "config").read_text())
    start = loader_start(arch, cfg)
    end, text = syms["_end"], syms["_text"]
    out = {"text": size["text"], "data": size["data"], "bss": size["bss"], "total": size["dec"],
           "text_to_end": end - text, "image_extent": end - (text if start is None else start)}
    percpu = readelf_section_size((folder / "readelf-S.txt").read_text(), ".data..percpu")
    if percpu is not None:
        out["percpu_static"] = percpu
    return out


def _bound_measures(b: dict[str, Any]) -> dict[str, int]:
    out = {k: b[k] for k in ("text", "data", "bss", "total", "image_extent")}
    out["text_to_end"] = b["extents"]["text_to_end"]["size"]
    if "percpu_static" in b:
        out["percpu_static"] = b["percpu_static"]
    return out


def test_shared_sparc64_nr64_is_at_least_the_smp_bound() -> None:
    """sparc64-tiny-nr64 is tinyconfig + SMP with NR_CPUS=64 and IKCONFIG/PROC_FS on top: a
    superset of the NR_CPUS=2 bound's recipe, so it is at least as large in every measure."""
    kernels = need_shared()
    shared = _shared_measures(kernels / "sparc64-tiny-nr64", "sparc64")
    bound = _bound_measures(by_id("sparc64-6.1-smp"))
    assert bound.keys() == shared.keys()
    for key, value in bound.items():
        assert shared[key] >= value, (key, shared[key], value)
    assert shared["image_extent"] > bound["image_extent"]


def test_shared_x86_64_tiny_is_at_least_the_up_bound() -> None:
    """x86_64-tiny is the same recipe (tinyconfig, UP, 6.1.192, gcc 12.2 / binutils 2.40)."""
    kernels = need_shared()
    folder = kernels / "x86_64-tiny"
    shared = _shared_measures(folder, "x86_64")
    b = by_id("x86_64-6.1-up")
    bound = _bound_measures(b)
    for key, value in bound.items():
        assert shared[key] >= value, (key, shared[key], value)
    # Same recipe, same tree, same tools: where the configs agree (the compiler banner aside), the
    # same kernel in every measure.
    ours = config_values((recorded(b) / "config").read_text())
    theirs = config_values((folder / "config").read_text())
    diff = {k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)} - {"CC_VERSION_TEXT"}
    if not diff:
        assert shared == bound


def test_every_key_is_documented_in_the_header() -> None:
    """The schema comment at the top of the file names every key an entry uses."""
    header = "\n".join(line for line in TOML.read_text().splitlines() if line.startswith("#"))
    keys = {k for b in BOUNDS for k in b} | {k for b in MEASURED for e in b["extents"].values() for k in e}
    for key in keys:
        assert re.search(rf"\b{re.escape(key)}\b", header), key
