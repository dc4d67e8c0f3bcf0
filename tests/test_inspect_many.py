"""`inspect` over several files in one process: each file's numbers are the ones GNU size
recorded for it (tests/fixtures/elf/*/size.txt, written by binutils), the order of the
output is the order of the arguments, and a bad file among good ones gives its own
`cpualloc: error: PATH: ...` line, a summary line, exit 3, and the good files still reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_cli

ELF = Path(__file__).parent / "fixtures" / "elf"
GOOD = {"ko": ELF / "aarch64-module-ko" / "fixture.ko", "smp": ELF / "x86_64-smp" / "vmlinux",
        "up": ELF / "x86_64-up" / "vmlinux"}


def gnu_size(name: str) -> dict[str, int]:
    """text/data/bss/dec from the fixture's recorded `size` output (GNU binutils, Berkeley format)."""
    lines = (GOOD[name].parent / "size.txt").read_text().splitlines()
    text, data, bss, dec = (int(v) for v in lines[1].split()[:4])
    return {"text": text, "data": data, "bss": bss, "dec": dec}


def sizes(doc: dict[str, object]) -> list[dict[str, int]]:
    images = doc["images"]
    assert isinstance(images, list)
    return [{k: im["size"][k] for k in ("text", "data", "bss", "dec")} for im in images]


def test_many_files_in_argument_order_equal_gnu_size(tmp_path: Path) -> None:
    order = ["up", "ko", "smp", "ko"]
    rc, out, err = run_cli(["inspect", "--format", "json", *(str(GOOD[n]) for n in order)])
    assert rc == 0, err
    doc = json.loads(out)
    assert [im["path"] for im in doc["images"]] == [str(GOOD[n]) for n in order]
    assert sizes(doc) == [gnu_size(n) for n in order]


def test_many_equals_single_outputs_combined() -> None:
    names = ["ko", "smp"]
    rc, out, err = run_cli(["inspect", "--format", "json", *(str(GOOD[n]) for n in names)])
    assert rc == 0, err
    many = json.loads(out)["images"]
    singles = []
    for n in names:
        rc1, out1, err1 = run_cli(["inspect", "--format", "json", str(GOOD[n])])
        assert rc1 == 0, err1
        singles.extend(json.loads(out1)["images"])
    assert many == singles


def test_bad_file_among_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ko"
    bad.write_bytes(b"\x7fELF" + b"\x00" * 12)  # an ELF ident cut short: truncated header
    missing = tmp_path / "missing.ko"
    args = [str(GOOD["ko"]), str(bad), str(missing), str(GOOD["smp"])]
    rc, out, err = run_cli(["inspect", "--format", "json", *args])
    assert rc == 3
    doc = json.loads(out)
    assert [im["path"] for im in doc["images"]] == [str(GOOD["ko"]), str(GOOD["smp"])]
    assert sizes(doc) == [gnu_size("ko"), gnu_size("smp")]
    lines = err.splitlines()
    assert any(line.startswith(f"cpualloc: error: {bad}: ") for line in lines), err
    assert any(line.startswith(f"cpualloc: error: {missing}: ") for line in lines), err
    assert lines[-1] == "cpualloc: error: 2 of 4 inputs could not be read; the others are reported"
    assert "Traceback" not in err
    # the document says which inputs failed, with the same lines stderr shows, in argument order
    assert [f["path"] for f in doc["failures"]] == [str(bad), str(missing)]
    assert [f"cpualloc: error: {f['error']}" for f in doc["failures"]] == lines[:2]
    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "schemas" / "inspect.schema.json").read_text())
    jsonschema.validate(doc, schema)


def test_bad_file_among_good_ones_written_with_output(tmp_path: Path) -> None:
    """-o with a bad input among several: the file is written, and it is the whole report of
    the run (the good inputs and the list of failures), not a cut-off document."""
    missing = tmp_path / "missing.ko"
    out_file = tmp_path / "report.json"
    rc, out, err = run_cli(["inspect", "--format", "json", "-o", str(out_file), str(GOOD["ko"]), str(missing)])
    assert rc == 3 and out == ""
    doc = json.loads(out_file.read_text())
    assert [im["path"] for im in doc["images"]] == [str(GOOD["ko"])]
    assert doc["failures"][0]["path"] == str(missing)


def test_one_bad_file_alone_keeps_the_single_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.ko"
    rc, out, err = run_cli(["inspect", "--format", "json", str(missing)])
    assert rc == 3 and out == ""
    assert err.startswith(f"cpualloc: error: {missing}: ") and "inputs could not be read" not in err


@pytest.mark.skipif(not os.environ.get("CPUALLOC_DEBIAN_KERNEL_DIR"), reason="needs CPUALLOC_DEBIAN_KERNEL_DIR")
def test_debian_modules_equal_gnu_size_run_now() -> None:
    import shutil
    import subprocess

    if shutil.which("size") is None:
        pytest.skip("needs GNU size")
    root = Path(os.environ["CPUALLOC_DEBIAN_KERNEL_DIR"]) / "lib" / "modules"
    kos = sorted(str(p) for p in root.rglob("*.ko"))[:40]
    if not kos:
        pytest.skip("no .ko under the Debian package")
    gnu = subprocess.run(["size", *kos], capture_output=True, text=True, check=True).stdout.splitlines()[1:]
    want = [dict(zip(("text", "data", "bss", "dec"), (int(v) for v in ln.split()[:4]), strict=True)) for ln in gnu]
    rc, out, err = run_cli(["inspect", "--format", "json", *kos])
    assert rc == 0, err
    assert sizes(json.loads(out)) == want


def test_build_dir_walks_modules_order(tmp_path: Path) -> None:
    """A modules.order fixture written here: a 6.1-style `.ko` line, a 6.2-style `.o` line (read
    as the .ko beside it), a line whose module is missing (its own error, exit 3)."""
    import shutil

    (tmp_path / "drivers" / "a").mkdir(parents=True)
    shutil.copy(GOOD["ko"], tmp_path / "drivers" / "a" / "one.ko")
    shutil.copy(GOOD["ko"], tmp_path / "two.ko")
    (tmp_path / "modules.order").write_text("two.o\ndrivers/a/one.ko\n")
    rc, out, err = run_cli(["inspect", "--format", "json", "--build-dir", str(tmp_path)])
    assert rc == 0, err
    doc = json.loads(out)
    assert [im["path"] for im in doc["images"]] == [str(tmp_path / "two.ko"), str(tmp_path / "drivers/a/one.ko")]
    assert sizes(doc) == [gnu_size("ko")] * 2
    (tmp_path / "modules.order").write_text("two.ko\ngone.ko\n")
    rc, out, err = run_cli(["inspect", "--format", "json", "--build-dir", str(tmp_path)])
    assert rc == 3
    assert [im["path"] for im in json.loads(out)["images"]] == [str(tmp_path / "two.ko")]
    assert f"cpualloc: error: {tmp_path / 'gone.ko'}: " in err


def test_build_dir_without_modules_order(tmp_path: Path) -> None:
    rc, out, err = run_cli(["inspect", "--build-dir", str(tmp_path)])
    assert rc == 3 and out == ""
    assert err.startswith(f"cpualloc: error: {tmp_path / 'modules.order'}: cannot read modules.order")


def test_build_dir_rejects_paths_leaving_the_tree(tmp_path: Path) -> None:
    (tmp_path / "modules.order").write_text("../outside.ko\n")
    rc, _, err = run_cli(["inspect", "--build-dir", str(tmp_path)])
    assert rc == 3 and f"{tmp_path / 'modules.order'}:1: " in err
