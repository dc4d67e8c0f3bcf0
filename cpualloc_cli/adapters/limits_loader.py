"""Read the limits database (TOML) into model.limits.Limit objects.

With adapters/policy.py, the only place that reads TOML. tomllib's errors and every schema
error become PolicyError (exit 3) naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

from cpualloc_cli.errors import PolicyError
from cpualloc_cli.model.findings import Severity
from cpualloc_cli.model.limits import BOUND_PARAMS, FIXES, LIMIT_MEASURES, BoundCase, Limit, LimitKind
from cpualloc_cli.model.lower_bounds import LowerBound
from cpualloc_cli.model.measures import check_number, parse_fraction, parse_size

DATABASE_NAME = "limits.toml"
_LINE_RE = re.compile(r"at line (\d+)")
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_VERSION_RE = re.compile(r"^\d+(\.\d+)*$")
MAX_TOML_BYTES = 4 << 20


def decode_toml(data: bytes, path: str) -> dict[str, Any]:
    """bytes -> dict, with every failure as PolicyError(path, line)."""
    if len(data) > MAX_TOML_BYTES:
        raise PolicyError(f"file is larger than {MAX_TOML_BYTES} bytes", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"not UTF-8 (byte {exc.start})", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _LINE_RE.search(str(exc))
        raise PolicyError(f"malformed TOML: {exc}", path=path, line=int(m.group(1)) if m else None,
                          hint="see the [[limit]] schema at the top of cpualloc_cli/data/limits.toml") from None
    except ValueError:
        # tomllib converts integers with int(), which refuses more than 4,300 digits: say where
        m = re.search(r"[0-9_]{1000,}", text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise PolicyError("malformed TOML: a number with thousands of digits", path=path, line=line) from None
    except RecursionError:
        # tomllib recurses on nested arrays and inline tables
        raise PolicyError("malformed TOML: arrays or tables nested too deeply", path=path) from None


def read_toml_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOML_BYTES + 1)
    except IsADirectoryError:
        raise PolicyError("is a directory", path=path) from None
    except OSError as exc:
        raise PolicyError(f"cannot read: {exc.strerror}", path=path) from None
    return decode_toml(data, path)


def _bundled(name: str, what: str) -> tuple[dict[str, Any], str]:
    """A TOML file shipped in cpualloc_cli/data: (document, its path for messages)."""
    ref = resources.files("cpualloc_cli.data").joinpath(name)
    path = str(ref)
    try:
        data = ref.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read {what}: {exc}", path=path) from None
    return decode_toml(data, path), path


def load_database() -> tuple[Limit, ...]:
    """The shipped database, cpualloc_cli/data/limits.toml."""
    doc, path = _bundled(DATABASE_NAME, "the limits database")
    return parse_limits(doc.get("limit", []), path=path, key="limit", origin="database")


def _bound_value(value: Any, where: str, path: str, fraction: bool) -> float:
    if isinstance(value, bool):
        raise PolicyError(f"{where}: expected a size or a percentage, got a boolean", path=path)
    try:
        if isinstance(value, int | float):  # inf, nan, 1e400, 5,000 digits, negative: refused
            number = check_number(value)
            if fraction and number > 1.0:
                raise ValueError(f"fraction {value} is more than 1 (100%)")
            return number
        if not isinstance(value, str):
            raise PolicyError(f"{where}: expected a string like \"8MiB\" or \"50%\"", path=path)
        text = value.strip()
        if fraction or text.endswith("%"):
            return parse_fraction(text)
        return float(parse_size(text))
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}", path=path) from None


def _str(entry: dict[str, Any], name: str, where: str, path: str, default: str | None = None) -> str:
    value = entry.get(name, default)
    if value is None:
        raise PolicyError(f"{where}.{name}: missing", path=path)
    if not isinstance(value, str):
        raise PolicyError(f"{where}.{name}: expected a string", path=path)
    return value


def _str_list(entry: dict[str, Any], name: str, where: str, path: str) -> tuple[str, ...]:
    value = entry.get(name, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}.{name}: expected a list of strings", path=path)
    return tuple(value)


def _config_pairs(value: Any, where: str, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected a table of SYMBOL = \"value\"", path=path)
    out = []
    for k, v in value.items():
        if isinstance(v, bool):
            v = "y" if v else "n"
        if isinstance(v, int):
            v = str(v)
        if not isinstance(v, str):
            raise PolicyError(f"{where}.{k}: expected a string value", path=path)
        out.append((k.removeprefix("CONFIG_"), v))
    return tuple(out)


def _version(entry: dict[str, Any], name: str, where: str, path: str) -> str:
    v = _str(entry, name, where, path, "")
    if v and not _VERSION_RE.match(v):
        raise PolicyError(f"{where}.{name}: bad kernel version {v!r} (use e.g. 2.6.24)", path=path)
    return v


_KNOWN_KEYS = frozenset({
    "id", "title", "arches", "since", "before", "input", "kind", "measure", "bound", "bound_param",
    "bound_symbol", "bound_when", "warn_above", "warn_within", "severity", "strict", "strict_less", "fixes", "sources",
    "note", "requires_config",
})


def _tables(entries: Any, key: str, known: frozenset[str] | set[str], path: str) -> list[tuple[str, dict[str, Any]]]:
    """A TOML array of tables, each checked to be a table with only `known` keys: (where, table) pairs,
    `where` naming it as `key[i]` for error messages."""
    if not isinstance(entries, list):
        raise PolicyError(f"{key}: expected an array of tables ([[{key}]])", path=path)
    out: list[tuple[str, dict[str, Any]]] = []
    for i, entry in enumerate(entries):
        where = f"{key}[{i}]"
        if not isinstance(entry, dict):
            raise PolicyError(f"{where}: expected a table", path=path)
        unknown = sorted(set(entry) - known)
        if unknown:
            raise PolicyError(f"{where}.{unknown[0]}: unknown key", path=path,
                              hint=f"known keys: {', '.join(sorted(known))}")
        out.append((where, entry))
    return out


def parse_limits(entries: Any, *, path: str, key: str, origin: str) -> tuple[Limit, ...]:
    """A TOML array of [[limit]] tables -> Limits (schema errors name `key[i].field`)."""
    seen: set[str] = set()
    out: list[Limit] = []
    for where, entry in _tables(entries, key, _KNOWN_KEYS, path):
        lid = _str(entry, "id", where, path)
        if not _ID_RE.match(lid):
            raise PolicyError(f"{where}.id: {lid!r} may hold only letters, digits, '.', '_' and '-'", path=path)
        if lid in seen:
            raise PolicyError(f"{where}.id: duplicate id {lid!r}", path=path)
        seen.add(lid)
        where = f"{where} ({lid})"
        kind_text = _str(entry, "kind", where, path, "measure")
        try:
            kind = LimitKind(kind_text)
        except ValueError:
            raise PolicyError(f"{where}.kind: unknown kind {kind_text!r}", path=path,
                              hint=f"one of {', '.join(k.value for k in LimitKind)}") from None
        sev_text = _str(entry, "severity", where, path, "error")
        if sev_text not in ("error", "warning"):
            raise PolicyError(f"{where}.severity: {sev_text!r} is not error or warning", path=path)
        measure: str | None = None
        bound: float | None = None
        bound_param: str | None = None
        bound_symbol: str | None = None
        cases: list[BoundCase] = []
        warn_above: float | None = None
        warn_within: float | None = None
        if kind is LimitKind.PLACEMENT:
            measure = _str(entry, "measure", where, path)
            if measure not in LIMIT_MEASURES:
                raise PolicyError(f"{where}.measure: unknown measure {measure!r}", path=path)
        if kind is LimitKind.MEASURE:
            measure = _str(entry, "measure", where, path)
            if measure not in LIMIT_MEASURES:
                raise PolicyError(f"{where}.measure: unknown measure {measure!r}", path=path,
                                  hint=f"one of {', '.join(sorted(LIMIT_MEASURES))}")
            fraction = measure == "vmalloc_share"
            if "bound" in entry:
                bound = _bound_value(entry["bound"], f"{where}.bound", path, fraction)
            if "bound_param" in entry:
                bound_param = _str(entry, "bound_param", where, path)
                if bound_param not in BOUND_PARAMS:
                    raise PolicyError(f"{where}.bound_param: unknown parameter {bound_param!r}", path=path,
                                      hint=f"one of {', '.join(sorted(BOUND_PARAMS))}")
            if "bound_symbol" in entry:
                bound_symbol = _str(entry, "bound_symbol", where, path).removeprefix("CONFIG_")
            bw = entry.get("bound_when", [])
            if not isinstance(bw, list):
                raise PolicyError(f"{where}.bound_when: expected an array of tables", path=path)
            for j, case in enumerate(bw):
                cw = f"{where}.bound_when[{j}]"
                if not isinstance(case, dict) or "bound" not in case or "config" not in case:
                    raise PolicyError(f"{cw}: expected {{ config = {{...}}, bound = \"...\" }}", path=path)
                cases.append(BoundCase(config=_config_pairs(case["config"], f"{cw}.config", path),
                                       bound=_bound_value(case["bound"], f"{cw}.bound", path, fraction),
                                       arches=_str_list(case, "arches", cw, path)))
            if bound is None and bound_param is None and bound_symbol is None:
                raise PolicyError(f"{where}.bound: missing (give bound, bound_param or bound_symbol)", path=path)
            if "warn_above" in entry:
                warn_above = _bound_value(entry["warn_above"], f"{where}.warn_above", path, fraction)
            if "warn_within" in entry:
                warn_within = _bound_value(entry["warn_within"], f"{where}.warn_within", path, fraction)
        arches = _str_list(entry, "arches", where, path) or ("*",)
        fixes = _str_list(entry, "fixes", where, path)
        for f in fixes:
            if f not in FIXES:
                raise PolicyError(f"{where}.fixes: unknown fix {f!r}", path=path, hint=f"one of {', '.join(sorted(FIXES))}")
        input_kind = _str(entry, "input", where, path, "kernel")
        if input_kind not in ("kernel", "module"):
            raise PolicyError(f"{where}.input: {input_kind!r} is not kernel or module", path=path)
        for flag in ("strict", "strict_less"):
            if flag in entry and not isinstance(entry[flag], bool):
                raise PolicyError(f"{where}.{flag}: expected true or false", path=path)
        out.append(Limit(
            id=lid,
            title=_str(entry, "title", where, path, lid),
            arches=arches,
            since=_version(entry, "since", where, path),
            before=_version(entry, "before", where, path),
            kind=kind,
            severity=Severity(sev_text),
            sources=_str_list(entry, "sources", where, path),
            note=_str(entry, "note", where, path, ""),
            measure=measure,
            bound=bound,
            bound_param=bound_param,
            bound_symbol=bound_symbol,
            bound_when=tuple(cases),
            warn_above=warn_above,
            warn_within=warn_within,
            strict=bool(entry.get("strict", True)),
            strict_less=bool(entry.get("strict_less", False)),
            input=input_kind,
            requires_config=_config_pairs(entry.get("requires_config", {}), f"{where}.requires_config", path),
            fixes=fixes,
            origin=origin,
        ))
    return tuple(out)


LOWER_BOUNDS_NAME = "lower_bounds.toml"
_LB_MEASURES = ("text", "data", "bss", "total", "image_extent", "percpu_static")


def load_lower_bounds() -> tuple[LowerBound, ...]:
    """The shipped table of the smallest kernels each arch and version builds
    (cpualloc_cli/data/lower_bounds.toml, made by tools/lower_bounds/); () when absent."""
    ref = resources.files("cpualloc_cli.data").joinpath(LOWER_BOUNDS_NAME)
    path = str(ref)
    try:
        data = ref.read_bytes()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise PolicyError(f"cannot read the lower-bound table: {exc}", path=path) from None
    return parse_lower_bounds(decode_toml(data, path), path)


_EXTENT_KINDS = ("loader", "text_to_end")  # a floor on either is a floor on the loader's extent


def _lb_int(value: Any, where: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << 63):
        raise PolicyError(f"{where}: expected a whole number of bytes", path=path)
    return value


def parse_lower_bounds(doc: dict[str, Any], path: str) -> tuple[LowerBound, ...]:
    """[[bound]] tables (schema at the top of data/lower_bounds.toml)."""
    rows = doc.get("bound", [])
    if not isinstance(rows, list):
        raise PolicyError("bound: expected an array of tables ([[bound]])", path=path)
    out: list[LowerBound] = []
    for i, row in enumerate(rows):
        where = f"bound[{i}]"
        if not isinstance(row, dict):
            raise PolicyError(f"{where}: expected a table", path=path)
        arch, kind = row.get("arch"), row.get("kind")
        if not isinstance(arch, str) or kind not in ("measured", "structural"):
            raise PolicyError(f"{where}: needs arch and kind = \"measured\"|\"structural\"", path=path)
        measures: dict[str, int] = {}
        extents: dict[str, int] = {}
        if kind == "measured":
            for key in _LB_MEASURES:
                if row.get(key) is not None:
                    measures[key] = _lb_int(row[key], f"{where}.{key}", path)
            raw_ext = row.get("extents", {})
            if isinstance(raw_ext, dict):
                for name, ext in raw_ext.items():
                    if isinstance(ext, dict) and "size" in ext:
                        extents[str(name)] = _lb_int(ext["size"], f"{where}.extents.{name}.size", path)
            source = row.get("source")
        else:
            measure = row.get("measure")
            if measure not in _EXTENT_KINDS:
                raise PolicyError(f"{where}.measure: expected one of {', '.join(_EXTENT_KINDS)}", path=path)
            measures["image_extent"] = _lb_int(row.get("min_bytes"), f"{where}.min_bytes", path)
            srcs = row.get("sources", [])
            source = f"{row.get('id', where)}: " + "; ".join(str(x) for x in srcs) if isinstance(srcs, list) else None
        if not isinstance(source, str):
            raise PolicyError(f"{where}: needs a source", path=path)
        smp = row.get("smp")
        nr = row.get("nr_cpus")
        floor = row.get("floor_symbols", [])
        out.append(LowerBound(
            arch=arch, kind=kind, series=str(row.get("series", "")), since=str(row.get("since", "")),
            before=str(row.get("before", "")), smp=smp if isinstance(smp, bool) else None,
            nr_cpus=nr if isinstance(nr, int) and not isinstance(nr, bool) else None, measures=measures,
            source=source, recorded=str(row.get("recorded", "")), kernel_version=str(row.get("kernel_version", "")),
            id=str(row.get("id", where)), extents=extents,
            floor_symbols=tuple(str(x) for x in floor) if isinstance(floor, list) else ()))
    return tuple(out)


PLATFORMS_NAME = "platforms.toml"
_PLATFORM_KEYS = frozenset({"id", "title", "arches", "params", "addresses", "limit", "sources", "note"})


def load_platforms() -> tuple[Any, ...]:
    """The shipped presets, cpualloc_cli/data/platforms.toml (model.boot.Platform)."""
    doc, path = _bundled(PLATFORMS_NAME, "the platform presets")
    return parse_platforms(doc.get("platform", []), path=path, origin="database")


def _address(value: Any, where: str, path: str) -> int:
    if isinstance(value, bool):
        raise PolicyError(f"{where}: expected an address or size", path=path)
    if isinstance(value, int):
        if not 0 <= value < (1 << 64):
            raise PolicyError(f"{where}: out of range", path=path)
        return value
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError as exc:
            raise PolicyError(f"{where}: {exc}", path=path) from None
    raise PolicyError(f"{where}: expected a number or a string like \"0x40400000\"", path=path)


def parse_platforms(entries: Any, *, path: str, origin: str) -> tuple[Any, ...]:
    """[[platform]] tables -> model.boot.Platform (schema at the top of data/platforms.toml)."""
    from cpualloc_cli.model.boot import PLATFORM_ADDRESSES, Platform
    from cpualloc_cli.model.limits import OTHER_PARAMS

    out: list[Platform] = []
    seen: set[str] = set()
    for where, entry in _tables(entries, "platform", _PLATFORM_KEYS, path):
        pid = _str(entry, "id", where, path)
        if not _ID_RE.match(pid) or pid in seen:
            raise PolicyError(f"{where}.id: {pid!r} is a duplicate or holds characters other than letters, digits, "
                              "'.', '_' and '-'", path=path)
        seen.add(pid)
        where = f"{where} ({pid})"
        params: dict[str, int] = {}
        raw_params = entry.get("params", {})
        if not isinstance(raw_params, dict):
            raise PolicyError(f"{where}.params: expected a table", path=path)
        for k, v in raw_params.items():
            if k not in BOUND_PARAMS | OTHER_PARAMS:
                raise PolicyError(f"{where}.params.{k}: unknown parameter", path=path,
                                  hint=f"one of {', '.join(sorted(BOUND_PARAMS | OTHER_PARAMS))}")
            params[k] = _address(v, f"{where}.params.{k}", path)
        addresses: dict[str, int] = {}
        raw_addr = entry.get("addresses", {})
        if not isinstance(raw_addr, dict):
            raise PolicyError(f"{where}.addresses: expected a table", path=path)
        for k, v in raw_addr.items():
            if k not in PLATFORM_ADDRESSES:
                raise PolicyError(f"{where}.addresses.{k}: unknown address", path=path,
                                  hint=f"one of {', '.join(PLATFORM_ADDRESSES)}")
            addresses[k] = _address(v, f"{where}.addresses.{k}", path)
        limits = parse_limits(entry.get("limit", []), path=path, key=f"{where}.limit", origin=f"platform {pid}")
        out.append(Platform(id=pid, title=_str(entry, "title", where, path, pid),
                            arches=_str_list(entry, "arches", where, path) or ("*",), params=params,
                            addresses=addresses, limits=limits, sources=_str_list(entry, "sources", where, path),
                            note=_str(entry, "note", where, path, ""), origin=origin))
    return tuple(out)
