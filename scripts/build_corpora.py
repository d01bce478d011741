"""Rebuild the committed real-text corpora in ``data/corpora/`` from Debian packages.

Users never need this script: the processed text is committed (``<name>.jsonl.xz``) with
a ``<name>.provenance.json`` beside it, and ``ltm data corpus NAME --out F.pvq.jsonl``
converts it to PVQ. This script is how those files were made, so anyone can check them:

    apt-get update                                      # once, for apt-get download
    pip install -e '.[corpora]'                         # rdata, pysword
    python scripts/build_corpora.py                     # all three, 2-5 minutes
    python scripts/build_corpora.py --only bible --debs DIR   # use .deb files you have

Nothing is installed system-wide: each package is fetched with ``apt-get download`` (or
taken from ``--debs``) and unpacked with ``dpkg-deb -x`` into a temporary directory.
Output is deterministic for given packages: rows in source order, compact JSON with a
fixed key order, xz with a fixed preset (checked: two builds gave identical bytes). Only
``built`` in the provenance changes between runs. The README of ``data/corpora/`` is written from the measured numbers.

Corpora and the rules that make them (each is also stated in its provenance file):

``austen``
    Jane Austen's six novels from ``r-cran-janeaustenr`` (an R lazy-load database read
    with ``rdata``), one row per paragraph: ``{"book", "chapter", "paragraph", "text"}``.
``bible``
    King James Version and World English Bible from ``sword-text-kjv`` and
    ``sword-text-web`` (read with ``pysword``), aligned by book, chapter and verse, one row
    per verse present and non-empty in both: ``{"ref", "kjv", "web"}``.
``libreoffice``
    LibreOffice help in English and Russian from ``libreoffice-help-en-us`` and
    ``libreoffice-help-ru``, aligned by paragraph id within the same help file, one row
    per pair: ``{"file", "id", "en", "ru"}``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import html
import html.parser
import json
import lzma
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "corpora"
XZ_PRESET = 9  # fixed: the same rows always give the same bytes (for one liblzma)
MAX_TOTAL_BYTES = 8_000_000  # the committed corpora together stay under this


# --------------------------------------------------------------------------- packages


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(package: str, work: Path, debs: Path | None) -> tuple[Path, dict]:
    """Download (or find in ``debs``) one package, unpack it, and describe it."""
    pool = work / "debs"
    pool.mkdir(exist_ok=True)
    if debs is not None:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            sys.exit(f"error: no {package}_*.deb in {debs}")
        deb = found[-1]
    else:
        r = subprocess.run(["apt-get", "download", package], cwd=pool, capture_output=True,
                           text=True)
        found = sorted(pool.glob(f"{package}_*.deb"))
        if r.returncode or not found:
            sys.exit(f"error: apt-get download {package} failed (run apt-get update first?): "
                     f"{r.stderr.strip().splitlines()[-1:] or r.returncode}")
        deb = found[-1]
    tree = work / "x" / package
    tree.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)

    def field(name: str) -> str:
        r = subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                           check=True)
        return r.stdout.strip()

    info = {"package": field("Package"), "version": field("Version"),
            "source": field("Source") or field("Package"), "homepage": field("Homepage"),
            "deb": deb.name, "deb_sha256": sha256(deb)}
    print(f"  {info['package']} {info['version']}  sha256 {info['deb_sha256'][:16]}...")
    return tree, info


# --------------------------------------------------------------------------- austen

AUSTEN_BOOKS = {  # R object -> title, in order of publication (as janeaustenr::austen_books)
    "sensesensibility": "Sense and Sensibility",
    "prideprejudice": "Pride and Prejudice",
    "mansfieldpark": "Mansfield Park",
    "emma": "Emma",
    "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion",
}
AUSTEN_RULES = [
    "a paragraph is a maximal run of non-blank lines of the R character vector; its lines "
    "are stripped and joined with one space, and runs of whitespace become one space "
    "(so verse and letters lose their line breaks and indentation)",
    "a paragraph 'CHAPTER n' or 'Chapter n' (Roman or Arabic) starts a chapter; chapters are "
    "numbered 1..N through the book (Emma's three volumes restart their numerals; the "
    "running number is kept); paragraphs are numbered 1..M within the chapter",
    "dropped: everything before the first chapter (title page, Northanger Abbey's "
    "advertisement), 'VOLUME n' headings, closing marks (THE END, FINIS), Northanger "
    "Abbey's editorial 'A NOTE ON THE TEXT' and all after it, bracketed editorial notes "
    "about editions, and paragraphs without a letter (such as '* * *')",
    "the text is otherwise as in the package: _underscores_ mark italics, -- a dash",
]
_CHAPTER = re.compile(r"(?:CHAPTER|Chapter) (?:[IVXLC]+|\d+)\.?")
_VOLUME = re.compile(r"VOLUME [IVX]+\.?")
_END = {"THE END", "FINIS", "Finis"}


def austen_rows(tree: Path) -> Iterator[dict]:
    import rdata

    base = next(tree.rglob("janeaustenr/data/Rdata.rdx")).with_suffix("")
    index = rdata.read_rds(str(base) + ".rdx")["variables"]
    blob = base.with_suffix(".rdb").read_bytes()
    for key, title in tqdm(AUSTEN_BOOKS.items(), desc="austen", unit="book"):
        off, n = (int(x) for x in index[key])
        raw = blob[off:off + n]  # a 4-byte big-endian length, then zlib
        data = zlib.decompress(raw[4:])
        if struct.unpack(">I", raw[:4])[0] != len(data):
            sys.exit(f"error: janeaustenr object {key!r}: length header does not match")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unknown file type: assumed RDS"
            lines = [str(s) for s in rdata.conversion.convert(rdata.parser.parse_data(data))]
        paragraphs, run = [], []
        for line in [*lines, ""]:
            if line.strip():
                run.append(line.strip())
            elif run:
                paragraphs.append(" ".join(" ".join(run).split()))
                run = []
        chapter, k = 0, 0
        for p in paragraphs:
            if p == "A NOTE ON THE TEXT":
                break
            if _CHAPTER.fullmatch(p):
                chapter, k = chapter + 1, 0
                continue
            if (not chapter or _VOLUME.fullmatch(p) or p in _END
                    or not re.search(r"[A-Za-z]", p)
                    or (p.startswith("[") and p.endswith("]") and "edition" in p)):
                continue
            k += 1
            yield {"book": title, "chapter": chapter, "paragraph": k, "text": p}


# --------------------------------------------------------------------------- bible

BIBLE_RULES = [
    "verses are read from the SWORD modules with pysword (clean=False) and stripped of "
    "OSIS markup here: footnotes and cross-references (`<note>`) and non-canonical "
    "headings (`<title>` without `canonical=\"true\"`) are removed with their text; "
    "canonical psalm titles are kept as part of verse 1, as both modules have them",
    "whatever follows the chapter's end marker inside a verse (book end, the WEB glossary) "
    "is removed; stray USFM markers (`\\nd`) and the KJV paragraph sign (`¶`) are removed",
    "where a removed note sat between two words with no space, one space is put back; "
    "entities are unescaped and runs of whitespace become one space",
    "pairs are aligned by (book, chapter, verse) in KJV versification and order; the "
    "WEB's deuterocanonical books have no KJV partner; a pair is dropped if either side "
    "is empty (the verses the WEB leaves out or numbers elsewhere: Luke 17:36, Acts 8:37, "
    "15:34, 24:7 and Rom 16:25-27; the WEB has that doxology after Rom 14:23, and this "
    "module folds it into its Rom 14:23, so that pair is longer on the WEB side)",
    "the WEB text is changed only by this markup removal",
]
_NOTE = re.compile(r"<note\b[^>]*>.*?</note>", re.S)
_HEADING = re.compile(r"<title\b(?![^>]*canonical=\"true\")[^>]*>.*?</title>", re.S)
_BLOCK_TAG = re.compile(r"</?(?:l|lg|lb|div|chapter|milestone|title|item|list|p|speaker)\b[^>]*>")
_TAG = re.compile(r"<[^>]+>")
_USFM = re.compile(r"\\[a-z]+[0-9]*\*?")
_GAP = "\x00"


def clean_osis(raw: str) -> str:
    """One verse of OSIS markup as plain text (see :data:`BIBLE_RULES`)."""
    t = raw.split("<chapter eID", 1)[0]
    t = _NOTE.sub(_GAP, t)
    t = _HEADING.sub(" ", t)
    t = _BLOCK_TAG.sub(" ", t)
    t = html.unescape(_TAG.sub("", t))
    t = re.sub(r"(?<=\S)\x00+(?=[\w“‘(\"'])", " ", t).replace(_GAP, "")
    t = _USFM.sub(" ", t).replace("¶", " ")
    return " ".join(t.split())


def read_bible(tree: Path, deb_sha256: str, cache: Path | None
               ) -> dict[tuple[str, int, int], str]:
    """Every verse of the one SWORD module in ``tree``, cleaned, keyed by (book, ch, v)."""
    from pysword.modules import SwordModules

    root = next(tree.rglob("mods.d")).parent
    modules = SwordModules(str(root))
    (name,) = modules.parse_modules()
    hit = cache / f"{name}-{deb_sha256[:16]}.json" if cache else None
    if hit and hit.exists():
        verses = json.loads(hit.read_text("utf-8"))
    else:
        bible = modules.get_bible_from_module(name)
        books = [b for bs in bible.get_structure().get_books().values() for b in bs]
        verses = []
        for b in tqdm(books, desc=name, unit="book"):
            texts = list(bible.get_iter(books=[b.osis_name], clean=False))
            refs = [(c, v) for c, n in enumerate(b.chapter_lengths, 1) for v in range(1, n + 1)]
            if len(texts) != len(refs):
                sys.exit(f"error: {name} {b.osis_name}: {len(texts)} verses, "
                         f"expected {len(refs)}")
            verses += [[b.osis_name, c, v, t] for (c, v), t in zip(refs, texts, strict=True)]
        if hit:
            hit.write_text(json.dumps(verses, ensure_ascii=False), "utf-8")
    return {(b, c, v): clean_osis(t) for b, c, v, t in verses}


def bible_rows(trees: tuple[Path, Path], infos: tuple[dict, dict], cache: Path | None
               ) -> Iterator[dict]:
    kjv, web = (read_bible(t, i["deb_sha256"], cache) for t, i in zip(trees, infos, strict=True))
    for (b, c, v), k in kjv.items():  # dicts keep the module's canonical order
        w = web.get((b, c, v), "")
        if k and w:
            yield {"ref": f"{b} {c}:{v}", "kjv": k, "web": w}


# --------------------------------------------------------------------------- libreoffice

LIBREOFFICE_RULES = [
    "text of every `<p>`, `<h1>`..`<h6>` with an `id` attribute in each help page, "
    "markup stripped (the text of inline elements kept, `<br>` as a space, script and style "
    "dropped), entities unescaped, runs of whitespace made one space",
    "an English and a Russian paragraph pair up when they have the same id in the same "
    "file path; an id that occurs in a file with different texts (in either language) is "
    "ambiguous and dropped",
    "kept: English with at least 4 words and Russian with at least one Cyrillic letter "
    "(untranslated strings are dropped); deduplicated on the (en, ru) pair, the first in "
    "(file, document order) kept",
]
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
_CYRILLIC = re.compile("[\u0400-\u04ff]")


class _Paragraphs(html.parser.HTMLParser):
    """Collects ``(id, text)`` of every block element with an id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self.cur: tuple[str, list[str]] | None = None
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in _BLOCKS:
            pid = dict(attrs).get("id")
            self.cur = (pid, []) if pid else None
        elif tag == "br" and self.cur:
            self.cur[1].append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1
        elif tag in _BLOCKS and self.cur:
            self.found.append((self.cur[0], " ".join("".join(self.cur[1]).split())))
            self.cur = None

    def handle_data(self, data: str) -> None:
        if self.cur and not self.skip:
            self.cur[1].append(data)


