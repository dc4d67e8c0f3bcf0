"""`inspect --symbols-from` with a /proc/kallsyms written here (x86_64 SMP style: per-cpu
symbols are 'A' with their offsets, as make_percpus_absolute() writes them, 6.1
scripts/kallsyms.c:855-868; a `[module]` column on module symbols, kernel/kallsyms.c
s_show()). Expected sizes are hand arithmetic on the addresses below: the distance to the next
symbol inside the range the bound symbols name (_stext/_etext, _sdata/_edata,
__bss_start/__bss_stop, __per_cpu_start/__per_cpu_end)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

KALLSYMS = """\
0000000000000000 A fixed_percpu_data
0000000000000000 A __per_cpu_start
0000000000001000 A cpu_tss_rw
0000000000003000 A __per_cpu_end
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81000040 t helper
ffffffff81000100 T _etext
ffffffff82000000 D _sdata
ffffffff82000000 D jiffies
ffffffff82000010 d local_data
ffffffff82000100 D _edata
ffffffff82000100 B __bss_start
ffffffff82000100 B big_buffer
ffffffff82010100 b small
ffffffff82010108 B __bss_stop
ffffffffc0000000 t mod_fn\t[mymod]
ffffffffc0000040 d mod_data\t[mymod]
"""


def _inspect_json(path: Path, *extra: str) -> dict:
    code, out, err = run_cli(["inspect", "--symbols-from", str(path), "--format", "json", *extra])
    assert code == 0, err
    (img,) = json.loads(out)["images"]
    return img


def test_proc_kallsyms_alone_sizes_and_sources(tmp_path: Path) -> None:
    f = tmp_path / "kallsyms"
    f.write_text(KALLSYMS)
    img = _inspect_json(f, "--symbols", "--top", "3")
    cols = img["symbols"]["columns"]
    assert cols == ["address", "size_bytes", "type", "name", "size_source"]
    rows = {r[3]: r for r in img["symbols"]["rows"]}
    # hand arithmetic: next address in the same range minus the symbol's own
    want = {
        "startup_64": (0xFFFFFFFF81000000, 0x40, "T"), "_stext": (0xFFFFFFFF81000000, 0x40, "T"),
        "helper": (0xFFFFFFFF81000040, 0x100 - 0x40, "t"),
        "jiffies": (0xFFFFFFFF82000000, 0x10, "D"), "local_data": (0xFFFFFFFF82000010, 0x100 - 0x10, "d"),
        "big_buffer": (0xFFFFFFFF82000100, 0x10000, "B"), "small": (0xFFFFFFFF82010100, 8, "b"),
        # per-cpu: 'A' in the list, inside [__per_cpu_start, __per_cpu_end]: counted as per-cpu ('D')
        "fixed_percpu_data": (0, 0x1000, "D"), "cpu_tss_rw": (0x1000, 0x3000 - 0x1000, "D"),
    }
    for name, (addr, size, letter) in want.items():
        assert rows[name][:3] == [addr, size, letter], name
        assert rows[name][4] == "derived", name
    # module symbols are not in the image; _etext and __bss_stop lie in no range (size 0: not listed)
    assert "mod_fn" not in rows and "mod_data" not in rows
    assert "_etext" not in rows and "__bss_stop" not in rows
    assert img["symbols_from"] == f"/proc/kallsyms {f}"
    assert any("2 module symbols" in n for n in img["notes"])
    # largest first; equal sizes in nm --size-sort order (strcmp of the names: "_" < "f")
    assert [s["name"] for s in img["percpu"]["top"]] == ["cpu_tss_rw", "__per_cpu_start", "fixed_percpu_data"]
    assert img["percpu"]["section"] == ".data..percpu" and img["percpu"]["size_bytes"] == 0x3000
    top = img["top_symbols"]
    assert top[0]["size_bytes"] == 0x10000 and top[0]["size_source"] == "derived"
    assert {t["name"] for t in top} == {"big_buffer", "__bss_start", "_edata"}  # one address, three names


def test_symbols_text_has_a_size_source_column(tmp_path: Path) -> None:
    f = tmp_path / "kallsyms"
    f.write_text(KALLSYMS)
    code, out, err = run_cli(["inspect", "--symbols-from", str(f), "--symbols"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("# address size type name size_source")
    assert "ffffffff82010100 0000000000000008 b small derived" in lines


def test_all_zero_addresses_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "kallsyms"
    f.write_text("".join(f"{0:016x} {line.split()[1]} {line.split()[2]}\n" for line in KALLSYMS.splitlines()))
    code, out, err = run_cli(["inspect", "--symbols-from", str(f)])
    assert code == 3 and out == ""
    assert err == (f"cpualloc: error: {f}: all addresses are 0 (kptr_restrict or not root); "
                   "hint: run as root with kernel.kptr_restrict=0 or use System.map\n")


def test_malformed_line_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "System.map"
    f.write_text("ffffffff81000000 T _stext\nnot a symbol line at all here\n")
    code, _out, err = run_cli(["inspect", "--symbols-from", str(f)])
    assert code == 3
    assert f"{f}:2: not a symbol line" in err
