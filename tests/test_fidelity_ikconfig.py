"""Issue 18 item 4: `extract --ikconfig` and `config --config-from` on a compressed configs.ko.

The fixtures are a real configs.ko (Linux 6.1 kernel/configs.c built against Debian's
linux-headers, embedding Debian's cloud-amd64 config) compressed with Kbuild's own command
lines: tests/fixtures/ikconfig/make_configs_ko.sh regenerates them. The expected text is the
config file the script embedded (`config`), not anything cpualloc printed.
zstd stores the (incompressible) gzip block as raw literals, so the IKCFG_ST marker and a
gzip header show in the compressed file with the block broken up: the marker must be looked
for only after decompressing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, run_cli

from cpualloc_cli.adapters.ikconfig import read_ikconfig

HERE = FIXTURES / "ikconfig"
CONFIG = (HERE / "config").read_text()
# gzip -n -f, xz --check=crc32 --lzma2=dict=1MiB, zstd -T0 --rm -f -q (scripts/Makefile.modinst),
# lz4 -l -9 (scripts/Makefile.lib cmd_lz4), plain `lz4` (frame format).
KINDS = ["configs.ko", "configs.ko.gz", "configs.ko.xz", "configs.ko.zst", "configs.ko.lz4", "configs.ko.lz4frame"]


def test_zstd_fixture_shows_the_marker_in_its_compressed_bytes() -> None:
    # The trap the issue describes: the marker is visible before decompressing.
    assert b"IKCFG_ST\x1f\x8b\x08" in (HERE / "configs.ko.zst").read_bytes()


@pytest.mark.parametrize("name", KINDS)
def test_read_ikconfig(name: str) -> None:
    assert read_ikconfig(str(HERE / name)) == CONFIG


@pytest.mark.parametrize("name", ["configs.ko.zst", "configs.ko.lz4", "configs.ko.lz4frame"])
def test_extract_ikconfig_cli(tmp_path: Path, name: str) -> None:
    out = tmp_path / "config"
    rc, _, err = run_cli(["extract", "--ikconfig", str(HERE / name), "-o", str(out)])
    assert rc == 0, err
    assert out.read_text() == CONFIG


@pytest.mark.parametrize("name", ["configs.ko.zst", "configs.ko.lz4"])
def test_config_from_compressed_configs_ko(name: str) -> None:
    rc, out, err = run_cli(["config", "--config-from", str(HERE / name), "--format", "json"])
    assert rc in (0, 1), err
    doc = json.loads(out)
    assert doc["config_path"] == f"{HERE / name}:ikconfig"
    # Debian's cloud-amd64 config (the embedded file) says CONFIG_NR_CPUS=8192.
    assert "CONFIG_NR_CPUS=8192\n" in CONFIG
    assert doc["symbols"]["NR_CPUS"]["value"] == "8192"  # a 6.1 config: taken as written


def test_truncated_lz4_frame_is_bad_input(tmp_path: Path) -> None:
    data = (HERE / "configs.ko.lz4frame").read_bytes()
    bad = tmp_path / "configs.ko.lz4"
    bad.write_bytes(data[: len(data) // 2])
    rc, _, err = run_cli(["extract", "--ikconfig", str(bad), "-o", str(tmp_path / "out")])
    assert rc == 3 and "lz4" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_lz4_frame_bomb_is_capped(tmp_path: Path) -> None:
    import lz4.frame

    bomb = tmp_path / "bomb.lz4"
    bomb.write_bytes(lz4.frame.compress(b"\0" * (4 << 20)))
    rc, _, err = run_cli(["extract", "--ikconfig", str(bomb), "-o", str(tmp_path / "out"), "--max-size", "1MiB"])
    assert rc == 3 and "more than" in err
