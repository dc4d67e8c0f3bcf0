"""Tables never cut a number, an address or a rule id (issue 11, item 10).

Each command's text output is rendered on a real terminal (a pty) of 60, 80 and 120 columns
(COLUMNS and the pty's window size) and piped (fixed 120 columns): no ellipsis anywhere, and every
number the same run's JSON reports for the figures the tables show appears whole in the text
(thousands separators allowed). The JSON is the oracle for which numbers must appear; the
numbers themselves are checked against GNU tools elsewhere (test_inspect_fixtures.py, ...).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import FIXTURES, REPO

SAMPLES = REPO / "samples"
SYNTH = FIXTURES / "scale" / "synthetic"
WIDTHS = (60, 80, 120)


def _env(width: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env["NO_COLOR"] = "1"
    if width is not None:
        env["COLUMNS"] = str(width)
    return env


def run_tty(args: list[str], width: int) -> str:
    """stdout on a pseudo-terminal `width` columns wide (what a person sees)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "cpualloc_cli", *args], cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE, env=_env(width))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    assert proc.returncode in (0, 1), proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def run_pipe(args: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "cpualloc_cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=_env(None), timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


def ints(node: Any, keys: set[str]) -> Iterator[int]:
    """Every integer under one of `keys`, anywhere in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, int) and not isinstance(v, bool):
                yield v
            elif k in keys and isinstance(v, dict):
                yield from (x for x in v.values() if isinstance(x, int) and not isinstance(x, bool))
            else:
                yield from ints(v, keys)
    elif isinstance(node, list):
        for v in node:
            yield from ints(v, keys)


def _sections_dropped(doc: Any) -> Any:
    """inspect: section rows show sizes in hex (readelf's format); leave them out of the decimal check."""
    for img in doc.get("images", []):
        img.pop("sections", None)
        img.pop("segments", None)
        img.pop("size_sysv", None)  # size -A rows: not in the text report
    return doc


# command, its args, the JSON keys whose integers the text must show, a JSON pre-filter
CASES: dict[str, tuple[list[str], set[str], Callable[[Any], Any]]] = {
    "check": (["check", "--config", str(SAMPLES / "sparc64-nr64-static.config"), str(SAMPLES / "sparc64-smp.elf")],
              {"measured", "bound", "margin"}, lambda d: d["results"]),
    "inspect": (["inspect", "--top", "5", str(FIXTURES / "elf" / "x86_64-smp" / "vmlinux")],
                {"size_bytes", "bss_bytes", "text", "data", "bss", "dec"}, _sections_dropped),
    "footprint": (["footprint", "--config", str(SAMPLES / "sparc64-nr64-static.config"), str(SAMPLES / "sparc64-smp.elf")],
                  {"measures"}, lambda d: d["designs"]),
    "sweep": (["sweep", "--config", str(SAMPLES / "sparc64-nr64-static.config"), "--limit", "image_extent=8MiB"],
              {"largest_fitting", "smallest_failing", "bound"}, lambda d: d["fits"]),
    "scale": (["scale", str(SYNTH / "synth-n10.o") + "@10", str(SYNTH / "synth-n64.o") + "@64",
               str(SYNTH / "synth-n100.o") + "@100", "--at", "4096", "--limit", "bss=8KiB"],
              {"reference_bytes", "predicted_bytes", "bound_bytes"}, lambda d: d),
    "config": (["config", "--arch", "sparc64", "--set", "NR_CPUS=4096"], set(), lambda d: d),
}

_JSON: dict[str, Any] = {}


def json_doc(name: str) -> Any:
    if name not in _JSON:
        args = CASES[name][0]
        _JSON[name] = json.loads(run_pipe([*args, "--format", "json"]))
    return _JSON[name]


def assert_whole(name: str, text: str) -> None:
    assert "\u2026" not in text, f"{name}: an ellipsis in the text output:\n{text}"
    plain = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 8,388,608 -> 8388608
    args, keys, pick = CASES[name]
    wanted = sorted(set(ints(pick(json_doc(name)), keys)))
    if keys:
        assert wanted, f"{name}: the JSON has none of {keys}: the test checks nothing"
    for n in wanted:
        assert re.search(rf"(?<![\d.]){re.escape(str(n))}(?![\d])", plain), f"{name}: {n} is not whole in:\n{text}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_widths_cut_no_number(name: str, width: int) -> None:
    text = run_tty(CASES[name][0], width)
    assert_whole(name, text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_piped_output_cuts_no_number(name: str) -> None:
    assert_whole(name, run_pipe(CASES[name][0]))


def test_the_check_table_folds_to_blocks_on_60_columns() -> None:
    """At 60 columns the check table cannot hold its numbers side by side: each row becomes a
    block, every figure whole (8,454,144 = 64 KiB base + 64 x 128 KiB, the sample's extent)."""
    text = run_tty(CASES["check"][0], 60)
    assert "measured: 8,454,144 B" in text and "bound: 8,388,608 B" in text
