"""Build the whitepaper: ``paper/main.tex`` -> ``paper/build/ltm.pdf`` with latexmk.

Run it as ``nox -s paper`` or ``python paper/build.py`` from anywhere. It

* runs latexmk in pdf mode (pdflatex + bibtex, as many passes as needed) with the output
  in ``paper/build/`` and the job name ``ltm``;
* fails with one clear line if latexmk is not installed, saying how to get TeX;
* fails if the log has an undefined reference, citation or control sequence, or ``??``
  (an unresolved reference that slipped through), listing the offending lines;
* prints the page count (``pdfinfo`` if available, else the log) and the build time.

Options: ``--clean`` removes ``paper/build/`` first (a full, timed rebuild from scratch);
``--quiet`` hides latexmk's own output unless the build fails.
Exit status: 0 on success, 1 on a failed or unclean build, 2 if TeX is missing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

PAPER = Path(__file__).resolve().parent
BUILD = PAPER / "build"
JOB = "ltm"
MAIN = "main.tex"

INSTALL_HINT = (
    "latexmk not found: install TeX first. "
    "Debian/Ubuntu: sudo apt-get install --no-install-recommends texlive-latex-base "
    "texlive-latex-recommended latexmk poppler-utils; "
    "macOS: install MacTeX (brew install --cask mactex-no-gui), or BasicTeX "
    "(brew install --cask basictex) then sudo tlmgr install latexmk; "
    "other Linux: install your distribution's TeX Live packages with latexmk "
    "(e.g. dnf install texlive-scheme-basic latexmk) or TeX Live from tug.org/texlive."
)

# What counts as an unclean build, matched line by line in the .log.
PROBLEMS: list[tuple[str, re.Pattern[str]]] = [
    ("undefined reference", re.compile(r"Reference `[^']*' on page \d+ undefined")),
    ("undefined citation", re.compile(r"Citation `[^']*' on page \d+ undefined")),
    ("undefined references", re.compile(r"There were undefined (references|citations)")),
    ("undefined control sequence", re.compile(r"Undefined control sequence")),
    ("?? in the log", re.compile(r"\?\?")),
]


PUBLISHED = PAPER / "ltm.pdf"
"""The built PDF, committed, so the docs site (its Paper page) and readers of the repo
have it without TeX; every clean build replaces it."""


def _latexmk_command(quiet: bool) -> list[str]:
    cmd = [
        "latexmk", "-pdf", "-bibtex",
        f"-outdir={BUILD.name}", f"-jobname={JOB}",
        "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
    ]
    if quiet:
        cmd.append("-silent")
    return [*cmd, MAIN]


def check_log(log: Path) -> list[str]:
    """The log's problems, one ``kind: line`` per offending line (empty when clean)."""
    if not log.is_file():
        return [f"no log: {log} was not written"]
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        for kind, pattern in PROBLEMS:
            if pattern.search(line):
                found.append(f"{kind}: {line.strip()}")
                break
    return found


def errors(log: Path) -> list[str]:
    """TeX's error lines (``! ...`` and ``file:line: ...``) from the log, for a failed run."""
    if not log.is_file():
        return []
    pattern = re.compile(r"^(! .*|\S+\.(tex|sty|cls|bbl|aux):\d+: .*)$")
    text = log.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if pattern.match(line)]


def page_count(pdf: Path, log: Path) -> int | None:
    """Pages of ``pdf``: from pdfinfo when installed, else from the log's last
    ``Output written on ... (N pages`` line."""
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                             check=False).stdout
        m = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
        if m:
            return int(m.group(1))
    if log.is_file():
        hits = re.findall(r"Output written on .*?\((\d+) pages?",
                          log.read_text(encoding="utf-8", errors="replace"), re.DOTALL)
        if hits:
            return int(hits[-1])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="remove paper/build/ first and rebuild from scratch")
    parser.add_argument("--quiet", action="store_true",
                        help="hide latexmk's output unless the build fails")
    args = parser.parse_args(argv)

    if shutil.which("latexmk") is None:
        print(f"paper: {INSTALL_HINT}", file=sys.stderr)
        return 2
    if args.clean and BUILD.exists():
        shutil.rmtree(BUILD)
    BUILD.mkdir(exist_ok=True)

    pdf, log = BUILD / f"{JOB}.pdf", BUILD / f"{JOB}.log"
    start = time.perf_counter()
    proc = subprocess.run(_latexmk_command(args.quiet), cwd=PAPER, check=False,
                          capture_output=args.quiet, text=True)
    seconds = time.perf_counter() - start

    if proc.returncode != 0:
        if args.quiet:
            sys.stderr.write((proc.stdout or "") + (proc.stderr or ""))
        problems = errors(log) or check_log(log)
        print(f"paper: latexmk failed (exit {proc.returncode}) after {seconds:.1f} s; "
              f"see {log.relative_to(PAPER.parent)}", file=sys.stderr)
        for line in problems[:20]:
            print(f"  {line}", file=sys.stderr)
        return 1

    problems = check_log(log)
    if problems:
        print(f"paper: unclean build, {len(problems)} problem(s) in "
              f"{log.relative_to(PAPER.parent)}:", file=sys.stderr)
        for line in problems[:20]:
            print(f"  {line}", file=sys.stderr)
        return 1

    pages = page_count(pdf, log)
    shutil.copyfile(pdf, PUBLISHED)  # the committed copy the docs site serves
    print(f"paper: {pdf.relative_to(PAPER.parent)}: "
          f"{pages if pages is not None else '?'} pages, built in {seconds:.1f} s; "
          f"copied to {PUBLISHED.relative_to(PAPER.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
