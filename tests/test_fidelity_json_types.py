"""Issue 18 item 7: one type rule for the JSON of `inspect` and `extract`, stated in
schemas/inspect.schema.json: sizes and numeric header fields are integers (never strings), and
addresses are what GNU nm prints (MIPS32 sign-extended, bfd/elf32-mips.c
elf_backend_sign_extend_vma). Oracles: the GNU nm/size records beside the MIPS fixture, and
extract's own summary of the same container for the container facts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, REPO, run_cli

SCHEMA = json.loads((REPO / "schemas" / "inspect.schema.json").read_text())
MIPS = FIXTURES / "elf" / "mips-smp"
COMPRESSED = FIXTURES / "compressed"


def _inspect(*args: str) -> dict:  # type: ignore[type-arg]
    rc, out, err = run_cli(["inspect", "--format", "json", *args])
    assert rc == 0, err
    doc = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return doc  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["bzImage-xz", "vmlinuz-zstd", "Image.gz"])
def test_container_numbers_are_integers_and_agree_with_extract(tmp_path: Path, name: str) -> None:
    (img,) = _inspect(str(COMPRESSED / name))["images"]
    c = img["container"]
    assert isinstance(c["compressed_size_bytes"], int) and isinstance(c["decompressed_size_bytes"], int)
    rc, out, err = run_cli(["extract", "--format", "json", str(COMPRESSED / name), "-o", str(tmp_path / "out")])
    assert rc == 0, err
    ex = json.loads(out)
    assert c["kind"] == ex["container"] and c["codec"] == ex["codec"]
    for key in ("compressed_size_bytes", "decompressed_size_bytes", "stream_offset"):
        assert c[key] == ex[key], key
    for key, value in ex["header"].items():
        assert c[key] == value and type(c[key]) is type(value), key
    assert c["decompressed_size_bytes"] == (tmp_path / "out").stat().st_size


def _nm_rows() -> set[tuple[int, int, str, str]]:
    rows = set()
    for line in (MIPS / "nm.txt").read_text().splitlines():
        value, size, letter, name = line.split()
        rows.add((int(value, 16), int(size, 16), letter, name))
    return rows


def test_mips32_addresses_are_sign_extended_as_nm_prints_them() -> None:
    (img,) = _inspect("--symbols", str(MIPS / "vmlinux"))["images"]
    # readelf -h: "Entry point address: 0x80100000"; bit 31 set -> 0xffffffff80100000
    assert "0x80100000" in (MIPS / "readelf-h.txt").read_text()
    assert img["header"]["entry"] == 0xFFFFFFFF80100000
    # every row of `nm -S --size-sort` (GNU nm 2.40, recorded) is a row of the JSON table
    assert img["symbols"]["columns"] == ["address", "size_bytes", "type", "name", "size_source"]
    assert {r[4] for r in img["symbols"]["rows"]} == {"symtab"}  # the vmlinux's own .symtab
    json_rows = {tuple(r[:4]) for r in img["symbols"]["rows"]}
    assert _nm_rows() <= json_rows
    assert all(r[0] >= 0xFFFFFFFF80000000 for r in _nm_rows())
    # size -A (recorded) prints the same addresses the JSON gives for the sections
    sysv = {s["name"]: s["address"] for s in img["size_sysv"]["sections"]}
    sections = {s["name"]: s["address"] for s in img["sections"]}
    for line in (MIPS / "size-A.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[2].isdigit():
            assert sysv[parts[0]] == int(parts[2]) == sections[parts[0]], parts[0]
    top = img["top_symbols"][0]
    assert (top["address"], top["size_bytes"], top["type"], top["name"]) in json_rows
    for e in img["extents"]:
        assert e["start"] >= 0xFFFFFFFF80000000 and e["end"] - e["start"] == e["size_bytes"]
    assert all(g["vaddr"] >= 0xFFFFFFFF80000000 for g in img["segments"] if g["type"] == "LOAD")


def test_other_32_bit_addresses_are_not_sign_extended() -> None:
    d = FIXTURES / "elf" / "i686-smp"
    (img,) = _inspect(str(d / "vmlinux"))["images"]
    entry = next(line.split()[-1] for line in (d / "readelf-h.txt").read_text().splitlines() if "Entry point" in line)
    assert int(entry, 16) >= 0x80000000  # bit 31 set, and still not sign-extended: only MIPS is
    assert img["header"]["entry"] == int(entry, 16)
