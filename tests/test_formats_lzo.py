"""LZO payloads decode out of the box: lzokay (a core dependency with wheels) first, python-lzo
(the optional `lzo` extra) as the fallback, and a clear error naming the file when neither is there.

Oracles: the fixtures in tests/fixtures/compressed were made by the real `lzop -9`, Kbuild's own
cmd_lzo (scripts/Makefile.lib), and must decode to payload.elf; when lzop is installed, streams
it makes at other levels and with several blocks (lzop's 256 KiB blocks) must round-trip too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from cpualloc_cli.adapters.decompress import read_image_payload
from cpualloc_cli.errors import CompressedImageError

HERE = FIXTURES / "compressed"
ELF = (HERE / "payload.elf").read_bytes()


def _have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name", ["payload.elf.lzo", "vmlinuz-lzo"])
def test_lzokay_alone_decodes_the_kernels_lzop_framing(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lzo", None)  # python-lzo absent, as on a fresh machine
    p = read_image_payload(str(HERE / name))
    assert p.codec == "lzo" and p.data == ELF


@pytest.mark.parametrize("name", ["payload.elf.lzo", "vmlinuz-lzo"])
def test_python_lzo_is_the_fallback(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _have("lzo"):
        pytest.skip("python-lzo (the optional `lzo` extra) is not installed")
    monkeypatch.setitem(sys.modules, "lzokay", None)
    p = read_image_payload(str(HERE / name))
    assert p.codec == "lzo" and p.data == ELF


def test_no_decoder_names_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "lzokay", None)
    monkeypatch.setitem(sys.modules, "lzo", None)
    path = str(HERE / "vmlinuz-lzo")
    with pytest.raises(CompressedImageError) as info:
        read_image_payload(path)
    line = info.value.one_line()
    assert line.startswith(f"{path}: no LZO decoder is installed")
    assert "lzokay" in line


@pytest.mark.parametrize("level", ["-1", "-3", "-9"])
def test_lzop_streams_of_several_blocks_round_trip(level: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("lzop") is None:
        pytest.skip("lzop is not installed (apt-get install lzop)")
    monkeypatch.setitem(sys.modules, "lzo", None)
    # 3 x 256 KiB lzop blocks and a partial one; compressible but not trivially so
    original = ELF + b"".join(i.to_bytes(4, "little") * (1 + i % 7) for i in range(120_000))
    assert len(original) > 3 * 256 * 1024
    src = tmp_path / "vmlinux.bin"
    src.write_bytes(original)
    packed = subprocess.run(["lzop", level, "-c", str(src)], stdout=subprocess.PIPE, check=True).stdout
    out = tmp_path / "vmlinux.bin.lzo"
    out.write_bytes(packed)
    p = read_image_payload(str(out))
    assert p.codec == "lzo" and p.data == original