def _help_paragraphs(path: Path) -> dict[str, str]:
    """id -> text for one page, ambiguous ids dropped; document order kept."""
    p = _Paragraphs()
    p.feed(path.read_text("utf-8"))
    p.close()
    texts: dict[str, set[str]] = {}
    for pid, text in p.found:
        texts.setdefault(pid, set()).add(text)
    return {pid: next(iter(ts)) for pid, ts in texts.items() if len(ts) == 1}


def libreoffice_rows(en_tree: Path, ru_tree: Path) -> Iterator[dict]:
    en_root = next(en_tree.rglob("help/en-US"))
    ru_root = next(ru_tree.rglob("help/ru"))
    seen: set[tuple[str, str]] = set()
    files = sorted(p.relative_to(en_root).as_posix() for p in en_root.rglob("*.html"))
    for rel in tqdm(files, desc="libreoffice", unit="page"):
        if not (ru_root / rel).exists():
            continue
        en, ru = _help_paragraphs(en_root / rel), _help_paragraphs(ru_root / rel)
        for pid, e in en.items():
            r = ru.get(pid, "")
            if len(e.split()) >= 4 and _CYRILLIC.search(r) and (e, r) not in seen:
                seen.add((e, r))
                yield {"file": rel, "id": pid, "en": e, "ru": r}


