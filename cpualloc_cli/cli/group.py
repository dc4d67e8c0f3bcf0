"""The click command group: the commands, listed without importing them."""

from __future__ import annotations

import importlib
import importlib.util

import click

from cpualloc_cli import TOOL_NAME, __version__
from cpualloc_cli.speedups import symbol_path

# name -> (module, attribute, one-line help). The help is here so that listing the
# commands does not import them.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "inspect": ("cpualloc_cli.cli.inspect_cmd", "inspect",
                "Read kernel images: sizes, sections, extent, per-cpu, symbols."),
    "extract": ("cpualloc_cli.cli.extract_cmd", "extract",
                "Write the vmlinux or the embedded .config out of a compressed image."),
    "config": ("cpualloc_cli.cli.config_cmd", "config",
                "Resolve a Kconfig configuration and show the footprint-relevant symbols."),
    "footprint": ("cpualloc_cli.cli.footprint_cmd", "footprint",
                "Footprint of each per-cpu design for a config and/or image."),
    "sweep": ("cpualloc_cli.cli.sweep_cmd", "sweep",
                "Vary NR_CPUS (or another symbol) and find the largest value that fits."),
    "check": ("cpualloc_cli.cli.check_cmd", "check",
                "Check a config and/or image against every applicable limit (CI lint step)."),
    "diff": ("cpualloc_cli.cli.diff_cmd", "diff",
                "What grew between two images (bloat-o-meter, with budgets)."),
    "scale": ("cpualloc_cli.cli.scale_cmd", "scale",
                "Fit how each symbol scales with NR_CPUS from images built at several values."),
    "limits": ("cpualloc_cli.cli.limits_cmd", "limits",
                "List the limits database with its sources."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not _available(cmd_name):
            return None
        module = importlib.import_module(entry[0])
        cmd = getattr(module, entry[1])
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=TOOL_NAME,
                      message=f"%(prog)s %(version)s (symbol path: {symbol_path()})")
@click.option("--traceback", is_flag=True, help="Show the Python traceback for errors (for bug reports).")
@click.option("--no-color", is_flag=True, help="No colour in text output (NO_COLOR is honoured too).")
@click.pass_context
def cli(ctx: click.Context, traceback: bool, no_color: bool) -> None:
    """cpualloc: will this kernel fit its platform, and if not, why not and what would fit?

    Exit codes: 0 fits, 1 limit violations or budget overruns, 2 usage error,
    3 bad or unreadable input, 4 internal error (a bug in cpualloc).
    """
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback
    ctx.obj["no_color"] = no_color
