"""The work of `cpualloc inspect`, without click: cli/inspect_cmd.py (the click command) and
cli/fast.py (the click-free fast path for `inspect --format json [--symbols] IMAGE`) both call
:func:`inspect_images`. click is imported only to raise its usage errors."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cpualloc_cli.cli.common import OutputOptions, emit, progress, render_rich
from cpualloc_cli.errors import EXIT_INPUT, InputError

if TYPE_CHECKING:
    from cpualloc_cli.adapters.image import LoadedImage

DEFAULT_TOP = 10


def inspect_images(images: tuple[str, ...], build_dir: str | None, top_n: int, sections: tuple[str, ...],
                   want_symbols: bool, symbols_from: str | None, by: str | None, opts: OutputOptions) -> int:
    """Read, analyse and render the images as `inspect` does; returns the exit code."""
    from cpualloc_cli.adapters.elf import nm_size_sort_order
    from cpualloc_cli.adapters.image import LoadedImage
    from cpualloc_cli.analysis.inspect import compute_inspect_report, top_scopes
    from cpualloc_cli.model.inspect import InspectReport

    if by is not None:
        return _inspect_by(images, by, top_n, opts)
    if opts.format in ("csv", "tsv"):
        import click

        raise click.UsageError("--format csv/tsv needs --by")
    if symbols_from is not None and (build_dir is not None or len(images) > 1):
        import click

        raise click.UsageError("--symbols-from goes with one IMAGE (or none: the symbol list alone)")
    if build_dir is not None:
        from cpualloc_cli.adapters.modules_order import modules_in_order

        images = images + tuple(modules_in_order(build_dir))
    elif not images and symbols_from is None:
        import click

        raise click.UsageError("give at least one IMAGE, or --build-dir DIR")
    reports: list[InspectReport] = []
    failures: list[tuple[str, str]] = []  # (path, the error line without its prefix)
    for path in images or (symbols_from,):
        assert path is not None
        try:
            with progress(f"reading {path}"):
                if images:
                    loaded = _load(path, symbols_from)
                else:
                    from cpualloc_cli.adapters.kallsyms_symbols import load_symbols_only

                    loaded = LoadedImage(path, load_symbols_only(path), None, "symbol list")
        except InputError as exc:
            # One image: its error is the command's error. Several: report it, go on with the rest.
            if len(images) <= 1:
                raise
            failures.append((path, exc.one_line()))
            error_line(exc.one_line())
            continue
        container = _container_facts(loaded.payload)
        if loaded.elf is None:
            notes = tuple(getattr(loaded.payload, "notes", ()) or ()) + (
                "the payload is a raw binary, not an ELF: section and symbol detail needs the vmlinux",)
            reports.append(InspectReport(path=path, image=None, source=loaded.source, berkeley=None,
                                         berkeley_common=None, sysv=(), sysv_total=0, extents=(), percpu=None,
                                         top=(), container=container, notes=notes))
            continue
        with progress(f"sorting symbols of {path}"):
            # Without --symbols only the top lists need an order: just the part they reach.
            order = (nm_size_sort_order(loaded.elf) if want_symbols else
                     nm_size_sort_order(loaded.elf, largest=top_n, scopes=top_scopes(loaded.elf, sections)))
        report = compute_inspect_report(loaded.elf, order, top_n=top_n, sections=sections,
                                        want_symbols=want_symbols, source=loaded.source, container=container)
        payload_notes = tuple(getattr(loaded.payload, "notes", ()) or ())
        if payload_notes:
            report = dataclasses.replace(report, notes=report.notes + payload_notes)
        reports.append(report)
    if failures:
        error_line(f"{len(failures)} of {len(images)} inputs could not be read; the others are reported")
    if opts.format == "json":
        from cpualloc_cli.render.inspect_json import render_inspect_json

        emit(opts, render_inspect_json(reports, failures))
    elif want_symbols:
        from cpualloc_cli.render.inspect_text import nm_lines

        parts = []
        for r in reports:
            if r.image is not None and r.nm_order is not None:
                if len(reports) > 1:
                    parts.append(f"\n{r.path}:\n")
                parts.append(nm_lines(r.image, r.nm_order))
        emit(opts, "".join(parts))
    else:
        from cpualloc_cli.render.inspect_text import draw_inspect

        emit(opts, render_rich(opts, lambda console: draw_inspect(console, reports)))
    return EXIT_INPUT if failures else 0


def _load(path: str, symbols_from: str | None) -> LoadedImage:
    """load_any_with_symbols(path, symbols_from, raw_payloads=True). An ELF file with its own
    .symtab (or none, and no payload to find kallsyms in) is what load_any gives, and then the
    kallsyms adapters are not even imported (issue 14: a tenth of GNU's time on a vmlinux)."""
    from cpualloc_cli.adapters.image import load_any

    if symbols_from is not None:
        from cpualloc_cli.adapters.kallsyms_symbols import load_any_with_symbols

        return load_any_with_symbols(path, symbols_from, raw_payloads=True)
    loaded = load_any(path)
    if loaded.payload is None or (loaded.elf is not None and loaded.elf.symbols is not None):
        return loaded  # (attach_kallsyms needs payload data; with a .symtab nothing changes)
    from cpualloc_cli.adapters.kallsyms_symbols import with_kallsyms

    return with_kallsyms(loaded)


def error_line(text: str) -> None:
    """`cpualloc: error: TEXT` on stderr, as the top level prints it for exit 3."""
    import sys

    from cpualloc_cli.render.safe import clean

    sys.stderr.write(f"cpualloc: error: {clean(text)}\n")


def _container_facts(payload: object) -> tuple[tuple[str, int | str], ...]:
    """The container's facts, typed as extract's JSON types them: numbers (sizes in bytes,
    offsets, header fields) as int, words (kind, codec, "2.15") as str."""
    if payload is None:
        return ()
    facts: list[tuple[str, int | str]] = []
    for key in ("kind", "codec", "compressed_size_bytes", "stream_offset", "size_trailer_bytes"):
        value = getattr(payload, key, None)
        if isinstance(value, int | str) and not isinstance(value, bool):
            facts.append((key, value))
    header = getattr(payload, "header_facts", None) or getattr(payload, "header", None)
    if isinstance(header, tuple):
        for item in header:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], int | str):
                facts.append((str(item[0]), item[1]))
    data = getattr(payload, "data", None)
    if isinstance(data, bytes | bytearray):
        facts.append(("decompressed_size_bytes", len(data)))
    return tuple(facts)