# --------------------------------------------------------------------------- output

CORPORA = {
    "austen": {
        "packages": ["r-cran-janeaustenr"],
        "description": "Jane Austen's six novels, one row per paragraph",
        "licence": "public domain (the novels); janeaustenr packaging: MIT",
        "upstream": "https://cran.r-project.org/package=janeaustenr (texts from "
                    "Project Gutenberg)",
        "rules": AUSTEN_RULES,
    },
    "bible": {
        "packages": ["sword-text-kjv", "sword-text-web"],
        "description": "King James Version and World English Bible, one row per verse pair",
        "licence": "public domain (both texts); 'World English Bible' is a trademark of "
                   "eBible.org, so text changed beyond markup removal must not carry "
                   "that name",
        "upstream": "https://ebible.org/kjv/ and https://ebible.org/web/ via CrossWire "
                    "SWORD modules",
        "rules": BIBLE_RULES,
    },
    "libreoffice": {
        "packages": ["libreoffice-help-en-us", "libreoffice-help-ru"],
        "description": "LibreOffice help, English-Russian paragraph pairs",
        "licence": "MPL-2.0",
        "upstream": "https://help.libreoffice.org (The Document Foundation)",
        "rules": LIBREOFFICE_RULES,
    },
}


def write_rows(rows: Iterable[dict], path: Path) -> int:
    """Compact JSON lines, xz with a fixed preset; returns the number of rows.

    Written to a ``.part`` file first, so a failed build leaves the committed file as it was.
    """
    n = 0
    part = path.with_name(path.name + ".part")
    with lzma.open(part, "wb", format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                   preset=XZ_PRESET) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            n += 1
    part.replace(path)
    return n


