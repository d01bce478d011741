"""Reading, writing and validating PVQ files in both encodings.

``*.pvq.jsonl`` is streamed: validating a file of any size holds one record plus the
set of ids seen so far. ``*.thoughtset.yaml`` is read whole (hand-written sets are small)
with the line of every value kept, so problems point at the right line.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ltm.errors import first_line
from ltm.pvq.schema import Problem, PVQError, Record, check_record, record_from_obj, walk

__all__ = ["iter_records", "iter_jsonl", "read_jsonl", "write_jsonl", "dumps_record", "read_yaml", "write_yaml",
           "read", "write", "validate", "stats"]


# --------------------------------------------------------------------------- JSONL


def _file_problem(path: Path) -> Problem | None:
    if not path.exists():
        return Problem(str(path), 0, "(file)", "no such file")
    if path.is_dir():
        return Problem(str(path), 0, "(file)", "is a directory, not a PVQ file")
    if not os.access(path, os.R_OK):
        return Problem(str(path), 0, "(file)", "not readable (permission denied)")
    if path.stat().st_size == 0:
        return Problem(str(path), 0, "(file)", "empty file: no records")
    return None


def _duplicate(obj: Any, ids: set[str], name: str, line_of: Callable[[str], int]) -> list[Problem]:
    """A problem if the record's id was seen before in this file; remembers the id."""
    rid = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(rid, str) or not rid:
        return []
    if rid in ids:
        return [Problem(name, line_of("id"), "id", f"duplicate id {rid!r}")]
    ids.add(rid)
    return []


def _scan_jsonl(path: Path) -> Iterator[tuple[int, Record | None, list[Problem]]]:
    """Yield ``(line, record or None, problems)`` for every non-blank line, streaming."""
    name = str(path)
    fp = _file_problem(path)
    if fp:
        yield 0, None, [fp]
        return
    ids: set[str] = set()
    n_records = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            last = not raw.endswith(b"\n")
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield lineno, None, [Problem(name, lineno, "(record)",
                                             f"invalid UTF-8 at byte {e.start} of the line")]
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                why = ("truncated last line (no newline at end of file and not complete JSON)"
                       if last else f"not valid JSON: {e.msg} at column {e.colno}")
                yield lineno, None, [Problem(name, lineno, "(record)", why)]
                continue
            except RecursionError:
                yield lineno, None, [Problem(name, lineno, "(record)", "JSON nested too deeply")]
                continue
            n_records += 1
            probs = [Problem(name, ln, p, r) for ln, p, r in check_record(obj, lineno)]
            probs += _duplicate(obj, ids, name, lambda _p, n=lineno: n)
            yield lineno, (None if probs else record_from_obj(obj)), probs
    if n_records == 0:
        yield 0, None, [Problem(name, 0, "(file)", "no records (only blank or bad lines)")]


def _report(p: Problem) -> None:
    print(f"skipped: {p}", file=sys.stderr)


def iter_jsonl(path: str | os.PathLike, *, skip_bad: bool = False,
               on_problem: Callable[[Problem], None] = _report) -> Iterator[Record]:
    """Stream the records of a ``*.pvq.jsonl`` file.

    Without ``skip_bad`` the file is validated in a first streaming pass and refused
    whole (:class:`PVQError`) if anything is wrong; records are then yielded in a second
    pass. With ``skip_bad`` bad records are passed to ``on_problem`` and skipped.
    """
    path = Path(path)
    if not skip_bad:
        problems = validate(path)
        if problems:
            raise PVQError(problems)
    for _, rec, probs in _scan_jsonl(path):
        for p in probs:
            on_problem(p)
        if rec is not None:
            yield rec


def read_jsonl(path: str | os.PathLike, *, skip_bad: bool = False,
               on_problem: Callable[[Problem], None] = _report) -> list[Record]:
    """Read a whole ``*.pvq.jsonl`` file into a list (see :func:`iter_jsonl`)."""
    return list(iter_jsonl(path, skip_bad=skip_bad, on_problem=on_problem))


