"""The real-text corpora, committed compressed in ``data/corpora/``, as rows or PVQ records.

Three openly licensed corpora stand beside the generated world (design, section 4), each
a ``<name>.jsonl.xz`` of plain rows with a ``<name>.provenance.json`` that names its
Debian packages, licence, SHA-256 and counts. ``scripts/build_corpora.py`` rebuilt them;
reading them needs nothing but the standard library.

| name | row | record | thought |
|---|---|---|---|
| ``austen`` | one paragraph of a novel | one chapter | a paragraph; children: its sentences |
| ``bible`` | one verse, KJV and WEB | one chapter | a verse; two English quotes |
| ``libreoffice`` | one help paragraph, EN and RU | one help page | a paragraph; ``en`` + ``ru`` |

Real text has no arc and no known meaning, so every thought has ``phase=None`` and
``frame=None``. A pair becomes two quotes of one thought: paraphrases (``bible``) as two
``en`` quotes, translations (``libreoffice``) as one ``en`` and one ``ru`` quote.

    for rec in corpora.records("bible"):
        kjv, web = rec.thoughts[0].quotes["en"]

This module is pure Python and imports no torch.
"""

from __future__ import annotations

import itertools
import json
import lzma
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ltm import paths
from ltm.errors import first_line
from ltm.pvq.io import write_jsonl
from ltm.pvq.schema import Record, Thought

__all__ = ["NAMES", "CorpusError", "data_dir", "path", "provenance", "load", "records",
           "convert"]

NAMES: tuple[str, ...] = ("austen", "bible", "libreoffice")
"""The committed corpora, in the order the README lists them."""

_REBUILD = "rebuild it with `python scripts/build_corpora.py --only {name}`"


class CorpusError(ValueError):
    """A corpus name is unknown, or its committed file is missing or corrupt (one line)."""


def data_dir() -> Path:
    """Where the committed corpora live: ``$LTM_DATA_DIR`` if set, else ``data/corpora`` of
    the repository (:func:`ltm.paths.data`, which follows ``$LTM_ROOT``)."""
    env = os.environ.get("LTM_DATA_DIR")
    return Path(env) if env else paths.data() / "corpora"


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise CorpusError(f"unknown corpus {name!r} (known: {', '.join(NAMES)})")


def path(name: str) -> Path:
    """The committed file of one corpus (``<name>.jsonl.xz``)."""
    _check_name(name)
    return data_dir() / f"{name}.jsonl.xz"


def provenance(name: str) -> dict[str, Any]:
    """The provenance of one corpus: packages, licence, SHA-256, counts, rules."""
    _check_name(name)
    p = data_dir() / f"{name}.provenance.json"
    try:
        return json.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        raise CorpusError(f"{p}: no such file; {_REBUILD.format(name=name)}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise CorpusError(f"{p}: corrupt ({e})") from None


def _open(name: str) -> Any:
    p = path(name)
    if not p.is_file():
        raise CorpusError(f"{p}: no such file; {_REBUILD.format(name=name)} "
                          "or set LTM_DATA_DIR to the folder that holds it")
    return lzma.open(p, "rt", encoding="utf-8")


def load(name: str) -> Iterator[dict[str, Any]]:
    """Stream the rows of one corpus (see the table above for their keys).

    Raises:
        CorpusError: For an unknown name (at once), or a missing or corrupt file.
    """
    fh = _open(name)  # outside the generator, so a missing file fails at the call
    return _rows(fh, path(name))


def _rows(fh: Any, p: Path) -> Iterator[dict[str, Any]]:
    n = 0
    try:
        with fh:
            for line in fh:
                n += 1
                yield json.loads(line)
    except (lzma.LZMAError, EOFError, UnicodeDecodeError, ValueError) as e:
        where = f" near line {n}" if n else ""
        why = "truncated" if isinstance(e, EOFError) else first_line(e)
        raise CorpusError(f"{p}: corrupt{where} ({why}); "
                          f"{_REBUILD.format(name=p.name.split('.')[0])}") from None


# --------------------------------------------------------------------------- to PVQ


def _quote(text: str) -> str:
    return text.strip()


def _paragraph(text: str) -> Thought:
    """A paragraph whose children are its sentences (none when it is one sentence)."""
    from ltm.segment import units

    sentences = [s for s in (_quote(u) for u in units(text, "sentence", "en")) if s]
    children = tuple(Thought(quotes={"en": (s,)}) for s in sentences)
    return Thought(quotes={"en": (_quote(text),)}, children=children if len(children) > 1 else ())


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def _austen() -> Iterator[Record]:
    for (book, chapter), rows in itertools.groupby(load("austen"),
                                                   key=lambda r: (r["book"], r["chapter"])):
        rows = list(rows)
        yield Record(id=f"austen-{_slug(book)}-{chapter}", source="corpus:austen",
                     thoughts=tuple(_paragraph(r["text"]) for r in rows),
                     meta={"book": book, "chapter": chapter,
                           "paragraphs": [r["paragraph"] for r in rows]})


def _bible() -> Iterator[Record]:
    for chapter, rows in itertools.groupby(load("bible"), key=lambda r: r["ref"].split(":")[0]):
        rows = list(rows)
        book, number = chapter.rsplit(" ", 1)
        yield Record(id=f"bible-{book}-{number}", source="corpus:bible",
                     thoughts=tuple(Thought(quotes={"en": (_quote(r["kjv"]), _quote(r["web"]))})
                                    for r in rows),
                     meta={"book": book, "chapter": int(number), "quotes": ["kjv", "web"],
                           "refs": [r["ref"] for r in rows]})


def _libreoffice() -> Iterator[Record]:
    for file, rows in itertools.groupby(load("libreoffice"), key=lambda r: r["file"]):
        rows = list(rows)
        yield Record(id=f"libreoffice-{file.removesuffix('.html')}", source="corpus:libreoffice",
                     thoughts=tuple(Thought(quotes={"en": (_quote(r["en"]),),
                                                    "ru": (_quote(r["ru"]),)}) for r in rows),
                     meta={"file": file, "ids": [r["id"] for r in rows]})


_RECORDS = {"austen": _austen, "bible": _bible, "libreoffice": _libreoffice}


def records(name: str) -> Iterator[Record]:
    """Stream one corpus as PVQ records (no phase, no frame).

    ``austen``: a record per chapter (id ``austen-<book-slug>-<chapter>``), a thought per
    paragraph, its children the paragraph's sentences (:func:`ltm.segment.units`) when
    there are two or more. ``bible``: a record per chapter (``bible-<book>-<chapter>``),
    a thought per verse quoted ``en: [kjv, web]``; ``meta.refs`` gives each verse's ref.
    ``libreoffice``: a record per help page, a thought per paragraph quoted ``en`` and
    ``ru``; ``meta.ids`` gives each paragraph's id. Quotes are stripped of surrounding
    whitespace; none is empty.
    """
    _check_name(name)
    _open(name).close()  # fail now, not at the first record
    return _RECORDS[name]()


def convert(name: str, out_path: str | os.PathLike) -> int:
    """Write one corpus as ``*.pvq.jsonl`` and return the number of records.

    :func:`~ltm.pvq.io.write_jsonl` moves the file there only when complete, so a
    failure never leaves a partial file behind.
    """
    return write_jsonl(out_path, records(name))
