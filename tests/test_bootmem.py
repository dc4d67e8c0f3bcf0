"""The boot memory budget (`footprint --memory`) against real qemu boots and hand arithmetic.

Oracles:
- tests/fixtures/boots/*.log.gz: Debian's 6.1 amd64 vmlinuz booted under qemu (TCG) at 256M/1G/4G
  x 1/2/8 CPUs and twice into a busybox initramfs (tools/boots/run_all.sh regenerates them; the
  exact qemu command lines are beside them). The kernel prints the `Memory:` line, the `percpu:`
  line, each hash table's size and, from /init, /proc/meminfo's MemTotal.
- hand arithmetic of the cited Linux 6.1 formulas, written out below.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest
from conftest import cli_json, run_cli

from cpualloc_cli.analysis.bootmem import compute_bootmem, compute_hash_entries, compute_image_figures, present_ranges
from cpualloc_cli.model.bootmem import BootMemInputs, Machine

BOOTS = Path(__file__).parent / "fixtures" / "boots"
K = 1024
MEMORY_RE = re.compile(rb"Memory: (\d+)K/(\d+)K available \((\d+)K kernel code, (\d+)K rwdata, (\d+)K rodata, "
                       rb"(\d+)K init, (\d+)K bss, (\d+)K reserved, (\d+)K cma-reserved\)")
HASH_RE = re.compile(rb"(Dentry cache|Inode-cache|Mount-cache) hash table entries: (\d+) \(order: \d+, (\d+) bytes")


def boot_logs(arch: str = "amd64") -> list[Path]:
    return sorted(BOOTS.glob(f"*-{arch}-m*.log.gz"))


def parse_boot(path: Path) -> dict[str, object]:
    log = gzip.decompress(path.read_bytes())
    m = MEMORY_RE.search(log)
    assert m, f"{path.name}: no Memory: line"
    v = [int(x) for x in m.groups()]
    keys = ("available", "total", "kernel_code", "rwdata", "rodata", "init", "bss", "reserved", "cma")
    out: dict[str, object] = dict(zip(keys, v, strict=True))
    pc = re.search(rb"percpu: (Embedded [^\r\n]*)", log)
    out["percpu"] = pc.group(1).decode().strip() if pc else None
    out["hashes"] = {h.group(1).decode(): int(h.group(3)) for h in HASH_RE.finditer(log)}
    mt = re.search(rb"MemTotal:\s+(\d+) kB", log)
    out["memtotal"] = int(mt.group(1)) if mt else None
    # the initramfs the boot passed (a machine input, like -m): the RAMDISK line's extent
    rd = re.search(rb"RAMDISK: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]", log)
    out["initrd"] = int(rd.group(2), 16) + 1 - int(rd.group(1), 16) if rd else 0
    name = path.name
    mem = re.search(r"-m(\d+)([MG])-smp(\d+)", name)
    assert mem
    out["memory"] = int(mem.group(1)) << (20 if mem.group(2) == "M" else 30)
    out["smp"] = int(mem.group(3))
    return out


def test_the_recorded_boots_are_there() -> None:
    logs = boot_logs()
    assert len(logs) >= 11
    for p in logs:
        assert (p.parent / p.name.replace(".log.gz", ".cmd")).is_file()
        b = parse_boot(p)
        assert b["cma"] == 0


# --- hand arithmetic ---------------------------------------------------------------------------

def test_qemu_pc_present_ranges_by_hand() -> None:
    # 256 MiB: [4 KiB, 0x9f000) = 158 pages, [1 MiB, 256 MiB - 128 KiB) = 65248 pages;
    # 158 + 65248 = 65406 pages = 261624 KiB (the Memory: line's total on every 256M boot).
    r = present_ranges(256 << 20, Machine.QEMU_PC, 4096)
    assert r == [(0x1000, 0x9F000), (0x100000, 0xFFE0000)]
    assert sum(e - s for s, e in r) == 65406 * 4096 == 261624 * K
    # 4 GiB: >= 3.5 GiB, so 3 GiB below 4 GiB and 1 GiB above it.
    r4 = present_ranges(4 << 30, Machine.QEMU_PC, 4096)
    assert r4[-1] == (1 << 32, (1 << 32) + (1 << 30))


def test_hash_tables_and_memmap_by_hand_256m() -> None:
    # Zones at 256 MiB (qemu-pc): DMA pfn 1..4095 holds 158 + 3840 = 3998 present pages, spanned
    # 4095; calc_memmap_size (mm/page_alloc.c:7651): 4095 > 3998 + 3998/16 = 4247? no -> spanned:
    # PAGE_ALIGN(4095 x 64) / 4096 = 64 pages; freesize = 3998 - 64 = 3934.
    # DMA32 pfn 4096..65503: 61408 pages, memmap ceil(61408 x 64 / 4096) = 960; freesize 60448.
    nr_kernel_pages = (3998 - 64) + (61408 - 960)
    assert nr_kernel_pages == 64382
    # alloc_large_system_hash (mm/page_alloc.c:9080-9127): round_up(64382, 256) = 64512;
    # dentry scale 13: 64512 >> 1 = 32256 -> roundup_pow_of_two = 32768 entries x 8 B = 262144 B;
    # inode scale 14: 64512 >> 2 = 16128 -> 16384 entries x 8 B = 131072 B;
    # mount scale 19: 64512 >> 7 = 504 -> 512 entries x 8 B = 4096 B.
    # (max = 64382 x 4096 / 16 / 8 = 2060224 entries: no cap.)
    assert compute_hash_entries(nr_kernel_pages, nr_kernel_pages, 8, 13, 12) == 32768
    assert compute_hash_entries(nr_kernel_pages, nr_kernel_pages, 8, 14, 12) == 16384
    assert compute_hash_entries(nr_kernel_pages, nr_kernel_pages, 8, 19, 12) == 512
    inp = BootMemInputs("x86_64", (6, 1, 176), 64, 4096, 256 << 20, Machine.QEMU_PC, 1, {},
                        config={"MEMCG": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y", "SWIOTLB": "y"},
                        percpu_size_sum_bytes=62 * 4096)
    rows = {r.name: r.bytes_ for r in compute_bootmem(inp).rows}
    assert rows["Dentry cache hash table"] == 262144
    assert rows["Inode-cache hash table"] == 131072
    assert rows["Mount-cache hash table"] == 4096
    # memmap: 256 MiB touches sections 0 and 1 (2^27 B each); ALIGN(32768 x 64, PMD_SIZE) = 2 MiB
    # per section: 4 MiB.
    assert rows["memmap (struct page array)"] == 2 * (32768 * 64)
    assert rows["first 1 MiB"] == 158 * 4096
    assert rows["percpu first chunk"] == 62 * 4096
    assert rows["swiotlb"] == 0
    # no symbols: the image rows are inconclusive and so is the total
    assert rows["kernel image"] is None
    assert compute_bootmem(inp).reserved_bytes is None


def test_hash_cap_at_a_sixteenth_of_memory() -> None:
    # 1 page of kernel memory: numentries = 256 >> 1 = 128 (after the 1 MiB round-up), but
    # max = (1 x 4096 >> 4) / 8 = 32 entries.
    assert compute_hash_entries(1, 1, 8, 13, 12) == 32


def test_image_figures_adjustments() -> None:
    # .init.text inside [__init_begin, __init_end): init = __init_end - __init_begin
    # (mm/page_alloc.c:8535-8536), rodata inside text: code excludes it (8539).
    s = {"_stext": 0x1000, "_etext": 0x9000, "__start_rodata": 0x5000, "__end_rodata": 0x6000,
         "_sdata": 0xA000, "_edata": 0xB000, "__init_begin": 0xC000, "__init_end": 0xE000,
         "_sinittext": 0xC800, "_einittext": 0xD000, "__bss_start": 0xF000, "__bss_stop": 0x11000}
    f = compute_image_figures(s)
    assert f == {"kernel_code": 0x8000 - 0x1000, "rwdata": 0x1000, "rodata": 0x1000, "init": 0x2000,
                 "bss": 0x2000}
    assert compute_image_figures({k: v for k, v in s.items() if k != "_etext"}) is None


# --- odd and hostile inputs -----------------------------------------------------------------------

def test_unknown_struct_page_is_inconclusive() -> None:
    inp = BootMemInputs("sparc64", (6, 1), 64, 8192, 1 << 30, Machine.FLAT, 1, {}, config={"MEMCG": "y"})
    rep = compute_bootmem(inp)
    memmap = next(r for r in rep.rows if r.name.startswith("memmap"))
    assert memmap.bytes_ is None and "sizeof(struct page) unknown" in memmap.note
    assert rep.reserved_bytes is None and rep.available_bytes is None


def test_memory_out_of_range() -> None:
    inp = BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 60, Machine.FLAT, 1, {})
    with pytest.raises(ValueError):
        compute_bootmem(inp)
    with pytest.raises(ValueError):
        compute_bootmem(BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 20, Machine.QEMU_PC, 1, {}))


def test_cli_memory_smaller_than_the_kernel(tmp_path: Path) -> None:
    rc, out, err = run_cli(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory", "1MiB"])
    assert rc == 3 and out == "" and err.startswith("cpualloc: error:"), (rc, out, err)
    rc, out, err = run_cli(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory",
                            "99999999999999999999GiB"])
    assert rc in (2, 3) and "Traceback" not in err, (rc, err)
    rc, out, err = run_cli(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory", "-5M"])
    assert rc == 2 and "Traceback" not in err, (rc, err)


def test_cli_without_image_is_inconclusive_not_made_up() -> None:
    doc = cli_json(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory", "1GiB"], 0)
    bm = doc["boot_memory"]
    assert bm["reserved_bytes"] is None
    image = next(r for r in bm["rows"] if r["name"] == "kernel image")
    assert image["inconclusive"] and image["bytes"] is None
    assert all(v is None for v in bm["image_figures_bytes"].values())


# --- the real boots ---------------------------------------------------------------------------------

def _debian() -> tuple[Path, Path]:
    vmlinux = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    root = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    if not vmlinux or not root:
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_DBG_VMLINUX/KERNEL_DIR are not")
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX and CPUALLOC_DEBIAN_KERNEL_DIR are needed (Debian 6.1 amd64)")
    config = next((Path(root) / "boot").glob("config-6.1.0-50-amd64"), None)
    if config is None:
        pytest.skip("the boots were recorded with 6.1.0-50-amd64; its config is not in CPUALLOC_DEBIAN_KERNEL_DIR")
    return Path(vmlinux), config


@pytest.mark.parametrize("log", boot_logs(), ids=lambda p: p.name.removesuffix(".log.gz"))
def test_prediction_against_boot(log: Path) -> None:
    vmlinux, config = _debian()
    b = parse_boot(log)
    doc = cli_json(["footprint", "--memory", str(b["memory"]), "--machine", "qemu-pc", "--possible-cpus", str(b["smp"]),
                    "--initrd-size", str(b["initrd"]), "--config", str(config), str(vmlinux)], 0)
    bm = doc["boot_memory"]
    # the five image figures: exact to the KiB
    figs = {k: v // K for k, v in bm["image_figures_bytes"].items()}
    assert figs == {k: b[k] for k in ("kernel_code", "rwdata", "rodata", "init", "bss")}
    assert bm["present_bytes"] // K == b["total"]
    rows = {r["name"]: r for r in bm["rows"]}
    # percpu: the model's line is the boot's
    assert b["percpu"] is not None and b["percpu"] in rows["percpu first chunk"]["inputs"]
    # each hash table the model sizes, as the boot printed it
    hashes = b["hashes"]
    assert isinstance(hashes, dict)
    for name in ("Dentry cache", "Inode-cache", "Mount-cache"):
        assert rows[f"{name} hash table"]["bytes"] == hashes[name], name
    # reserved within 1 %
    reserved = bm["reserved_bytes"] // K
    assert isinstance(b["reserved"], int)
    assert abs(reserved - b["reserved"]) <= 0.01 * b["reserved"], (reserved, b["reserved"])
    # available: DEFERRED_STRUCT_PAGE_INIT makes it the initialised part; the image may be inside
    # it or not (KASLR): the boot lies in [min, max], 0.5 % slack for what is not modelled
    lo, hi = bm["available_min_bytes"] // K, bm["available_bytes"] // K
    avail = b["available"]
    assert isinstance(avail, int)
    assert lo * 0.995 <= avail <= hi * 1.005, (lo, avail, hi)
    if b["memtotal"] is not None:
        mt = bm["memtotal_bytes"] // K
        assert abs(mt - b["memtotal"]) <= 0.005 * b["memtotal"], (mt, b["memtotal"])


def test_json_matches_the_schema() -> None:
    import json

    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "schemas" / "bootmem.schema.json").read_text())
    doc = cli_json(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory", "4GiB",
                    "--machine", "qemu-pc", "--crashkernel", "256M"], 0)
    jsonschema.validate(doc, schema)
    rows = {r["name"]: r for r in doc["boot_memory"]["rows"]}
    assert "crashkernel" in rows and "swiotlb" in rows


def test_crashkernel_with_the_debian_config() -> None:
    vmlinux, config = _debian()
    doc = cli_json(["footprint", "--memory", "4GiB", "--machine", "qemu-pc", "--possible-cpus", "2", "--crashkernel",
                    "256M", "--config", str(config), str(vmlinux)], 0)
    rows = {r["name"]: r for r in doc["boot_memory"]["rows"]}
    assert rows["crashkernel"]["bytes"] == 256 << 20
    # 4 GiB on qemu-pc reaches 5 GiB: swiotlb = 64 MiB + PAGE_ALIGN(32768 slots x 24 B) = 64 MiB + 768 KiB
    # (the 4G boots print "software IO TLB: mapped [mem 0xbbfe0000-0xbffe0000] (64MB)")
    assert rows["swiotlb"]["bytes"] == (64 << 20) + 32768 * 24
    without = cli_json(["footprint", "--memory", "4GiB", "--machine", "qemu-pc", "--possible-cpus", "2",
                        "--config", str(config), str(vmlinux)], 0)
    assert doc["boot_memory"]["reserved_bytes"] - without["boot_memory"]["reserved_bytes"] == 256 << 20


@pytest.mark.parametrize("pages", [1, 255, 256, 4097, 64382, 1032062, 1 << 40])
@pytest.mark.parametrize("scale", [13, 14, 19])
def test_hash_entries_are_a_power_of_two_within_a_sixteenth(pages: int, scale: int) -> None:
    n = compute_hash_entries(pages, pages, 8, scale, 12)
    assert n & (n - 1) == 0
    assert n * 8 <= max((pages << 12) >> 4, 8) and n <= 0x80000000


def test_hostile_symbols_are_inconclusive_not_negative() -> None:
    syms = {"_text": 0x2000, "__end_of_kernel_reserve": 0x1000, "_stext": 0x2000, "_etext": 0x1000}
    inp = BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 30, Machine.FLAT, 1, syms,
                        config={"MEMCG": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y", "SWIOTLB": "y"},
                        percpu_size_sum_bytes=4096)
    rep = compute_bootmem(inp)
    assert all(r.bytes_ is None or r.bytes_ >= 0 for r in rep.rows)
    assert next(r for r in rep.rows if r.name == "kernel image").bytes_ is None
    assert rep.reserved_bytes is None and rep.image_figures["kernel_code"] is None


def test_kernel_larger_than_memory() -> None:
    syms = {"_text": 0, "__end_of_kernel_reserve": 64 << 20}
    inp = BootMemInputs("x86_64", (6, 1), 64, 4096, 32 << 20, Machine.FLAT, 1, syms, config={"MEMCG": "y"})
    with pytest.raises(ValueError, match="larger than the RAM"):
        compute_bootmem(inp)


def test_memory_with_a_limit_is_a_usage_error() -> None:
    rc, out, err = run_cli(["footprint", "--arch", "x86_64", "--static-size", "200KiB", "--memory", "1GiB",
                            "--limit", "bss=8MiB"])
    assert rc == 2 and out == "", (rc, out, err)


def test_printk_buffer_grows_past_17_cpus_by_hand() -> None:
    # Debian: LOG_BUF_SHIFT=17 (128 KiB), LOG_CPU_MAX_BUF_SHIFT=12 (4 KiB). log_buf_add_cpu
    # (kernel/printk/printk.c:1009-1034): at 17 possible CPUs cpu_extra = 16 x 4096 = 65536 <= 131072/2:
    # no growth. At 64: 63 x 4096 = 258048 > 65536 -> roundup_pow_of_two(258048 + 131072) = 524288;
    # descriptors 524288 >> 5 = 16384, each 24 B (prb_desc) + 88 B (printk_info): 524288 + 16384 x 112.
    cfg = {"MEMCG": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y", "SWIOTLB": "y", "LOG_BUF_SHIFT": "17",
           "LOG_CPU_MAX_BUF_SHIFT": "12"}

    def row(cpus: int) -> int | None:
        inp = BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 30, Machine.FLAT, cpus, {}, config=cfg,
                            percpu_size_sum_bytes=4096)
        return next((r.bytes_ for r in compute_bootmem(inp).rows if r.name.startswith("printk")), 0)

    assert row(17) == 0 and row(8) == 0
    assert row(64) == 524288 + 16384 * 112


def test_config_only_percpu_is_not_an_estimate() -> None:
    # without an image or --static-size the static per-cpu size is an estimate: no row figure
    doc = cli_json(["footprint", "--arch", "x86_64", "--memory", "1GiB", "--possible-cpus", "2"], 0)
    row = next(r for r in doc["boot_memory"]["rows"] if r["name"] == "percpu first chunk")
    assert row["inconclusive"] and row["bytes"] is None


def test_kmsan_struct_page_is_inconclusive() -> None:
    # KMSAN adds kmsan_shadow and kmsan_origin to struct page (include/linux/mm_types.h:231-241, 6.1):
    # 64 + 16 = 80 B, not a checked build, so the memmap row must not print 64 B per page.
    cfg = {"MEMCG": "y", "KMSAN": "y", "SPARSEMEM": "y", "SPARSEMEM_VMEMMAP": "y"}
    rep = compute_bootmem(BootMemInputs("x86_64", (6, 1), 64, 4096, 1 << 30, Machine.FLAT, 1, {}, config=cfg))
    row = next(r for r in rep.rows if r.name.startswith("memmap"))
    assert row.bytes_ is None and "sizeof(struct page) unknown" in row.note
