"""`cpualloc extract IMAGE -o OUT`: write the vmlinux (or the raw arm/arm64 payload) out of a
compressed kernel image; `--ikconfig` writes the embedded `.config` instead.

The output file is written atomically: a failed run leaves no partial file and never
truncates an existing one. The summary (text or `--format json`) goes to stdout, unless the
extracted config itself goes there (`-o -`), in which case the summary is not printed.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from cpualloc_cli.cli.common import OutputOptions, check_output_name, emit, make_output, note, progress, write_atomic
from cpualloc_cli.errors import InputError, UsageError
from cpualloc_cli.model.payload import KIND_ELF, Payload
from cpualloc_cli.render.safe import clean


def _parse_cap(text: str | None) -> int:
    from cpualloc_cli.adapters.decompress import DEFAULT_CAP_BYTES
    from cpualloc_cli.cli.common import size_option

    value = size_option(text, "--max-size")
    if value is None:
        return DEFAULT_CAP_BYTES
    if value <= 0:
        raise UsageError("--max-size must be positive")
    return value


def payload_summary(payload: Payload, output: str) -> dict[str, Any]:
    """The JSON payload of `extract --format json` (sizes as integer bytes)."""
    return {
        "image": payload.path,
        "output": output,
        "what": "payload",
        "container": payload.kind,
        "codec": payload.codec,
        "file_size_bytes": payload.file_size_bytes,
        "compressed_size_bytes": payload.compressed_size_bytes,
        "stream_offset": payload.stream_offset,
        "decompressed_size_bytes": payload.decompressed_size_bytes,
        "size_trailer_bytes": payload.size_trailer_bytes,
        "payload_is_elf": payload.payload_is_elf,
        "header": {name: value for name, value in payload.header},
        "notes": list(payload.notes),
    }


# Header fields shown in hex (addresses, alignments, flag words) and as sizes (decimal and hex).
_HEX_FIELDS = frozenset({"kernel_alignment", "xloadflags", "payload_offset", "pref_address", "text_offset", "flags",
                         "zimage_start", "zimage_end", "default_lma", "entry"})
_SIZE_FIELDS = frozenset({"payload_length", "init_size", "image_size", "zimage_size", "bss_size"})


def _text_summary(summary: dict[str, Any]) -> str:
    lines = []
    if summary["what"] == "ikconfig":
        lines.append(f"{summary['image']}: embedded .config ({summary['config_size_bytes']} bytes, "
                     f"{summary['config_lines']} lines) -> {summary['output']}")
        return "\n".join(clean(line) for line in lines) + "\n"
    codec = summary["codec"] or "uncompressed"
    what = "ELF" if summary["payload_is_elf"] else "raw binary"
    lines.append(f"{summary['image']}: {summary['container']}, {codec}, "
                 f"{summary['compressed_size_bytes']} -> {summary['decompressed_size_bytes']} bytes ({what}) "
                 f"-> {summary['output']}")
    for name, value in summary["header"].items():
        shown = str(value)
        if isinstance(value, int) and name in _HEX_FIELDS:
            shown = f"{value:#x}"
        elif isinstance(value, int) and name in _SIZE_FIELDS:
            shown = f"{value} ({value:#x})"
        lines.append(f"  {name}: {shown}")
    if summary["size_trailer_bytes"] is not None:
        lines.append(f"  size trailer: {summary['size_trailer_bytes']}")
    # paths and header strings come from input: control characters are shown, never sent
    return "\n".join(clean(line) for line in lines) + "\n"


def _print_summary(opts: OutputOptions, summary: dict[str, Any]) -> None:
    if opts.format == "json":
        from cpualloc_cli.render.jsonout import dumps, envelope

        emit(opts, dumps(envelope("extract", summary)))
    else:
        emit(opts, _text_summary(summary))


@click.command("extract")
@click.argument("image", metavar="IMAGE")
@click.option("-o", "--output", "output", metavar="FILE", required=True,
              help="Where to write what is extracted (atomically); `-' is stdout (text only, with --ikconfig).")
@click.option("--ikconfig", is_flag=True, help="Extract the .config that CONFIG_IKCONFIG embeds instead of the vmlinux.")
@click.option("--max-size", "max_size", metavar="SIZE", default=None,
              help="Cap on decompressed output (default: 1GiB, and 1000x the compressed size past 64MiB); "
                   "larger output is refused with exit 3.")
@click.option("--format", "format_", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Format of the summary printed on stdout.")
@click.option("--no-color", "no_color", is_flag=True, help="No colour in text output.")
@click.option("--traceback", "traceback_", is_flag=True, help="Show the Python traceback for errors.")
def extract(image: str, output: str, ikconfig: bool, max_size: str | None, format_: str, no_color: bool,
            traceback_: bool) -> None:
    """Write the vmlinux out of IMAGE (bzImage, vmlinuz, zImage, Image.gz, vmlinux.xz, ...).

    For arm and arm64 the payload is a raw binary, not an ELF: it is written as is, with a note.
    With --ikconfig, write the embedded .config (IKCONFIG=y vmlinux or image, configs.ko, or a
    /proc/config.gz copy) instead.
    """
    opts = make_output(format_, None, no_color, traceback_)
    check_output_name(output)
    from cpualloc_cli.adapters.decompress import MAX_RATIO

    cap = _parse_cap(max_size)
    # An explicit --max-size is the user's bound: the bomb ratio heuristic no longer applies.
    max_ratio = None if max_size is not None else MAX_RATIO
    to_stdout = output == "-"
    if to_stdout and not ikconfig:
        raise UsageError("-o - (stdout) is for --ikconfig only; the vmlinux is binary",
                         hint="give a file name to -o")
    if to_stdout and opts.format == "json":
        raise UsageError("--format json prints a summary on stdout, so it cannot go with -o -")
    if ikconfig:
        from cpualloc_cli.adapters.ikconfig import read_ikconfig

        with progress(f"reading {image}"):
            text = read_ikconfig(image, cap_bytes=cap, max_ratio=max_ratio)
        if to_stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        write_atomic(output, text.encode("utf-8"))
        _print_summary(opts, {"image": image, "output": output, "what": "ikconfig",
                              "config_size_bytes": len(text.encode("utf-8")),
                              "config_lines": len(text.splitlines())})
        return
    from cpualloc_cli.adapters.decompress import read_image_payload

    with progress(f"decompressing {image}"):
        payload = read_image_payload(image, cap_bytes=cap, max_ratio=max_ratio)
    if payload.kind == KIND_ELF or payload.data is None:
        raise InputError("already an ELF file: there is nothing to extract", path=image,
                         hint="use it directly (cpualloc inspect)")
    write_atomic(output, payload.data)
    if not payload.payload_is_elf:
        note(f"{image}: the {payload.kind} payload is a raw binary, not an ELF; wrote it as is "
             "(section detail needs the vmlinux)")
    _print_summary(opts, payload_summary(payload, output))
