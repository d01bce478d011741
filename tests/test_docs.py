"""Every example in the docs runs, so none can rot.

Each page of ``docs/`` is one test. Its fenced ````bash`` and ````python`` blocks run in
order in one fresh temporary directory (so a tutorial's later blocks see the files its
earlier blocks made): bash blocks with ``bash -euo pipefail``, python blocks with ``exec``
in a fresh namespace. A block right after the HTML comment ``<!-- no-run -->`` is skipped
(keep those rare: the set-up commands that would rebuild everything). ````json`` and
````yaml`` blocks that hold PVQ records must be valid PVQ, and blocks of one page that
show the same record id (e.g. the two encodings of one episode) must be equal.

The ``ltm`` command must be on ``PATH`` next to this Python (``pip install -e .``). A
page names files of the repo (the shipped ``checkpoints/paper``) through ``$LTM_REPO``,
which the test sets to the clone's root.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ltm import pvq

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
TIMEOUT_S = 60
NO_RUN = "<!-- no-run -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<lang>[\w-]*)")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    skip: bool


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, at any indentation (tabs and admonitions indent)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i, previous = [], 0, ""
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        close = re.compile(rf"^{re.escape(indent)}{fence}\s*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            raise AssertionError(f"{page}:{i + 1}: code block never closed")
        body = textwrap.dedent("\n".join(lines[i + 1 : j]))
        found.append(Block(m["lang"].lower(), body + "\n", i + 1, previous == NO_RUN))
        previous, i = "", j + 1
    return found


@contextlib.contextmanager
def _time_limit(seconds: int, where: str):
    def stop(signum, frame):
        raise TimeoutError(f"{where}: took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _run_bash(block: Block, where: str, cwd: Path) -> None:
    env = dict(os.environ)
    # `ltm` and `python` are the ones of the interpreter running the tests.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # one torch thread, like the rest of the suite (2 cores)
    env["LTM_REPO"] = str(REPO)  # pages name shipped files (checkpoints/paper) through it
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{where}: took longer than {TIMEOUT_S} s")
    if r.returncode:
        pytest.fail(f"{where}: exit status {r.returncode}\n{block.code}\n"
                    f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}")


def _run_python(block: Block, where: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("LTM_REPO", str(REPO))
    code = compile(block.code, where, "exec")
    with _time_limit(TIMEOUT_S, where):
        exec(code, {"__name__": "__main__"})


def _pvq_objects(block: Block) -> list[dict]:
    """The PVQ records a json or yaml block shows, if it shows any."""
    if block.lang == "json":
        obj = json.loads(block.code)
        objs = obj if isinstance(obj, list) else [obj]
    elif block.lang == "yaml":
        objs = yaml.safe_load(block.code)
        objs = objs if isinstance(objs, list) else [objs]
    else:
        return []
    return [o for o in objs if isinstance(o, dict) and "pvq" in o]


def test_pages_found():
    assert DOCS.joinpath("index.md") in PAGES
    assert any(b.lang in ("bash", "python") and not b.skip for p in PAGES for b in blocks(p))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shown: dict[str, tuple[str, dict]] = {}
    for block in blocks(page):
        where = f"{page.relative_to(DOCS.parent)}:{block.line}"
        for obj in _pvq_objects(block):
            problems = pvq.check_record(obj)
            assert not problems, f"{where}: not valid PVQ: {problems}"
            first = shown.setdefault(obj["id"], (where, obj))
            assert first[1] == obj, f"{where}: record {obj['id']!r} differs from {first[0]}"
        if block.skip:
            continue
        if block.lang == "bash":
            _run_bash(block, where, tmp_path)
        elif block.lang == "python":
            _run_python(block, where, tmp_path, monkeypatch)
