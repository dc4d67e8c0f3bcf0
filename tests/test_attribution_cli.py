"""inspect --by on an ELF compiled here with gcc -g: CSV/TSV sums equal the JSON's, the JSON's
total equals GNU `size` (live), no DWARF is exit 3. Skips without gcc/size."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli_subprocess

SRC = "int a[100];\nint f(int x){return x+a[x];}\nint main(void){return f(1);}\n"


@pytest.fixture(scope="module")
def elfs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not shutil.which("gcc") or not shutil.which("size"):
        pytest.skip("needs gcc and GNU size")
    d = tmp_path_factory.mktemp("attr")
    (d / "t.c").write_text(SRC)
    subprocess.run(["gcc", "-g", "-O1", "t.c", "-o", "t"], cwd=d, check=True)
    subprocess.run(["gcc", "-O1", "t.c", "-o", "t0"], cwd=d, check=True)
    return d / "t", d / "t0"


def test_csv_tsv_sums_equal_json_and_size(elfs: tuple[Path, Path]) -> None:
    t, _ = elfs
    rc, out, _err = run_cli_subprocess(["inspect", str(t), "--by", "file", "--format", "json"])
    assert rc == 0
    attr = json.loads(out)["attribution"]
    text, data, bss = map(int, subprocess.run(["size", str(t)], capture_output=True, text=True,
                                              check=True).stdout.splitlines()[1].split()[:3])
    assert attr["total_bytes"] == text + data + bss
    assert [n["name"] for n in attr["tree"] if n["name"] == "t.c"] == ["t.c"]
    for fmt, delim in (("csv", ","), ("tsv", "\t")):
        rc, out, _err = run_cli_subprocess(["inspect", str(t), "--by", "file", "--format", fmt])
        assert rc == 0
        rows = list(csv.reader(io.StringIO(out.decode()), delimiter=delim))
        assert rows[0] == ["compileunits", "text", "data", "rodata", "bss", "percpu", "init", "vmsize"]
        assert sum(int(r[-1]) for r in rows[1:]) == attr["total_bytes"]
        for col, kind in enumerate(rows[0][1:-1], start=1):
            assert sum(int(r[col]) for r in rows[1:]) == sum(n["bytes_by_kind"][kind] for n in attr["tree"])


def test_no_dwarf_is_exit_3(elfs: tuple[Path, Path]) -> None:
    _, t0 = elfs
    rc, _out, err = run_cli_subprocess(["inspect", str(t0), "--by", "file"])
    assert rc == 3
    assert b"no DWARF compile units: build with CONFIG_DEBUG_INFO" in err


def test_json_matches_schema(elfs: tuple[Path, Path]) -> None:
    import jsonschema

    t, _ = elfs
    rc, out, _err = run_cli_subprocess(["inspect", str(t), "--by", "dir:1", "--top", "1", "--format", "json"])
    assert rc == 0
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "attribution.schema.json").read_text())
    jsonschema.validate(json.loads(out)["attribution"], schema)
