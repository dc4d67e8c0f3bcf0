"""Terminal and markup injection (issue 17, class 6) and malformed JUnit from control characters
(class 11): names, paths, .config lines and policy strings carrying rich markup (`[bold]`, `[/]`),
clear-screen (`ESC [2J`), OSC window-title (`ESC ]0;title BEL`) sequences and CR reach no format
raw. Every command exits 0 or 1 (a markup crash was exit 4), stdout holds no ESC byte, the
control characters are shown as visible escapes (`\\x1b`), JSON and SARIF parse, JUnit is
well-formed XML, and no GitHub workflow command is injected.

The hostile inputs are made here from the repository's fixtures by patching names in place
(same length, so every offset stays valid): the ELF's .strtab and .shstrtab, the scale fixtures'
symbol names, a file name, a .config and a policy file.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, run_cli_in_process

SAMPLES = REPO / "samples"
ELF = FIXTURES / "elf" / "sparc64-smp" / "vmlinux"
SYNTH = FIXTURES / "scale" / "synthetic"

# same-length replacements (NUL-terminated names in string tables)
PATCHES = {
    b"init_stack\x00": b"[bold]\x1b[2J\x00",                 # markup + clear screen (BSS symbol)
    b"boot_command_line\x00": b"\x1b]0;title\x07[/]\rabc\x00",  # OSC title + a closing tag + CR
    b"runqueues\x00": b"[b]\x1b[0m[/\x00",                   # per-cpu symbol
    b".comment\x00": b"[/]\x1b[2J\r\x00",                     # a section name
}
SYNTH_PATCH = {b"online_mask\x00": b"[/]\x1b[2J\rmsk\x00"}  # a symbol that scales with NR_CPUS


def patched(src: Path, dst: Path, patches: dict[bytes, bytes]) -> Path:
    data = src.read_bytes()
    for old, new in patches.items():
        assert len(old) == len(new) and data.count(old) == 1, old
        data = data.replace(old, new)
    dst.write_bytes(data)
    return dst


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("hostile")
    elf = patched(ELF, d / "vm[bold]\x1b]0;pwned\x07lin\rux", PATCHES)  # a hostile path too
    synth = [str(patched(SYNTH / f"synth-n{n}.o", d / f"s[b]\x1b[2J{n}.o", SYNTH_PATCH)) + f"@{n}" for n in (10, 64, 100)]
    cfg = d / "hostile.config"
    cfg.write_bytes((SAMPLES / "sparc64-nr64-static.config").read_bytes()
                    + b"# [bold]\x1b[2J a comment\n"
                    + b"CONFIG_HOSTILE_[/]=y\n"
                    + b"CONFIG_CMDLINE=\"[/]\x1b]0;title\x07\"\n"
                    + b"CONFIG_X\x1b[2J=y\n")
    policy = d / "cpualloc.toml"
    policy.write_text(
        'crashkernel = "4KiB"\n'
        '[[limit]]\nid = "ours.flash"\ntitle = "flash [bold]part[/] \\u001b[2J \\u001b]0;t\\u0007 \\r end"\n'
        'measure = "image_extent"\nbound = "4KiB"\nsources = ["manual \\u001b[31mred [/] \\u0000 nul"]\n'
        'note = "a note \\u0000 with NUL and \\u0008 backspace"\n'
        '[[waiver]]\nrule = "kdump.crashkernel-fit"\nreason = "because [/] \\u001b[2J \\u000b"\n', encoding="utf-8")
    return {"elf": str(elf), "config": str(cfg), "policy": str(policy), "synth": " ".join(synth), "dir": str(d)}


def run(args: list[str]) -> tuple[int, bytes, str]:
    code, stdout, stderr = run_cli_in_process(args, cwd=REPO, drop=("COLUMNS", "FORCE_COLOR"))
    return code, stdout, stderr.decode("utf-8", "replace")


def assert_safe(args: list[str], fmt: str) -> str:
    code, out, err = run(args)
    assert code in (0, 1), f"exit {code}: {err}"
    assert b"\x1b" not in out, out
    assert b"\x07" not in out and b"\x0b" not in out and b"\x00" not in out
    text = out.decode("utf-8", "surrogateescape")
    if fmt in ("json", "sarif"):
        json.loads(text)  # JSON escapes control characters itself
    elif fmt == "junit":
        ET.fromstring(out)
    else:
        assert "\r" not in text, text
    if fmt in ("text", "github"):
        assert "\\x1b" in text, text  # shown, visibly
    if fmt == "github":
        for line in text.splitlines():
            assert re.match(r"^::(error|warning|notice) [^:]*::", line) or line.startswith("cpualloc check: "), line
    return text


CHECK_FORMATS = ["text", "json", "sarif", "github", "markdown", "junit"]


@pytest.mark.parametrize("fmt", CHECK_FORMATS)
def test_check_every_format(fmt: str, hostile: dict[str, str]) -> None:
    text = assert_safe(["check", "--format", fmt, "--policy", hostile["policy"], "--config", hostile["config"],
                        hostile["elf"]], fmt)
    if fmt == "markdown":
        assert "[bold]" not in text.replace("\\[bold\\]", "")  # escaped for Markdown


@pytest.mark.parametrize("fmt", ["text", "junit", "github", "markdown"])
def test_check_strict_findings_from_config_lines(fmt: str, hostile: dict[str, str]) -> None:
    assert_safe(["check", "--strict", "--format", fmt, "--config", hostile["config"], hostile["elf"]], fmt)


@pytest.mark.parametrize("extra", [[], ["--symbols"], ["--section", ".bss"], ["--top", "3"]])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_inspect(extra: list[str], fmt: str, hostile: dict[str, str]) -> None:
    assert_safe(["inspect", "--format", fmt, *extra, hostile["elf"]], fmt)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_footprint(fmt: str, hostile: dict[str, str]) -> None:
    assert_safe(["footprint", "--format", fmt, "--explain", "--config", hostile["config"], hostile["elf"]], fmt)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_sweep(fmt: str, hostile: dict[str, str]) -> None:
    code, out, err = run(["sweep", "--format", fmt, "--config", hostile["config"], "--limit", "image_extent=8MiB"])
    assert code in (0, 1), err
    assert b"\x1b" not in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_config(fmt: str, hostile: dict[str, str]) -> None:
    assert_safe(["config", "--format", fmt, "--config", hostile["config"]], fmt)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_scale(fmt: str, hostile: dict[str, str]) -> None:
    assert_safe(["scale", "--format", fmt, *hostile["synth"].split(" "), "--at", "200"], fmt)


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_diff(fmt: str, hostile: dict[str, str]) -> None:
    text = assert_safe(["diff", "--format", fmt, str(ELF), hostile["elf"]], fmt)
    if fmt == "markdown":
        assert "<" not in re.sub(r"</?(details|summary)>", "", text)  # no HTML from a name


def test_junit_control_characters_from_a_policy(hostile: dict[str, str]) -> None:
    code, out, _ = run(["check", "--format", "junit", "--policy", hostile["policy"], hostile["elf"]])
    assert code in (0, 1)
    root = ET.fromstring(out)  # NUL, BS, VT, ESC from the policy would make it malformed
    blob = ET.tostring(root, encoding="unicode")
    assert "\\x1b" in blob and "\\x00" in blob


def test_tools_for_a_person_see_no_escape(hostile: dict[str, str]) -> None:
    """The markup names do not style anything: '[bold]' is printed as itself."""
    code, out, _ = run(["inspect", "--top", "20", hostile["elf"]])
    assert code == 0
    text = out.decode()
    assert "[bold]\\x1b[2J" in text and "[b]\\x1b[0m[/" in text


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[2J", "\\x1b[2J"),                  # clear screen
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC window title, BEL-terminated
    ("a\rb\nc\td", "a\\x0db\\x0ac\\x09d"),     # CR, LF, tab: a name is one line
    ("\x7f\x9b", "\\x7f\\x9b"),                # DEL, C1 CSI
    ("\u202eevil", "\\u202eevil"),             # bidi override
    ("\udc9b\udcc3", "\\x9b\udcc3"),           # undecodable bytes: C1 made visible, others kept for the byte
    ("[bold]x[/] \\ ok", "[bold]x[/] \\ ok"),   # clean() leaves markup to markup()/text()
])
def test_safe_clean(raw: str, shown: str) -> None:
    from cpualloc_cli.render import safe

    assert safe.clean(raw) == shown


def test_safe_markup_and_text_are_literal() -> None:
    import io

    from rich.console import Console

    from cpualloc_cli.render import safe

    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=True, color_system="standard", highlight=False)
    console.print(f"[red]{safe.markup('[/]x[bold]')}[/red]", safe.text("[/]\x1b[2J"))
    out = buf.getvalue()
    assert "[/]x[bold]" in out and "[/]\\x1b[2J" in out
    assert "\x1b[2J" not in out and "\x1b[1m" not in out  # no clear screen, no bold from the name


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_limits_shows_policy_strings_escaped(fmt: str, hostile: dict[str, str]) -> None:
    """`limits` prints the policy's own limits (title, sources, note) beside the database's."""
    text = assert_safe(["limits", "--format", fmt, "--policy", hostile["policy"]], fmt)
    if fmt == "text":
        assert "flash [bold]part[/] \\x1b[2J \\x1b]0;t\\x07 \\x0d end" in text, text
        assert "manual \\x1b[31mred [/] \\x00 nul" in text


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_extract_summary_escapes_the_image_path(fmt: str, tmp_path: Path) -> None:
    import gzip

    image = tmp_path / "Image[bold]\x1b[2J\x1b]0;t\x07.gz"
    image.write_bytes(gzip.compress(ELF.read_bytes(), mtime=0))
    text = assert_safe(["extract", "--format", fmt, str(image), "-o", str(tmp_path / "out.elf")], fmt)
    assert (tmp_path / "out.elf").read_bytes() == ELF.read_bytes()
    if fmt == "text":
        assert "Image[bold]\\x1b[2J\\x1b]0;t\\x07.gz" in text, text
