"""The click-free path for the hottest command line (issue 14):

    cpualloc inspect --format json [--symbols] IMAGE

(options in any order, `--format=json` too). Importing click costs about a fifth of GNU
`size` + `nm` on a whole distribution vmlinux, so this exact shape skips it and calls the same
code the click command calls (cli/inspect_run.py) with the values click would have parsed.
Anything else (another option, several images, an IMAGE that starts with "-", a repeated
option, --help) goes through click as before, so its parsing and its errors are click's.
"""

from __future__ import annotations

from collections.abc import Callable


def fast_command(args: list[str]) -> Callable[[], int] | None:
    """The command to run for `args` without click, or None when click must parse them."""
    if len(args) < 3 or args[0] != "inspect":
        return None
    image: str | None = None
    want_symbols = False
    seen_format = False
    i = 1
    while i < len(args):
        arg = args[i]
        if arg == "--symbols" and not want_symbols:
            want_symbols = True
        elif arg == "--format=json" and not seen_format:
            seen_format = True
        elif arg == "--format" and not seen_format and i + 1 < len(args) and args[i + 1] == "json":
            seen_format = True
            i += 1
        elif arg and not arg.startswith("-") and image is None:
            image = arg
        else:
            return None
        i += 1
    if image is None or not seen_format:
        return None
    path = image

    def run() -> int:
        from cpualloc_cli.cli.common import OutputOptions
        from cpualloc_cli.cli.inspect_run import DEFAULT_TOP, inspect_images

        # What make_output gives for these arguments: no -o, no --no-color, no --traceback.
        opts = OutputOptions(format="json", output=None, no_color=False, traceback=False)
        return inspect_images((path,), None, DEFAULT_TOP, (), want_symbols, None, None, opts)

    return run
