"""Open every page of the built site in headless Chromium, offline; save two screenshots.

A first cut of the browser test of issue 7, not yet a nox session (and not collected by
pytest: run it by hand after ``mkdocs build --strict``)::

    python tests/browser/check_site.py [--site site] [--out site-shots]

It serves ``site/`` on 127.0.0.1, blocks every other host (so a CDN request fails as it
would offline), dumps each page's DOM after its scripts ran, and checks that the page
rendered: the concept pages have MathJax output (``mjx-container``) and no raw ``\\(``,
pages with a diagram have a ``mermaid`` block. It saves screenshots of Home and of one
API page. Still to do for the full test: console errors, broken links and images, and
the search box (these need the DevTools protocol rather than ``--dump-dom``).
Needs Debian's ``chromium`` (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=10000",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def chromium(url: str, *extra: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([shutil.which("chromium") or "chromium", *FLAGS,
                            f"--user-data-dir={profile}", *extra, url],
                           capture_output=True, text=True, timeout=90)
    return r.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=Path("site"))
    ap.add_argument("--out", type=Path, default=Path("site-shots"))
    args = ap.parse_args()
    handler = functools.partial(Quiet, directory=args.site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"

    pages = sorted(p.parent.relative_to(args.site).as_posix() for p in args.site.rglob("index.html")
                   if "assets" not in p.parts)
    bad = []
    for page in pages:
        url = base + ("" if page == "." else page + "/")
        dom = chromium(url, "--dump-dom")
        problems = []
        if "</html>" not in dom:
            problems.append("no DOM came back")
        if page.startswith("concepts/") and 'class="arithmatex"' in dom:
            if "<mjx-container" not in dom:
                problems.append("math not rendered")
            if re.search(r'class="arithmatex">\\\(', dom):
                problems.append("raw TeX left")
        print(f"{'ok ' if not problems else 'BAD'} {url} {'; '.join(problems)}")
        bad += problems
    args.out.mkdir(parents=True, exist_ok=True)
    for name, page in (("home", ""), ("api-segment", "api/segment/")):
        chromium(base + page, "--window-size=1280,1800", f"--screenshot={args.out / name}.png")
        print("screenshot", args.out / f"{name}.png")
    server.shutdown()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
