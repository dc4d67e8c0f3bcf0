"""`cpualloc inspect IMAGE...`"""

from __future__ import annotations

import click

from cpualloc_cli.cli.common import make_output, output_options
from cpualloc_cli.cli.inspect_run import DEFAULT_TOP, inspect_images


@click.command("inspect")
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option("--build-dir", "build_dir", metavar="DIR",
              help="Also read every module DIR/modules.order names, in its order (a build tree or lib/modules/VERSION).")
@click.option("--top", "top_n", type=click.IntRange(min=0), default=DEFAULT_TOP, show_default=True,
              help="How many of the largest symbols to list (overall, per-cpu, per --section).")
@click.option("--section", "sections", multiple=True, metavar="NAME",
              help="Also list the largest symbols of this section (repeatable).")
@click.option("--symbols", "want_symbols", is_flag=True,
              help="Emit the whole sized symbol table (nm -S --size-sort order, sizes and types).")
@click.option("--symbols-from", "symbols_from", metavar="FILE", default=None,
              help="Symbols from /proc/kallsyms or a System.map (for an image without .symtab, or alone: "
                   "a running machine); sizes are derived from the addresses.")
@click.option("--by", "by", metavar="file|dir[:DEPTH]", default=None,
              help="Attribute the bytes to source files or directories (DWARF compile units); --top per level.")
@output_options(("text", "json", "csv", "tsv"))
def inspect(images: tuple[str, ...], build_dir: str | None, top_n: int, sections: tuple[str, ...], want_symbols: bool,
            symbols_from: str | None, by: str | None, format_: str, output: str | None, no_color: bool,
            traceback_: bool) -> int:
    """Read kernel images (vmlinux, .o, .ko, ET_DYN, or a compressed vmlinuz/bzImage/Image):
    header, sections, segments, GNU size totals, image extent, per-cpu section and the
    largest symbols. Numbers equal GNU size, readelf and nm to the byte. An image without
    .symtab gets its symbols from its own kallsyms (or --symbols-from), sizes derived."""
    return inspect_images(images, build_dir, top_n, sections, want_symbols, symbols_from, by,
                          make_output(format_, output, no_color, traceback_))
