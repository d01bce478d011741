"""Task runner of the LTM repo: `nox -l` lists the sessions, each with its docstring.

Every session installs what it needs into its own virtual environment. On a machine
without an NVIDIA GPU, torch is pinned to the CPU build 2.13.0 *before* the package is
installed, so pip never resolves a CUDA build of several GB. Set ``LTM_TORCH`` to another
requirement (for example ``LTM_TORCH=torch`` on a GPU machine) to override the pin.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True  # `nox -s tests` twice costs seconds, not minutes

PYTHON = "3.11"
CPU_TORCH = "torch==2.13.0"


def _torch_requirement() -> str:
    if "LTM_TORCH" in os.environ:
        return os.environ["LTM_TORCH"]
    return "torch" if shutil.which("nvidia-smi") else CPU_TORCH


def _install(session: nox.Session, *extras: str) -> None:
    """Install torch first (pinned on CPU machines), then the package with ``extras``."""
    session.install(_torch_requirement())
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec, _torch_requirement())


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest + hypothesis); extra arguments go to pytest."""
    _install(session, "model", "test")
    session.run("pytest", *session.posargs, env={"HYPOTHESIS_PROFILE": "ci"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "reference", "tests", "experiments", "scripts", "bench",
                "noxfile.py")


@nox.session(python=PYTHON, default=False)
def reproduce(session: nox.Session) -> None:
    """Rebuild every result of the paper: the PVQ data, every model, every experiment.

    Arguments after ``--`` go to ``experiments/run.py`` (``--preset smoke`` for a quick run).
    """
    _install(session, "model", "paper", "anchors")
    session.run("python", "experiments/run.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Speed and memory, as ratios measured in one run: writes bench/results.json."""
    _install(session, "model")
    session.run("python", "bench/run.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly into ``site/`` (``-- serve`` to preview it)."""
    _install(session, "model", "docs")
    env = {"NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner is not a build problem
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "--strict", *session.posargs[1:], env=env)
    else:
        session.run("mkdocs", "build", "--strict", *session.posargs, env=env)


@nox.session(python=PYTHON, default=False)
def browser(session: nox.Session) -> None:
    """Build the site, open every page in headless Chromium offline; screenshots: site-shots/.

    Needs Debian's ``chromium`` (Playwright drives it; nothing is downloaded). Arguments
    after ``--`` go to ``tests/browser/check_site.py`` (``--out DIR``, ``-v``).
    """
    _install(session, "docs", "browser")
    env = {"NO_MKDOCS_2_WARNING": "1"}
    site = os.path.join(session.create_tmp(), "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env=env)
    session.run("python", "tests/browser/check_site.py", "--site", site, *session.posargs)


@nox.session(python=PYTHON, default=False)
def paper(session: nox.Session) -> None:
    """Build the whitepaper ``paper/build/ltm.pdf`` with latexmk (needs TeX: see README)."""
    _install(session)
    session.run("python", "paper/build.py", *session.posargs)