def dumps_record(rec: Record) -> str:
    """One record as one line of compact JSON (no newline), deterministic."""
    return json.dumps(rec.to_obj(), ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: str | os.PathLike, records: Iterable[Record]) -> int:
    """Write records, one per line, and return how many were written.

    The file is written beside ``path`` under a name of this process and renamed into
    place when complete, so a reader (another process) never sees it half-written and a
    failure never leaves a partial file behind. Missing parent folders are made."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            for rec in records:
                fh.write(dumps_record(rec) + "\n")
                n += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return n


# --------------------------------------------------------------------------- YAML


def _yaml_load_with_lines(text: str) -> tuple[Any, dict[str, int]]:
    """Load YAML keeping the line of every value by its PVQ path (``a[0].b``)."""
    import yaml

    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[str, int] = {}
    constructor = yaml.SafeLoader("")

    def conv(n: Any, path: str) -> Any:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k, v in n.value:
                key = constructor.construct_object(k, deep=True)
                sub = f"{path}.{key}" if path else str(key)
                lines[sub] = k.start_mark.line + 1
                out[key] = conv(v, sub)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [conv(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    return (None if node is None else conv(node, "")), lines


def _scan_yaml(path: Path) -> tuple[list[Record], list[tuple[Record | None, list[Problem]]]]:
    import yaml

    name = str(path)
    fp = _file_problem(path)
    if fp:
        return [], [(None, [fp])]
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        return [], [(None, [Problem(name, line, "(file)", "invalid UTF-8")])]
    try:
        data, lines = _yaml_load_with_lines(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        why = getattr(e, "problem", None) or first_line(e)
        return [], [(None, [Problem(name, line, "(file)", f"not valid YAML: {why}")])]
    if data is None:
        return [], [(None, [Problem(name, 0, "(file)", "empty file: no records")])]
    if not isinstance(data, list) or not data:
        return [], [(None, [Problem(name, 1, "(file)",
                                    "expected a non-empty YAML list of records")])]
    results: list[tuple[Record | None, list[Problem]]] = []
    ids: set[str] = set()
    for i, obj in enumerate(data):
        base = f"[{i}]"

        def line_of(p: str, base: str = base) -> int:
            full = base if p == "(record)" else f"{base}.{p}"
            while full not in lines and "." in full:
                full = full.rsplit(".", 1)[0]
            return lines.get(full, lines.get(base, 0))

        probs = [Problem(name, ln, p, r) for ln, p, r in check_record(obj, line_of)]
        probs += _duplicate(obj, ids, name, line_of)
        results.append((None if probs else record_from_obj(obj), probs))
    return [r for r, _ in results if r is not None], results


def read_yaml(path: str | os.PathLike, *, skip_bad: bool = False,
              on_problem: Callable[[Problem], None] = _report) -> list[Record]:
    """Read a ``*.thoughtset.yaml`` file (a YAML list of records); refused whole on any problem."""
    good, results = _scan_yaml(Path(path))
    problems = [p for _, ps in results for p in ps]
    if problems and not skip_bad:
        raise PVQError(problems)
    for p in problems:
        on_problem(p)
    return good


def _yaml_dumper() -> type:
    """A safe dumper that double-quotes any string YAML would not give back as is."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, s: str) -> yaml.ScalarNode:
        # Plain and single-quoted scalars fold line breaks (including U+0085, U+2028) and
        # trim edge spaces on reading; double quotes escape them, so the text comes back.
        exact = s == s.strip() and s.isprintable()
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style=None if exact else '"')

    Dumper.add_representer(str, represent_str)
    return Dumper


def write_yaml(path: str | os.PathLike, records: Iterable[Record]) -> int:
    """Write records as a YAML list, readable by :func:`read_yaml`; returns the count.
    Missing parent folders are made."""
    import yaml

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    objs = [r.to_obj() for r in records]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        yaml.dump(objs, fh, Dumper=_yaml_dumper(), allow_unicode=True, sort_keys=False,
                  width=100)
    return len(objs)


# --------------------------------------------------------------------------- either


def _is_yaml(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml")


def iter_records(path: str | os.PathLike, *, skip_bad: bool = False,
                 on_problem: Callable[[Problem], None] = _report) -> Iterator[Record]:
    """Records of either encoding, chosen by the file name (``.yaml``/``.yml`` or JSONL);
    JSONL is streamed."""
    p = Path(path)
    if _is_yaml(p):
        return iter(read_yaml(p, skip_bad=skip_bad, on_problem=on_problem))
    return iter_jsonl(p, skip_bad=skip_bad, on_problem=on_problem)


def read(path: str | os.PathLike, *, skip_bad: bool = False,
         on_problem: Callable[[Problem], None] = _report) -> list[Record]:
    """All records of either encoding, chosen by the file name, as a list."""
    return list(iter_records(path, skip_bad=skip_bad, on_problem=on_problem))


def write(path: str | os.PathLike, records: Iterable[Record]) -> int:
    """Write either encoding, chosen by the file name."""
    p = Path(path)
    return (write_yaml if _is_yaml(p) else write_jsonl)(p, records)


def validate(path: str | os.PathLike) -> list[Problem]:
    """Every problem in a PVQ file (either encoding); empty when the file is valid."""
    p = Path(path)
    if _is_yaml(p):
        return [pr for _, ps in _scan_yaml(p)[1] for pr in ps]
    return [pr for _, _, ps in _scan_jsonl(p) for pr in ps]


def stats(records: Iterable[Record]) -> dict[str, Any]:
    """Counts of a set of records: records, thoughts (all depths), languages, phases,
    quotes per thought and UTF-8 bytes per quote (mean, min, max)."""
    n_rec = n_th = n_q = q_bytes = 0
    qmin = bmin = 10**18
    qmax = bmax = 0
    langs: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for rec in records:
        n_rec += 1
        sources[rec.source] += 1
        for t in walk(rec.thoughts):
            n_th += 1
            phases[str(t.phase)] += 1
            k = 0
            for lang, qs in t.quotes.items():
                langs[lang] += len(qs)
                for q in qs:
                    b = len(q.encode("utf-8"))
                    q_bytes += b
                    bmin, bmax = min(bmin, b), max(bmax, b)
                k += len(qs)
            n_q += k
            qmin, qmax = min(qmin, k), max(qmax, k)
    return {
        "records": n_rec,
        "thoughts": n_th,
        "quotes": n_q,
        "sources": dict(sources),
        "languages": dict(langs),
        "phases": dict(phases),
        "quotes_per_thought": {"mean": n_q / max(n_th, 1), "min": qmin if n_th else 0,
                               "max": qmax},
        "bytes_per_quote": {"mean": q_bytes / max(n_q, 1), "min": bmin if n_q else 0,
                            "max": bmax},
    }


