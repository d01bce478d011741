"""Open every page of the built site in headless Chromium, offline; save two screenshots.

The browser test of issue 7, run by ``nox -s browser`` (which builds the site first), or by
hand after ``mkdocs build --strict``::

    python tests/browser/check_site.py [--site site] [--out site-shots]

It serves ``--site`` on 127.0.0.1 and opens every page in Debian's ``chromium``
(``apt-get install -y chromium``), driven by Playwright with that executable: no
``playwright install``, no browser download. Every host but 127.0.0.1 is unresolvable,
so a CDN request fails as it would offline. On every page it checks

* no console errors (console messages of type error) and no uncaught page errors;
* every internal link (``<a href>`` to the local server, ``#fragment`` ignored) and every
  ``<img src>`` answers HTTP 200; an image from another host is a problem;
* math, where a page has any, was rendered by MathJax and no raw ``\\(`` or ``\\[`` is left;
  every concept page with math has ``mjx-container``;
* every mermaid diagram was drawn;

and on Home that the search box finds "tension". It saves screenshots of Home and of one
API page into ``--out``. It prints one line per problem and a summary, and exits 1 when
it found a problem. It is not collected by pytest (the file name has no ``test_``).
Needs the ``browser`` extra (``pip install -e .[browser]``) and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
SHOTS = {"home": "", "api-model": "api/model/"}
SEARCH_TERM = "tension"
TIMEOUT_MS = 15_000

# After load: the links, images and math of the page, in one round trip.
INSPECT = """() => {
  const raw = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('pre, code, script, style, textarea, mjx-container')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  while (walk.nextNode()) {
    const t = walk.currentNode.textContent;
    const i = t.search(/\\\\[(\\[]/);
    if (i >= 0) raw.push(t.slice(Math.max(0, i - 20), i + 40).trim());
  }
  return {
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    images: [...document.querySelectorAll('img[src]')].map(i => i.currentSrc || i.src),
    math: document.querySelectorAll('.arithmatex').length,
    mjx: document.querySelectorAll('mjx-container').length,
    // Material swaps each <pre class="mermaid"> for a <div class="mermaid"> holding the
    // drawing in a closed shadow root: drawn means a div with a height.
    mermaid: document.querySelectorAll('.mermaid').length,
    mermaidDrawn: [...document.querySelectorAll('div.mermaid')].filter(
      m => m.getBoundingClientRect().height > 10).length,
    raw,
  };
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # the browser dropping a connection it no longer needs (a broken pipe) is no error


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    sys.exit("no chromium on PATH: apt-get install -y chromium")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=Path("site"), help="the built site")
    ap.add_argument("--out", type=Path, default=Path("site-shots"), help="screenshots go here")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each page and its time")
    args = ap.parse_args()
    verbose = args.verbose
    if not (args.site / "index.html").is_file():
        sys.exit(f"{args.site}/index.html missing: build the site first (mkdocs build --strict)")
    started = time.monotonic()
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_port}/"
    local = urlsplit(base).netloc
    pages = sorted(p.parent.relative_to(args.site).as_posix()
                   for p in args.site.rglob("index.html")
                   if "assets" not in p.relative_to(args.site).parts)
    urls = [base + ("" if p == "." else p + "/") for p in pages]

    problems: list[str] = []
    checked: dict[str, int] = {}  # internal link or image -> HTTP status
    kinds: dict[str, set[str]] = {"link": set(), "image": set()}
    concept_math: dict[str, int] = {}  # concept page -> its mjx-container count

    def problem(url: str, what: str) -> None:
        line = f"{url.removeprefix(base) or '/'}: {what}"
        problems.append(line)
        print(line, flush=True)

    def resolves(page: str, target: str, kind: str) -> None:
        target = urldefrag(target).url
        kinds[kind].add(target)
        if target not in checked:
            checked[target] = status(target)
        if checked[target] != 200:
            problem(page, f"{kind} {target.removeprefix(base)} -> HTTP {checked[target] or 'none'}")

    args.out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 1800})
        context.set_default_timeout(TIMEOUT_MS)
        offline(context, problem, base)
        for url in urls:
            t0 = time.monotonic()
            page = context.new_page()
            page.on("console", lambda m, url=url: m.type == "error" and problem(
                url, f"console error: {m.text} ({m.location.get('url') or 'inline'})"))
            page.on("pageerror", lambda e, url=url: problem(url, f"page error: {e}"))
            try:
                page.goto(url, wait_until="load")
                page.wait_for_load_state("networkidle")
                if page.locator(".arithmatex").count():
                    try:  # MathJax typesets after load; a miss is reported below
                        page.wait_for_selector("mjx-container", state="attached")
                    except PlaywrightError:
                        pass
                found = page.evaluate(INSPECT)
            except PlaywrightError as e:
                problem(url, f"did not load: {str(e).splitlines()[0]}")
                page.close()
                continue
            for link in found["links"]:
                if urlsplit(link).netloc == local:
                    resolves(url, link, "link")
            for img in found["images"]:
                if urlsplit(img).netloc == local:
                    resolves(url, img, "image")
                elif not img.startswith("data:"):
                    problem(url, f"image from another host: {img}")
            if found["math"] and not found["mjx"]:
                problem(url, f"math not rendered ({found['math']} formulas, no mjx-container)")
            if url.startswith(base + "concepts/"):
                concept_math[url] = found["mjx"]
            for text in found["raw"]:
                problem(url, f"raw TeX left: {text!r}")
            if found["mermaid"] > found["mermaidDrawn"]:
                problem(url, f"{found['mermaid'] - found['mermaidDrawn']} mermaid diagram(s) "
                        "not drawn")
            for name, path in SHOTS.items():
                if url == base + path:
                    shot = args.out / f"{name}.png"
                    page.screenshot(path=shot)
                    shots.append(shot)
            if url == base:  # after the screenshot, which should not show the search overlay
                search(page, url, problem)
            page.close()
            if verbose:
                print(f"{time.monotonic() - t0:5.1f} s {url}", flush=True)
        browser.close()
    server.shutdown()

    if not any(concept_math.values()):
        problem(base + "concepts/", "no rendered math on any concept page")
    for name, path in SHOTS.items():
        if base + path not in urls:
            problem(base + path, f"page missing, no screenshot {name}.png")
    print(f"checked {len(urls)} pages, {len(kinds['link'])} internal links, "
          f"{len(kinds['image'])} images; {len(shots)} screenshots: "
          f"{', '.join(map(str, shots))}; {len(problems)} problems; "
          f"{time.monotonic() - started:.0f} s")
    return 1 if problems else 0


