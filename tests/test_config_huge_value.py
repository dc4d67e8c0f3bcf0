"""A `.config` is untrusted data: a 1 MiB value is reported (out of range, fallback to the
default) but never echoed back whole, so every output format stays small (fuzz/run.py found a
case taking 4.6 s of the 5 s bound just to render one such line)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_huge_value_is_clipped_in_every_output(tmp_path: Path) -> None:
    cfg = tmp_path / "huge.config"
    cfg.write_text("CONFIG_ARCH_SPARC64=y\nCONFIG_NR_CPUS=64" + "A" * (1 << 20) + "\n")
    rc, out, err = run_cli(["config", "--config", str(cfg), "--format", "json"])
    assert rc == 0, err
    assert len(out) < 200_000
    doc = json.loads(out)
    assert doc["values"]["NR_CPUS"] == "64"  # bundled sparc64 default: the value given does not take
    texts = [f["message"] for f in doc["findings"]]
    assert texts and all(len(t) < 1000 for t in texts)
    assert all(t.endswith(" characters)") for t in texts)  # each one clipped, saying how long it was
    rc, out, _ = run_cli(["config", "--config", str(cfg)])
    assert rc == 0 and len(out) < 200_000