def counts(name: str, path: Path) -> dict[str, int]:
    """Rows, records (as ltm.pvq.corpora groups them), and UTF-8 bytes of text."""
    rows = [json.loads(line) for line in lzma.open(path, "rt", encoding="utf-8")]
    text_keys = {"austen": ["text"], "bible": ["kjv", "web"], "libreoffice": ["en", "ru"]}[name]
    group = {"austen": lambda r: (r["book"], r["chapter"]),
             "bible": lambda r: r["ref"].rsplit(":", 1)[0],
             "libreoffice": lambda r: r["file"]}[name]
    out = {"rows": len(rows), "records": len({group(r) for r in rows}),
           "text_bytes": sum(len(r[k].encode()) for r in rows for k in text_keys)}
    if name == "austen":
        out["books"] = len({r["book"] for r in rows})
        out["words"] = sum(len(r["text"].split()) for r in rows)
    return out


def build(name: str, work: Path, debs: Path | None, cache: Path | None) -> dict:
    spec = CORPORA[name]
    print(f"{name}: fetching {', '.join(spec['packages'])}")
    trees, infos = zip(*(fetch(p, work, debs) for p in spec["packages"]), strict=True)
    rows = {"austen": lambda: austen_rows(*trees),
            "bible": lambda: bible_rows(trees, infos, cache),
            "libreoffice": lambda: libreoffice_rows(*trees)}[name]()
    path = OUT / f"{name}.jsonl.xz"
    write_rows(rows, path)
    prov = {
        "name": name,
        "description": spec["description"],
        "file": path.name,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "counts": counts(name, path),
        "licence": spec["licence"],
        "upstream": spec["upstream"],
        "packages": list(infos),
        "rules": spec["rules"],
        "subsample": None,
        "format": "xz (preset 9) of UTF-8 JSON lines, compact, in source order",
        "rebuild": f"python scripts/build_corpora.py --only {name}",
        "tools": {"python": platform.python_version(),
                  **{m: metadata.version(m) for m in ("rdata", "pysword", "tqdm")}},
        "built": datetime.date.today().isoformat(),
    }
    (OUT / f"{name}.provenance.json").write_text(
        json.dumps(prov, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"{name}: {prov['counts']} -> {path.relative_to(ROOT)} ({prov['bytes']:,} bytes)")
    return prov


def write_readme() -> None:
    """``data/corpora/README.md`` from the provenance files (no number typed by hand)."""
    provs = [json.loads((OUT / f"{n}.provenance.json").read_text("utf-8"))
             for n in CORPORA if (OUT / f"{n}.provenance.json").exists()]
    lines = [
        "# Real-text corpora",
        "",
        "Written by `scripts/build_corpora.py` from the provenance files beside it; do not",
        "edit by hand. Convert one to PVQ with `ltm data corpus NAME --out F.pvq.jsonl`;",
        "read rows with `ltm.pvq.corpora.load(NAME)`. Each `<name>.provenance.json` gives",
        "the Debian packages and versions, their SHA-256, the rules applied and the command",
        "that rebuilds the file.",
        "",
        "| corpus | what | licence | rows | records | text (UTF-8) | file | packages |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for p in provs:
        c = p["counts"]
        pk = ", ".join(f"`{i['package']}` {i['version']}" for i in p["packages"])
        lines.append(f"| `{p['name']}` | {p['description']} | {p['licence'].split(';')[0]} "
                     f"| {c['rows']:,} | {c['records']:,} | {c['text_bytes'] / 1e6:.1f} MB "
                     f"| {p['bytes'] / 1e6:.2f} MB | {pk} |")
    total = sum(p["bytes"] for p in provs)
    lines += ["", f"Committed in all: {total / 1e6:.2f} MB. None is subsampled."
              if not any(p["subsample"] for p in provs) else
              f"Committed in all: {total / 1e6:.2f} MB. Some are subsampled (see provenance).",
              "", "## Rules", ""]
    for p in provs:
        lines += [f"### `{p['name']}`", ""] + [f"- {r}" for r in p["rules"]] + [""]
    (OUT / "README.md").write_text("\n".join(lines), "utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=list(CORPORA),
                    help="build this corpus (repeatable); default all")
    ap.add_argument("--debs", type=Path, help="take .deb files from this directory instead "
                                              "of apt-get download")
    ap.add_argument("--cache", type=Path, help="keep the raw Bible verses here between runs "
                                               "(reading one Bible takes about a minute)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="ltm-corpora-"))
    try:
        for name in args.only or list(CORPORA):
            build(name, work, args.debs, args.cache)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_readme()
    total = sum(f.stat().st_size for f in OUT.glob("*.jsonl.xz"))
    print(f"committed corpora: {total:,} bytes in all; built in {time.time() - t0:.0f} s")
    if total > MAX_TOTAL_BYTES:
        print(f"warning: over the {MAX_TOTAL_BYTES:,}-byte budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
