"""The resolved-configuration cache: a data-only (JSON) record of a `LoadedConfig`, stored in a
securecache store (HMAC-authenticated, private files) and validated field by field on load.

Nothing in an entry is ever executed or unpickled: the body is JSON, every field is checked
for its type before a model object is built from it, and anything unexpected is a miss.

Key: sha256 over the cpualloc and kconfiglib versions, the request (config bytes, --set,
arch, tree path, ...) and the Kbuild environment kconfiglib sees (ARCH, SRCARCH, CC, ...).
Validity: the entry also records every Kconfig file the parse read and the sha256 of each
one's *content* (re-read and re-hashed on every hit: mtime/size/inode alone are not content,
and a same-size same-second edit must invalidate), and every `source` glob with its matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cpualloc_cli import __version__
from cpualloc_cli.adapters import securecache
from cpualloc_cli.model.config import Origin, Probe, ResolvedConfig, SymbolValue
from cpualloc_cli.model.findings import Finding, Severity

STORE_NAME = "resolved"
FORMAT = 1
ENTRY_CAP_BYTES = 64 << 20
MAX_ENTRIES = 16


class _Bad(Exception):
    """A field that is not what we wrote: the entry is a miss."""


def key_for(request: Mapping[str, Any], env: Mapping[str, str], extra: str) -> str:
    h = hashlib.sha256()
    h.update(f"cpualloc-resolved-{FORMAT}\0{__version__}\0{extra}\0".encode())
    h.update(json.dumps(request, sort_keys=True, default=list).encode())
    h.update(json.dumps(dict(sorted(env.items()))).encode())
    return h.hexdigest()


def _str(x: Any) -> str:
    if not isinstance(x, str):
        raise _Bad
    return x


def _ostr(x: Any) -> str | None:
    return None if x is None else _str(x)


def _int(x: Any) -> int:
    if not isinstance(x, int) or isinstance(x, bool):
        raise _Bad
    return x


def _oint(x: Any) -> int | None:
    return None if x is None else _int(x)


def _bool(x: Any) -> bool:
    if not isinstance(x, bool):
        raise _Bad
    return x


def _list(x: Any) -> list[Any]:
    if not isinstance(x, list):
        raise _Bad
    return x


def _dict(x: Any) -> dict[str, Any]:
    if not isinstance(x, dict):
        raise _Bad
    return x


def _pair_si(x: Any) -> tuple[str, int]:
    v = _list(x)
    if len(v) != 2:
        raise _Bad
    return _str(v[0]), _int(v[1])


def _opair_si(x: Any) -> tuple[str, int] | None:
    return None if x is None else _pair_si(x)


def _opair_ii(x: Any) -> tuple[int, int] | None:
    if x is None:
        return None
    v = _list(x)
    if len(v) != 2:
        raise _Bad
    return _int(v[0]), _int(v[1])


def _enc_sv(s: SymbolValue) -> dict[str, Any]:
    return {"name": s.name, "value": s.value, "type": s.type, "origin": s.origin.value, "visible": s.visible,
            "range": s.range, "defined_at": s.defined_at, "unmet_dependency": s.unmet_dependency,
            "given": s.given}


def _dec_sv(d: Any) -> SymbolValue:
    d = _dict(d)
    try:
        origin = Origin(_str(d["origin"]))
    except ValueError as exc:
        raise _Bad from exc
    return SymbolValue(name=_str(d["name"]), value=_str(d["value"]), type=_str(d["type"]), origin=origin,
                       visible=_bool(d["visible"]), range=_opair_ii(d["range"]),
                       defined_at=_opair_si(d["defined_at"]), unmet_dependency=_ostr(d["unmet_dependency"]),
                       given=_ostr(d["given"]))


def _enc_f(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "severity": f.severity.value, "message": f.message, "path": f.path, "line": f.line,
            "symbol": f.symbol, "hint": f.hint}


def _dec_f(d: Any) -> Finding:
    d = _dict(d)
    try:
        sev = Severity(_str(d["severity"]))
    except ValueError as exc:
        raise _Bad from exc
    return Finding(rule=_str(d["rule"]), severity=sev, message=_str(d["message"]), path=_ostr(d["path"]),
                   line=_oint(d["line"]), symbol=_ostr(d["symbol"]), hint=_ostr(d["hint"]))


def _enc_p(p: Probe) -> dict[str, Any]:
    return {"command": p.command, "defined_at": p.defined_at, "status": p.status, "symbol": p.symbol,
            "value": p.value}


def _dec_p(d: Any) -> Probe:
    d = _dict(d)
    return Probe(command=_str(d["command"]), defined_at=_pair_si(d["defined_at"]), status=_str(d["status"]),
                 symbol=_ostr(d["symbol"]), value=_ostr(d["value"]))


def encode(resolved: ResolvedConfig, config_text: str, env: Mapping[str, str]) -> dict[str, Any]:
    r = resolved
    return {"arch": r.arch, "kernel_version": r.kernel_version, "kernel_version_source": r.kernel_version_source,
            "values": r.values, "details": [_enc_sv(v) for v in r.details.values()],
            "findings": [_enc_f(f) for f in r.findings], "source": r.source, "config_path": r.config_path,
            "probes": [_enc_p(p) for p in r.probes], "unsupported": list(r.unsupported),
            "header_version": r.header_version, "config_text": config_text, "env": dict(env)}


def decode(d: Any) -> tuple[ResolvedConfig, str, dict[str, str]]:
    """Raises _Bad on anything that is not what `encode` writes."""
    d = _dict(d)
    values = _dict(d["values"])
    for k, v in values.items():
        _str(k)
        _str(v)
    details = {sv.name: sv for sv in map(_dec_sv, _list(d["details"]))}
    env = _dict(d["env"])
    for v in env.values():
        _str(v)
    resolved = ResolvedConfig(arch=_str(d["arch"]), kernel_version=_str(d["kernel_version"]),
                              kernel_version_source=_str(d["kernel_version_source"]), values=dict(values),
                              details=details, findings=tuple(map(_dec_f, _list(d["findings"]))),
                              source=_str(d["source"]), config_path=_ostr(d["config_path"]),
                              probes=tuple(map(_dec_p, _list(d["probes"]))),
                              unsupported=tuple(map(_str, _list(d["unsupported"]))),
                              header_version=_ostr(d["header_version"]))
    return resolved, _str(d["config_text"]), dict(env)


def load(key: str, base: Path, still_valid: Callable[[list[str], str, list[Any]], bool]
         ) -> tuple[ResolvedConfig, str, dict[str, str]] | None:
    """The cached result for `key`, or None (missing, unauthenticated, malformed, or the tree's
    files/globs changed: `still_valid(names, files_hash, globs)` says)."""
    store = securecache.open_store(STORE_NAME, base)
    if store is None:
        return None
    with store:
        body = store.get(f"{key}.json", ENTRY_CAP_BYTES)
    if body is None:
        return None
    try:
        d = _dict(json.loads(body))
        if _str(d["key"]) != key:
            return None
        names = [_str(n) for n in _list(d["names"])]
        files_hash = _str(d["files_hash"])
        globs = _list(d["globs"])
        if not still_valid(names, files_hash, globs):
            return None
        return decode(d["loaded"])
    except (_Bad, ValueError, KeyError, TypeError, RecursionError):
        return None


def store(key: str, base: Path, *, names: Sequence[str], files_hash: str, globs: Sequence[Any],
          resolved: ResolvedConfig, config_text: str, env: Mapping[str, str]) -> None:
    body = json.dumps({"key": key, "names": list(names), "files_hash": files_hash,
                       "globs": [[p, list(m)] for p, m in globs],
                       "loaded": encode(resolved, config_text, env)}).encode()
    st = securecache.open_store(STORE_NAME, base)
    if st is None:
        return
    with st:
        if st.put(f"{key}.json", body):
            st.prune(".json", MAX_ENTRIES)
