"""The fast paths of `inspect` (issue 14) against their references.

- The compiled symbol path (cpualloc_cli._csymbols, optional) against the pure-Python one, which
  stays the oracle: `inspect --format json --symbols` byte for byte on every ELF fixture, on the
  real kernels in ../shared/kernels and on Debian's debug vmlinux (each skipped when absent), and
  the two C functions against their Python counterparts on generated tables (hypothesis).
- The header-name tables of the ELF adapter against pyelftools, which named every field before:
  on every fixture and real kernel, and code by code against pyelftools' own enums.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from conftest import REPO, need_shared
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import fixture_elf, load_index

from cpualloc_cli import speedups
from cpualloc_cli.adapters import elf
from cpualloc_cli.adapters.kallsyms_symbols import load_any_with_symbols
from cpualloc_cli.analysis.inspect import compute_inspect_report
from cpualloc_cli.model.image import SIZE_SOURCE_CODES, SymbolTable
from cpualloc_cli.render import inspect_json

COMPILED = speedups._load()
needs_compiled = pytest.mark.skipif(COMPILED is None, reason="the compiled path is off (the C extension is not built, "
                                                             "or CPUALLOC_PURE_PYTHON is set)")

FIXTURES = [e["name"] for e in load_index()]
REAL = ["x86_64-tiny", "sparc64-tiny-nr64", "sparc64-tiny-nr256"]


def _inspect_json(path: str, compiled: object) -> str:
    """What `inspect --format json --symbols PATH` writes, with the given symbol path."""
    saved = speedups.csymbols
    speedups.csymbols = compiled  # type: ignore[assignment]
    try:
        loaded = load_any_with_symbols(path, None, raw_payloads=True)  # as inspect reads it
        assert loaded.elf is not None
        order = elf.nm_size_sort_order(loaded.elf)
        report = compute_inspect_report(loaded.elf, order, top_n=10, sections=(), want_symbols=True,
                                        source=loaded.source, container=())
        return inspect_json.render_inspect_json([report])
    finally:
        speedups.csymbols = saved


def _same_both_ways(path: str) -> None:
    pure = _inspect_json(path, None)
    fast = _inspect_json(path, COMPILED)
    assert fast == pure


@needs_compiled
@pytest.mark.parametrize("name", FIXTURES)
def test_compiled_equals_pure_on_fixture(name: str, tmp_path: Path) -> None:
    _same_both_ways(str(fixture_elf(name, tmp_path)))


@needs_compiled
@pytest.mark.realkernel
@pytest.mark.parametrize("name", REAL)
def test_compiled_equals_pure_on_real_kernel(name: str, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    _same_both_ways(str(kernel_vmlinux(name)))


@needs_compiled
@pytest.mark.parametrize("name", ["i386-6.1-nr8", "i386-6.1-nr32"])
def test_compiled_equals_pure_on_kallsyms_images(name: str) -> None:
    """bzImages without .symtab: symbols from their kallsyms, sizes derived (the size_source column)."""
    path = Path(__file__).parent / "fixtures" / "kallsyms" / "images" / name / "bzImage"
    assert "derived" in _inspect_json(str(path), None)
    _same_both_ways(str(path))


@needs_compiled
def test_compiled_equals_pure_on_debian_vmlinuz() -> None:
    kdir = os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR")
    found = sorted(Path(kdir, "boot").glob("vmlinuz-*")) if kdir else []
    if not found:
        pytest.skip("CPUALLOC_DEBIAN_KERNEL_DIR is not set (an extracted linux-image-6.1.*-amd64-unsigned)")
    _same_both_ways(str(found[0]))


@needs_compiled
def test_compiled_equals_pure_on_debian_dbg_vmlinux() -> None:
    path = os.environ.get("CPUALLOC_DEBIAN_DBG_VMLINUX")
    if not path or not os.path.isfile(path):
        pytest.skip("CPUALLOC_DEBIAN_DBG_VMLINUX is not set (Debian's linux-image-*-dbg vmlinux)")
    _same_both_ways(path)


def test_version_names_the_symbol_path() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CPUALLOC_PURE_PYTHON"}
    env["PYTHONPATH"] = str(REPO)
    built = importlib.util.find_spec("cpualloc_cli._csymbols") is not None
    out = subprocess.run([sys.executable, "-m", "cpualloc_cli", "--version"], capture_output=True, text=True,
                         env=env, check=True).stdout
    want = "compiled (C extension" if built else "pure Python (the C extension is not built)"
    assert out.startswith("cpualloc 0.1.0") and f"symbol path: {want}" in out
    env["CPUALLOC_PURE_PYTHON"] = "1"
    out = subprocess.run([sys.executable, "-m", "cpualloc_cli", "--version"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert "symbol path: pure Python (CPUALLOC_PURE_PYTHON is set)" in out


# --- the C functions on generated tables --------------------------------------------------

# Names with shared prefixes (the 8-byte prefix compare), empty names, bytes above 0x7f (strcmp
# compares them unsigned), and what JSON escapes.
_name = st.one_of(
    st.sampled_from([b"", b"a", b"ab", b"abcdefgh", b"abcdefghi", b"abcdefgh\xff", b"__ksymtab_x", b"__ksymtab_y",
                     b"q\"uote", b"back\\slash", b"tab\there", b"\xc3\xa9t\xc3\xa9", b"\x7f", b"\x01"]),
    st.binary(max_size=12).map(lambda b: b.replace(b"\0", b"")),
)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[SymbolTable, list[int], bool]:
    names = draw(st.lists(_name, min_size=1, max_size=60))
    merge = draw(st.booleans())
    strtab = bytearray(b"\0")
    offsets = array("I")
    for n in names:
        at = strtab.find(n + b"\0") if merge else -1  # suffix merging, as ld does
        if at < 0:
            at = len(strtab)
            strtab += n + b"\0"
        offsets.append(at)
    count = len(names)
    code = draw(st.sampled_from("QI"))
    top = 2**64 - 1 if code == "Q" else 2**32 - 1
    sizes = array(code, draw(st.lists(st.sampled_from([0, 1, 8, 8, 8, 4096, top]), min_size=count, max_size=count)))
    values = array(code, draw(st.lists(st.integers(0, top), min_size=count, max_size=count)))
    letters = draw(st.lists(st.sampled_from("TtDdBbRrWVu?"), min_size=count, max_size=count))
    codes = sorted(SIZE_SOURCE_CODES.values())
    sources = draw(st.none() | st.lists(st.sampled_from(codes), min_size=count, max_size=count).map(bytes))
    symbols = SymbolTable(None, values, sizes, array("H", [1] * count), "".join(letters), bytes([1] * count),
                          bytes([1] * count), strtab=bytes(strtab), name_offsets=offsets, size_sources=sources)
    idx = sorted(set(draw(st.lists(st.integers(0, count - 1), max_size=count))))
    return symbols, idx, draw(st.booleans())


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(_tables())
def test_size_name_order_equals_python(case: tuple[SymbolTable, list[int], bool]) -> None:
    symbols, idx, _ = case
    table = symbols.string_table()
    assert table is not None and COMPILED is not None
    order, _names, same = elf._size_name_sorted(symbols, idx)
    assert COMPILED.size_name_order(idx, symbols.sizes, table[1], table[0]) == (order, same)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(_tables())
def test_json_rows_equal_python(case: tuple[SymbolTable, list[int], bool]) -> None:
    symbols, idx, sign_extend = case
    table = symbols.string_table()
    assert table is not None and COMPILED is not None
    saved = speedups.csymbols
    speedups.csymbols = None
    try:
        pure = inspect_json._symbol_rows(symbols, idx, sign_extend).text
    finally:
        speedups.csymbols = saved
    fast = COMPILED.json_rows(idx, symbols.values, symbols.sizes, symbols.nm_types, table[1], table[0], sign_extend,
                              symbols.size_sources)
    if fast is None:  # only when a name has a byte that cannot go between JSON quotes as it is
        strtab, offsets = table
        names = [strtab[offsets[i]:strtab.index(0, offsets[i])] for i in idx]
        assert any(b < 0x20 or b >= 0x7F or b in b'"\\' for n in names for b in n)
    else:
        assert fast == pure


@needs_compiled
def test_c_functions_check_every_index_and_offset() -> None:
    assert COMPILED is not None
    sizes, offsets = array("Q", [1, 2]), array("I", [0, 1])
    with pytest.raises(ValueError, match="out of range"):
        COMPILED.size_name_order([0, 2], sizes, offsets, b"\0a\0")
    with pytest.raises(ValueError, match="beyond the string table"):
        COMPILED.size_name_order([0, 1], sizes, array("I", [0, 3]), b"\0a\0")
    with pytest.raises(ValueError, match="NUL"):
        COMPILED.size_name_order([0, 1], sizes, offsets, b"\0a")
    with pytest.raises(ValueError, match="out of range"):
        COMPILED.json_rows([5], sizes, sizes, "TT", offsets, b"\0a\0", False, None)
    with pytest.raises(ValueError, match="out of range"):
        COMPILED.json_rows([1], sizes, sizes, "TT", offsets, b"\0a\0", False, b"s")  # one code for two symbols
    with pytest.raises(ValueError, match="beyond the string table"):
        COMPILED.json_rows([1], sizes, sizes, "TT", array("I", [0, 9]), b"\0a\0", False, None)
    with pytest.raises(ValueError, match="unsigned"):
        COMPILED.json_rows([0], array("d", [1.0]), sizes, "TT", offsets, b"\0a\0", False, None)
    assert (COMPILED.json_rows([1, 0], sizes, sizes, "Tt", offsets, b"\0a\0", False, None)
            == '[[2,2,"t","a","symtab"],[1,1,"T","","symtab"]]')
    assert (COMPILED.json_rows([1, 0], sizes, sizes, "Tt", offsets, b"\0a\0", False, b"ud")
            == '[[2,2,"t","a","derived"],[1,1,"T","","unbounded"]]')
    assert COMPILED.json_rows([0], sizes, sizes, "Tt", offsets, b"\0a\0", False, b"x?") is None  # not a code


# --- header-name tables against pyelftools ----------------------------------------------------

def _headers(path: str, tables: bool) -> tuple[object, ...]:
    saved = elf.USE_TABLES
    elf.USE_TABLES = tables
    try:
        image = elf.read_elf(path)
    finally:
        elf.USE_TABLES = saved
    return image.header, image.sections, image.segments


@pytest.mark.parametrize("name", FIXTURES)
def test_tables_equal_pyelftools_on_fixture(name: str, tmp_path: Path) -> None:
    path = str(fixture_elf(name, tmp_path))
    assert _headers(path, True) == _headers(path, False)


@pytest.mark.realkernel
@pytest.mark.parametrize("name", REAL)
def test_tables_equal_pyelftools_on_real_kernel(name: str, kernel_vmlinux) -> None:  # type: ignore[no-untyped-def]
    need_shared()
    path = str(kernel_vmlinux(name))
    assert _headers(path, True) == _headers(path, False)


def test_tables_equal_pyelftools_enums_for_every_machine() -> None:
    from elftools.elf import enums
    from elftools.elf.descriptions import describe_sh_type

    sh_dicts = [enums.ENUM_SH_TYPE_BASE, enums.ENUM_SH_TYPE_AMD64, enums.ENUM_SH_TYPE_ARM, enums.ENUM_SH_TYPE_AARCH64,
                enums.ENUM_SH_TYPE_RISCV, enums.ENUM_SH_TYPE_MIPS]
    for code, want in elf._SH_TYPE_NAMES.items():
        for d in sh_dicts:
            names = [k for k, v in d.items() if v == code and not k.startswith("_")]
            assert names, (code, want)
            assert {str(describe_sh_type(n)) for n in names} == {want}, code
    p_dicts = [enums.ENUM_P_TYPE_BASE, enums.ENUM_P_TYPE_ARM, enums.ENUM_P_TYPE_AARCH64, enums.ENUM_P_TYPE_MIPS,
               enums.ENUM_P_TYPE_RISCV]
    for code, want in elf._P_TYPE_NAMES.items():
        for d in p_dicts:
            names = [k for k, v in d.items() if v == code and not k.startswith("_")]
            assert [n.removeprefix("PT_") for n in names] == [want], code
    for code, want in elf._E_TYPE_NAMES.items():
        assert [k for k, v in enums.ENUM_E_TYPE.items() if v == code] == [f"ET_{want}"]


def test_inspect_imports_no_library_it_does_not_need(tmp_path: Path) -> None:
    """`inspect --format json --symbols VMLINUX`: the tables name every field of a kernel, the
    fast path parses the command line, and a file with its own .symtab needs neither the
    decompression nor the kallsyms adapters: none of them is even imported."""
    path = fixture_elf("x86_64-smp", tmp_path)
    code = ("import sys\nfrom cpualloc_cli.cli import run\n"
            f"code = run(['inspect', '--format', 'json', '--symbols', {str(path)!r}])\n"
            "mods = [m for m in sys.modules if m.split('.')[0] in ('elftools', 'click', 'rich')\n"
            "        or m.startswith(('cpualloc_cli.adapters.kallsyms', 'cpualloc_cli.adapters.decompress'))]\n"
            "print(code, sorted(mods), file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stderr
    assert err.strip() == "0 []"


@pytest.mark.parametrize("name", [*FIXTURES, "kallsyms:i386-6.1-nr8"])
def test_inspect_load_shortcut_equals_load_any_with_symbols(name: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli_in_process

    from cpualloc_cli.cli import inspect_run

    if name.startswith("kallsyms:"):
        path = str(Path(__file__).parent / "fixtures" / "kallsyms" / "images" / name[9:] / "bzImage")
    else:
        path = str(fixture_elf(name, tmp_path))
    argv = ["inspect", "--format", "json", "--symbols", path]
    quick = run_cli_in_process(argv)
    monkeypatch.setattr(inspect_run, "_load", lambda p, s: load_any_with_symbols(p, s, raw_payloads=True))
    assert run_cli_in_process(argv) == quick


# --- the click-free command line against click's ----------------------------------------------

@pytest.mark.parametrize("args", [
    ["inspect", "--format", "json", "--symbols", "IMAGE"],
    ["inspect", "IMAGE", "--symbols", "--format=json"],
    ["inspect", "--format", "json", "IMAGE"],
    ["inspect", "--format", "json", "--symbols", "NOSUCH"],
    ["inspect", "--format", "json", "--symbols", "DIR"],
    ["inspect", "--format", "json", "--symbols", "NOTELF"],
    ["inspect", "--format", "json", "--symbols", "EMPTY"],
])
def test_fast_command_line_equals_click(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli_in_process

    from cpualloc_cli.cli import fast

    (tmp_path / "notelf").write_bytes(b"not an ELF file\n")
    (tmp_path / "empty").write_bytes(b"")
    names = {"IMAGE": str(fixture_elf("x86_64-smp", tmp_path)), "NOSUCH": str(tmp_path / "nosuch"),
             "DIR": str(tmp_path), "NOTELF": str(tmp_path / "notelf"), "EMPTY": str(tmp_path / "empty")}
    argv = [names.get(a, a) for a in args]
    assert fast.fast_command(argv) is not None
    quick = run_cli_in_process(argv)
    monkeypatch.setattr(fast, "fast_command", lambda args: None)
    slow = run_cli_in_process(argv)
    assert quick == slow
    assert quick[0] in (0, 3)


@pytest.mark.parametrize("args", [
    ["inspect", "--format", "json"],
    ["inspect", "--format", "text", "--symbols", "x"],
    ["inspect", "--format", "json", "x", "y"],
    ["inspect", "--format", "json", "--format", "json", "x"],
    ["inspect", "--format", "json", "--symbols", "--symbols", "x"],
    ["inspect", "--format", "json", "--top", "3", "x"],
    ["inspect", "--format", "json", "-"],
    ["inspect", "--format", "json", "--", "x"],
    ["inspect", "--format", "json", "--help"],
    ["--traceback", "inspect", "--format", "json", "x"],
    ["inspect", "--format", "json", "-o", "out", "x"],
    ["inspect", "--format", "JSON", "x"],
    ["inspect", "--symbols", "x"],
    ["check", "--format", "json", "x"],
])
def test_other_command_lines_go_through_click(args: list[str]) -> None:
    from cpualloc_cli.cli import fast

    assert fast.fast_command(args) is None