def offline(context, problem, base: str) -> None:
    """Make sure the browser cannot reach another host, so the run is an offline check."""
    page = context.new_page()
    page.goto(base)
    reached = page.evaluate("""() => fetch('https://cdn.jsdelivr.net/npm/mathjax@3/package.json',
                                        {mode: 'no-cors'}).then(() => true, () => false)""")
    if reached:
        problem(base, "a CDN answered: the check is not offline (--host-resolver-rules ignored?)")
    page.close()


def search(page, url: str, problem) -> None:
    """Type the term into Material's search box; at least one result must show."""
    try:
        page.locator("label.md-search__icon, .md-search__input").first.click()
        box = page.locator("input.md-search__input")
        box.fill("")
        box.press_sequentially(SEARCH_TERM, delay=20)
        page.locator(".md-search-result__item").first.wait_for(state="visible")
        n = page.locator(".md-search-result__item").count()
        if not n:
            problem(url, f"search for {SEARCH_TERM!r} found nothing")
    except PlaywrightError as e:
        meta = page.locator(".md-search-result__meta").all_inner_texts()
        problem(url, f"search for {SEARCH_TERM!r} showed no result ({' '.join(meta) or 'no meta'}): "
                f"{str(e).splitlines()[0]}")


if __name__ == "__main__":
    sys.exit(main())
