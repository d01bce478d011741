"""A griffe extension: Sphinx roles in docstrings become mkdocstrings cross-references.

The package's docstrings refer to other objects the Sphinx way (:func:`cut`,
:class:`~ltm.pvq.schema.Record`). mkdocstrings does not read those roles, so this
extension rewrites each one before rendering: to a link ``[`cut`][ltm.segment.cut]`` when
the name resolves (in the scope of the docstring's object) to an object that the API
pages render, and otherwise to plain code, so that the strict build never fails on a
reference to a module the site does not document (yet). ``~`` shows the last part only.

Options (mkdocs.yml): ``documented``, the module paths whose objects the API pages
render; an object is linked when its canonical path is one of them or lies under one.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|data|class|mod|meth|attr|exc|obj|const):`(~?)([\w.]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles of every docstring in the package (see the module docstring)."""

    def __init__(self, documented: list[str] | None = None) -> None:
        super().__init__()
        self.documented = tuple(documented or ())

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _ROLE.sub(lambda m, o=obj: self._ref(o, m), obj.docstring.value)

    def _ref(self, obj: griffe.Object, m: re.Match) -> str:
        short, name = m.group(1) == "~", m.group(2)
        shown = name.rsplit(".", 1)[-1] if short else name
        target = self._target(obj, name)
        return f"[`{shown}`][{target}]" if target else f"`{shown}`"

    def _target(self, obj: griffe.Object, name: str) -> str | None:
        head, _, rest = name.partition(".")
        try:
            if head == obj.package.name:  # already a full path
                full = name
            else:
                full = obj.resolve(head) + (f".{rest}" if rest else "")
            found = obj.package[full.partition(".")[2]] if "." in full else obj.package
            path = found.final_target.path if found.is_alias else found.path
            target = found.final_target if found.is_alias else found
        except Exception:  # unresolvable name, missing member, broken alias: plain code
            return None
        if any(part.startswith("_") for part in path.split(".")):
            return None
        if not (target.is_module or target.docstring):
            return None  # mkdocstrings renders (and anchors) only documented objects
        if any(path == d or path.startswith(d + ".") for d in self.documented):
            return path
        return None


def _walk(obj: griffe.Object):
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)