def _inspect_by(images: tuple[str, ...], by: str, top_n: int, opts: OutputOptions) -> int:
    """`inspect IMAGE --by file|dir[:N]`: the attribution tree of one ELF image."""
    import click

    from cpualloc_cli.adapters.dwarf_units import read_dwarf_units
    from cpualloc_cli.adapters.image import load_any
    from cpualloc_cli.analysis.attribution import attributable_symbols, compute_attribution
    from cpualloc_cli.render import attribution as ra

    if by != "file" and not (by == "dir" or (by.startswith("dir:") and by[4:].isdigit())):
        raise click.UsageError(f"--by {by}: give file, dir or dir:DEPTH")
    if len(images) != 1:
        raise click.UsageError("--by takes exactly one IMAGE")
    loaded = load_any(images[0])
    if loaded.elf is None:
        raise InputError("the payload is a raw binary, not an ELF", path=images[0],
                         hint="attribution needs the vmlinux with DWARF")
    text, data = attributable_symbols(loaded.elf)
    units = read_dwarf_units(loaded.elf, text, data)
    if not units.paths:
        raise InputError("no DWARF compile units: build with CONFIG_DEBUG_INFO or give the debug vmlinux",
                         path=images[0], hint="; ".join(units.notes) or None)
    attr = compute_attribution(loaded.elf, units.paths, units.symbol_unit, by=by, notes=units.notes)
    if opts.format == "json":
        from cpualloc_cli.render.jsonout import dumps, envelope

        emit(opts, dumps(envelope("inspect", {"path": images[0], "attribution": ra.attribution_dict(attr, top_n)})))
    elif opts.format in ("csv", "tsv"):
        emit(opts, ra.render_attribution_csv(attr, top_n, "," if opts.format == "csv" else "\t"))
    else:
        emit(opts, render_rich(opts, lambda console: ra.draw_attribution(console, attr, top_n)))
    return 0
