"""The arm64 boots (issue 15, a second arch): Debian's 6.1 arm64 kernel under qemu-system-aarch64
-M virt -cpu cortex-a57 (TCG), recorded by tools/boots/boot.py (see tools/boots/run_all.sh), and the
prediction from that Image alone (CPUALLOC_DEBIAN_ARM64_DIR: the extracted linux-image-6.1.0-50-arm64).

Oracles: the boot transcripts; GNU as for aarch64; hand arithmetic of the cited Linux 6.1 formulas."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_json, run_cli
from test_bootmem import BOOTS, boot_logs, parse_boot

from cpualloc_cli.adapters.bootmem_image import read_config_as_written
from cpualloc_cli.analysis.bootmem import compute_hash_entries


def _boots() -> dict[tuple[int, int], dict[str, object]]:
    return {(int(str(b["memory"])), int(str(b["smp"]))): b for b in map(parse_boot, boot_logs("arm64"))}


def test_the_arm64_boots_are_there() -> None:
    logs = boot_logs("arm64")
    assert len(logs) >= 4
    for p in logs:
        cmd = (BOOTS / p.name.replace(".log.gz", ".cmd")).read_text()
        assert cmd.startswith("qemu-system-aarch64 -accel tcg -M virt -cpu cortex-a57 ")
        assert "/" not in cmd.split("\n")[0]  # no machine paths in the fixture


def test_image_figures_do_not_depend_on_the_machine() -> None:
    figs = {tuple(b[k] for k in ("kernel_code", "rwdata", "rodata", "init", "bss")) for b in _boots().values()}
    assert figs == {(13248, 2806, 9504, 6464, 627)}


def test_percpu_size_sum_by_hand() -> None:
    # percpu: Embedded 31 pages/cpu s87208 r8192 d31576: size_sum = PFN_ALIGN(87208 + 8192 + 31576)
    # = 126976 = 31 x 4096 (mm/percpu.c:2971 pcpu_build_alloc_info)
    for b in _boots().values():
        assert b["percpu"] == "Embedded 31 pages/cpu s87208 r8192 d31576 u126976"
    assert 87208 + 8192 + 31576 == 31 * 4096


def test_hash_tables_by_hand_arm64() -> None:
    # qemu virt puts RAM at 0x40000000; one node, one populated zone (DMA, below 4 GiB).
    # sizeof(struct page) = 64 with MEMCG=y (include/linux/mm_types.h:72-226: flags 8, union 40,
    # _mapcount + _refcount 8, memcg_data 8). calc_memmap_size (mm/page_alloc.c:7651-7670):
    # spanned == present, PAGE_ALIGN(pages x 64) >> PAGE_SHIFT = pages / 64.
    boots = _boots()
    for mem, dentry, inode in ((256 << 20, 32768, 16384), (1 << 30, 131072, 65536)):
        pages = mem // 4096
        nr_kernel = pages - pages * 64 // 4096
        # 256 MiB: 65536 - 1024 = 64512 -> >> 1 = 32256 -> 32768 (dentry), >> 2 = 16128 -> 16384 (inode)
        # 1 GiB: 262144 - 4096 = 258048 -> 129024 -> 131072, 64512 -> 65536
        assert compute_hash_entries(nr_kernel, nr_kernel, 8, 13, 12) == dentry
        assert compute_hash_entries(nr_kernel, nr_kernel, 8, 14, 12) == inode
        for smp in (1, 2):
            h = boots[(mem, smp)]["hashes"]
            assert isinstance(h, dict)
            assert h["Dentry cache"] == dentry * 8 and h["Inode-cache"] == inode * 8


def test_a_second_possible_cpu_costs_the_size_sum() -> None:
    # smp 2 - smp 1 reserved: 31 pages of the first chunk (124 KiB) and, as recorded, 4 KiB more
    # (one further page per CPU that the model does not explain: it is left as the remainder).
    b = _boots()
    for mem in (256 << 20, 1 << 30):
        assert int(str(b[(mem, 2)]["reserved"])) - int(str(b[(mem, 1)]["reserved"])) == 124 + 4


def test_arm64_rows_are_inconclusive_not_guessed() -> None:
    doc = cli_json(["footprint", "--arch", "arm64", "--static-size", "87208", "--memory", "256MiB",
                    "--possible-cpus", "1"], 0)
    bm = doc["boot_memory"]
    rows = {r["name"]: r for r in bm["rows"]}
    assert rows["kernel image"]["inconclusive"]
    assert rows["memmap (struct page array)"]["inconclusive"]
    assert bm["reserved_bytes"] is None and bm["available_bytes"] is None
    assert Path(BOOTS).is_dir()


# --- the prediction from Debian's arm64 Image alone (kallsyms, header, PE table, code) ---------------

def _arm64_dir() -> Path:
    d = os.environ.get("CPUALLOC_DEBIAN_ARM64_DIR")
    if not d or not (Path(d) / "boot" / "vmlinuz-6.1.0-50-arm64").is_file():
        if os.environ.get("CPUALLOC_REQUIRE_REAL"):
            pytest.fail("CPUALLOC_REQUIRE_REAL is set but CPUALLOC_DEBIAN_ARM64_DIR is not (linux-image-6.1.0-50-arm64)")
        pytest.skip("CPUALLOC_DEBIAN_ARM64_DIR is needed (Debian's linux-image-6.1.0-50-arm64, extracted)")
    return Path(d) / "boot"


def _predict(mem: int, smp: int, whole: bool = False) -> dict[str, Any]:
    boot = _arm64_dir()
    doc = cli_json(["footprint", "--memory", str(mem), "--machine", "qemu-virt", "--possible-cpus", str(smp),
                    "--config", str(boot / "config-6.1.0-50-arm64"), str(boot / "vmlinuz-6.1.0-50-arm64"),
                    "--format", "json"], 0)
    bm = doc if whole else doc["boot_memory"]
    assert isinstance(bm, dict)
    return bm


@pytest.mark.parametrize("key", sorted(_boots()), ids=lambda k: f"m{k[0] >> 20}M-smp{k[1]}")
def test_arm64_prediction_against_boot(key: tuple[int, int]) -> None:
    b = _boots()[key]
    bm = _predict(*key)
    # the five figures of the Memory: line, exact to the KiB
    figs = {k: v // 1024 for k, v in bm["image_figures_bytes"].items()}
    assert figs == {k: b[k] for k in ("kernel_code", "rwdata", "rodata", "init", "bss")}
    assert bm["present_bytes"] // 1024 == b["total"]
    rows = {r["name"]: r for r in bm["rows"]}
    # reserved within 1 % (the remainder is stated in the notes)
    reserved = int(str(b["reserved"]))
    assert abs(bm["reserved_bytes"] // 1024 - reserved) <= reserved // 100
    # CMA: printed as cma-reserved, not in reserved
    assert rows["CMA"]["counted"] == "cma" and rows["CMA"]["bytes"] // 1024 == b["cma"]
    # the dentry/inode hash tables and the percpu line, as the boot printed them
    hashes = b["hashes"]
    assert isinstance(hashes, dict)
    assert rows["Dentry cache hash table"]["bytes"] == hashes["Dentry cache"]
    assert rows["Inode-cache hash table"]["bytes"] == hashes["Inode-cache"]
    assert str(b["percpu"]) in rows["percpu first chunk"]["inputs"]
    # available: DEFERRED_STRUCT_PAGE_INIT initialises the first 128 MiB section of the last zone, and
    # the Image (loaded at the start of RAM) lies in it; above 4 GiB the DMA zone is initialised whole,
    # with swiotlb and CMA in it (a remainder of 256K is unexplained there: within 0.1 %)
    available = int(str(b["available"]))
    if key[0] <= 1 << 30:
        assert bm["available_bytes"] // 1024 == available
    assert abs(bm["available_bytes"] // 1024 - available) <= available // 1000


def test_arm64_rows_by_hand() -> None:
    import jsonschema

    doc = _predict(256 << 20, 1, whole=True)
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "bootmem.schema.json").read_text())
    jsonschema.validate(doc, schema)
    bm = doc["boot_memory"]
    rows = {r["name"]: r["bytes"] for r in bm["rows"]}
    # INIT_DIR_SIZE (arch/arm64/include/asm/kernel-pgtable.h:62-88, 4K pages, 48-bit VA, KASLR):
    # 1 PGDIR page + EARLY_PGDS (1 + 1) + EARLY_PMDS (1 + 1) = 5 pages; the Image header's image_size
    # (bytes 16..23, Documentation/arm64/booting.rst) is _end - _text, _stext is 64 KiB in (SEGMENT_ALIGN)
    head = (_arm64_dir() / "vmlinuz-6.1.0-50-arm64").read_bytes()[:64]
    image_size = struct.unpack_from("<Q", head, 16)[0]
    assert rows["kernel image"] == image_size - 0x10000 - 5 * 4096
    # qemu virt's DTB: fdt_totalsize 1 MiB (tools/boots/virt_dtb.sh records it)
    assert rows["device tree (DTB)"] == 1 << 20
    # 256 MiB from 0x40000000, 4 KiB pages (rodata=full): 128 PTE + 1 PMD + 1 PUD pages
    assert rows["linear map page tables"] == (256 // 2 + 1 + 1) * 4096
    # two 128 MiB sections x 32768 pages x 64 B = 2 MiB each, ALIGN(PMD_SIZE) (mm/sparse.c:418-421)
    assert rows["memmap (struct page array)"] == 2 * 32768 * 64
    # NR_SECTION_ROOTS = 2^(48 - 27) / (4096 / 16) = 8192 pointers, one root page, and per section
    # 8 B of subsection map + 2^(15 - 9) x 4 bits of pageblock flags = 40 B
    assert rows["mem_section arrays"] == 8192 * 8 + 4096 + 2 * (8 + 32)
    assert rows["CMA"] == 64 << 20  # CONFIG_CMA_SIZE_MBYTES=64


def test_adrp_add_sub_decoding_with_gnu_as(tmp_path: Path) -> None:
    # the decoder's three encodings, checked against GNU as for aarch64 (an outside assembler)
    from cpualloc_cli.adapters.bootmem_image import sub_pairs

    if not (shutil.which("aarch64-linux-gnu-as") and shutil.which("aarch64-linux-gnu-objcopy")):
        pytest.skip("aarch64-linux-gnu-as/objcopy (binutils-aarch64-linux-gnu) are needed")
    src = tmp_path / "t.s"
    src.write_text(".text\n.globl _start\n_start:\n adrp x1, far\n adrp x2, near\n add x1, x1, :lo12:far\n"
                   " add x2, x2, :lo12:near\n sub x3, x1, x2\n sub x4, x3, x2\n add x5, x1, #16\n sub x6, x5, x2\n"
                   ".data\n.balign 4096\nnear: .quad 0\n.space 0x12340\nfar: .quad 0\n")
    obj, elf, raw = tmp_path / "t.o", tmp_path / "t.elf", tmp_path / "t.bin"
    subprocess.run(["aarch64-linux-gnu-as", "-o", str(obj), str(src)], check=True)
    ld = shutil.which("aarch64-linux-gnu-ld")
    if ld is None:
        pytest.skip("aarch64-linux-gnu-ld is needed")
    subprocess.run([ld, "-Ttext=0x0", "-Tdata=0x10000", "-o", str(elf), str(obj)], check=True)
    subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", str(elf), str(raw)], check=True)
    buf = raw.read_bytes()
    # near at 0x10000 (.data), far 8 + 0x12340 bytes after it; only the first sub has two
    # adrp+add operands (x3 is a difference, x5 an adrp+add plus 16)
    assert sub_pairs(buf, 0, 32) == [(0x10000 + 8 + 0x12340, 0x10000)]


def test_struct_page_sizes_by_hand() -> None:
    from cpualloc_cli.analysis.bootmem import struct_page_bytes

    # include/linux/mm_types.h (6.1): flags 8 (:74) + the five-word union 40 + _mapcount 4 + _refcount 4
    # (:198,210) + memcg_data 8 under MEMCG (:212-213) + int _last_cpupid when
    # LAST_CPUPID_NOT_IN_PAGE_FLAGS (:243-244); __aligned(2 * sizeof(long)) with HAVE_ALIGNED_STRUCT_PAGE
    # (:67-68).
    # Debian's arm64 config: MEMCG=y; page->flags: NR_PAGEFLAGS = 21 + MMU + MEMORY_FAILURE + 64BIT = 24,
    # ZONES 3 bits (DMA, DMA32, NORMAL, MOVABLE, DEVICE), SECTIONS 0 (VMEMMAP), NODES 4, LRU_GEN 3,
    # LAST_CPUPID 8 + order_base_2(256) = 16: 26 <= 64 - 24, so in flags: 8 + 40 + 8 + 8 = 64.
    cfg = read_config_as_written(str(_arm64_dir() / "config-6.1.0-50-arm64"))
    assert struct_page_bytes("arm64", 64, cfg)[0] == 64
    # x86_64, SPARSEMEM without VMEMMAP, NUMA_BALANCING, NR_CPUS=8192, NODES_SHIFT=10: NR_PAGEFLAGS
    # = 21 + MMU + 64BIT = 23 leaves 41 bits; ZONES 2 (DMA, DMA32, NORMAL, MOVABLE) + SECTIONS 46 - 27
    # = 19 + NODES 10 = 31, LAST_CPUPID 8 + 13 = 21 does not fit (52 > 41): _last_cpupid joins struct page,
    # 8 + 40 + 8 + 8 + 4 = 68, aligned to 16: 80 B.
    big = {"MMU": "y", "MEMCG": "y", "SPARSEMEM": "y", "NUMA": "y", "NUMA_BALANCING": "y", "NODES_SHIFT": "10",
           "NR_CPUS": "8192", "ZONE_DMA": "y", "ZONE_DMA32": "y", "HAVE_ALIGNED_STRUCT_PAGE": "y"}
    assert struct_page_bytes("x86_64", 64, big)[0] == 80
    # the same without MEMCG: 8 + 40 + 8 + 4 = 60 -> 64; without MEMCG, NUMA_BALANCING and the
    # alignment (SLUB=n): 56
    assert struct_page_bytes("x86_64", 64, dict(big, MEMCG="n"))[0] == 64
    assert struct_page_bytes("x86_64", 64, {"MMU": "y", "SLUB": "n"})[0] == 56
    # KMSAN: not modelled, no number
    assert struct_page_bytes("x86_64", 64, dict(big, KMSAN="y"))[0] is None


def test_odd_arm64_images_are_bad_input_or_inconclusive(tmp_path: Path) -> None:
    # an arm64 Image header (Documentation/arm64/booting.rst: magic "ARM\x64" at 0x38) with nothing
    # behind it, and one with a random body: exit 3 or inconclusive rows, never a number or a crash
    head = bytearray(64)
    head[0x38:0x3C] = b"ARM\x64"
    struct.pack_into("<Q", head, 16, 1 << 20)  # image_size
    bare = tmp_path / "bare"
    bare.write_bytes(bytes(head))
    noisy = tmp_path / "noisy"
    noisy.write_bytes(bytes(head) + bytes((k * 2654435761 >> 13) & 0xFF for k in range(1 << 16)))
    for img in (bare, noisy):
        code, out, err = run_cli(["footprint", "--memory", "256MiB", "--machine", "qemu-virt", "--arch", "arm64",
                                  str(img), "--format", "json"])
        assert code in (0, 3), (code, err)
        if code == 0:
            bm = json.loads(out)["boot_memory"]
            assert bm["reserved_bytes"] is None
            assert all(v is None for v in bm["image_figures_bytes"].values())
        else:
            assert err.startswith("cpualloc: error: ")
