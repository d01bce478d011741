"""Render: frames to quotes, in English and Russian, in several phrasings.

Every act has three templates per language (word order, synonyms, voice). A template
is a string in a tiny notation that both the renderer and the parser
(:mod:`ltm.pvq.world.parse`) compile, so the two can never drift apart:

| notation | meaning | example |
|---|---|---|
| ``{role}`` | the role's entity in form ``nom`` | ``{agent}`` -> ``Анна`` |
| ``{role:form}`` | that form (a case, ``in``, ``to``, ...) | ``{place:to}`` -> ``в сад`` |
| ``{^role:form}`` | the same, first letter capitalised | ``{^object:acc}`` -> ``Книгу`` |
| ``{role:form@g}`` | form ``form_m``/``form_f`` by the gender of role ``g`` | ``{mood:verb@agent}`` |
| ``<g:m|f|n>`` | the word that agrees with the gender of role ``g`` | ``<agent:пошёл|пошла>`` |

So "Анна пошла в сад." and "Иван пошёл в сад." come from one template,
``{agent} <agent:пошёл|пошла> {place:to}.``, and every noun form is read from the
hand-declined lexicon (:mod:`ltm.pvq.world.lexicon`). English uses the same notation
for *his/her*.

A recap of two agents in the same place is said differently ("Anna and Ivan are both in
the garden"); it has its own templates under the key ``recap_same``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ltm.pvq.world.frames import ACTS, ROLE_KINDS, check_frame
from ltm.pvq.world.lexicon import ENTITIES

__all__ = ["LANGS", "TEMPLATES", "render", "phrasings", "template_key", "compile_template"]

LANGS: tuple[str, ...] = ("en", "ru")
"""Languages the world is quoted in."""

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "be_at": ("{agent} is {place:in}.", "{^place:in} is {agent}.",
                  "{agent} can be found {place:in}."),
        "lie_at": ("{^object} is {place:in}.", "{^object} lies {place:in}.",
                   "{^place:in} lies {object}."),
        "stand_at": ("{^container} is {place:in}.", "{^container} stands {place:in}.",
                     "{^place:in} stands {container}."),
        "lie_in": ("{^object} is in {container}.", "{^object} lies inside {container}.",
                   "Inside {container} lies {object}."),
        "has": ("{agent} has {object}.", "{agent} is holding {object}.",
                "{^object} is in {agent:poss} hands."),
        "is_open": ("{^container} is open.", "{^container} stands open.",
                    "{^container} has been left open."),
        "is_closed": ("{^container} is closed.", "{^container} is shut.",
                      "{^container} stands closed."),
        "weather_is": ("{weather:s0}", "{weather:s1}", "{weather:s2}"),
        "go": ("{agent} went {place:to}.", "{agent} walked {place:to}.",
               "{agent} made <agent:his|her> way {place:to}."),
        "take": ("{agent} took {object}.", "{agent} picked up {object}.",
                 "{^object} was taken by {agent}."),
        "drop": ("{agent} dropped {object}.", "{agent} put down {object}.",
                 "{^object} was dropped by {agent}."),
        "give": ("{agent} gave {object} to {recipient}.", "{agent} gave {recipient} {object}.",
                 "{^object} was given to {recipient} by {agent}."),
        "open": ("{agent} opened {container}.", "{^container} was opened by {agent}.",
                 "{agent} got {container} open."),
        "close": ("{agent} closed {container}.", "{^container} was closed by {agent}.",
                  "{agent} shut {container}."),
        "put_in": ("{agent} put {object} into {container}.",
                   "{agent} placed {object} in {container}.",
                   "{^object} was put into {container} by {agent}."),
        "take_out": ("{agent} took {object} out of {container}.",
                     "{agent} got {object} out of {container}.",
                     "{^object} was taken out of {container} by {agent}."),
        "start_rain": ("It started to rain.", "It began to rain.", "Rain began to fall."),
        "stop_rain": ("The rain stopped.", "It stopped raining.", "The rain came to an end."),
        "feel": ("{agent} felt {mood:adj}.", "{agent} became {mood:adj}.",
                 "{agent} grew {mood:adj}."),
        "lose": ("{agent} lost {object}.", "{^object} was lost by {agent}.",
                 "{agent} mislaid {object}."),
        "find": ("{agent} found {object}.", "{^object} was found by {agent}.",
                 "{agent} came across {object}."),
        "want": ("{agent} wanted {object}.", "{agent} wanted to get {object}.",
                 "{agent} needed {object}."),
        "aim_go": ("{agent} wanted to go {place:to}.", "{agent} decided to go {place:to}.",
                   "{agent} made up <agent:his|her> mind to go {place:to}."),
        "recap": ("Now {agent} is {place:in} and {other} is {other_place:in}.",
                  "{agent} is {place:in} now, while {other} is {other_place:in}.",
                  "At this point {agent} is {place:in} and {other} is {other_place:in}."),
        "recap_same": ("Now {agent} and {other} are both {place:in}.",
                       "{agent} and {other} are {place:in} together now.",
                       "At this point {agent} and {other} are both {place:in}."),
    },
    "ru": {
        "be_at": ("{agent} {place:in}.", "{^place:in} находится {agent}.",
                  "{agent} находится {place:in}."),
        "lie_at": ("{^object} лежит {place:in}.", "{^place:in} лежит {object}.",
                   "{^object} находится {place:in}."),
        "stand_at": ("{^container} стоит {place:in}.", "{^place:in} стоит {container}.",
                     "{^container} находится {place:in}."),
        "lie_in": ("{^object} лежит {container:in}.", "{^container:in} лежит {object}.",
                   "{^object} находится {container:in}."),
        "has": ("У {agent:gen} есть {object}.", "{^object} у {agent:gen}.",
                "{agent} держит {object:acc}."),
        "is_open": ("{^container} <container:открыт|открыта|открыто>.",
                    "{^container} стоит <container:открытым|открытой|открытым>.",
                    "{^container} <container:оставлен|оставлена|оставлено> "
                    "<container:открытым|открытой|открытым>."),
        "is_closed": ("{^container} <container:закрыт|закрыта|закрыто>.",
                      "{^container} стоит <container:закрытым|закрытой|закрытым>.",
                      "{^container} <container:заперт|заперта|заперто>."),
        "weather_is": ("{weather:s0}", "{weather:s1}", "{weather:s2}"),
        "go": ("{agent} <agent:пошёл|пошла> {place:to}.", "{^place:to} <agent:пошёл|пошла> {agent}.",
               "{agent} <agent:отправился|отправилась> {place:to}."),
        "take": ("{agent} <agent:взял|взяла> {object:acc}.",
                 "{^object:acc} <agent:взял|взяла> {agent}.",
                 "{agent} <agent:подобрал|подобрала> {object:acc}."),
        "drop": ("{agent} <agent:уронил|уронила> {object:acc}.",
                 "{^object:acc} <agent:уронил|уронила> {agent}.",
                 "{^object} <object:выпал|выпала|выпало> из рук {agent:gen}."),
        "give": ("{agent} <agent:дал|дала> {object:acc} {recipient:dat}.",
                 "{agent} <agent:отдал|отдала> {object:acc} {recipient:dat}.",
                 "{agent} <agent:передал|передала> {recipient:dat} {object:acc}."),
        "open": ("{agent} <agent:открыл|открыла> {container:acc}.",
                 "{^container:acc} <agent:открыл|открыла> {agent}.",
                 "{^container} <container:был|была|было> <container:открыт|открыта|открыто> "
                 "{agent:ins}."),
        "close": ("{agent} <agent:закрыл|закрыла> {container:acc}.",
                  "{^container:acc} <agent:закрыл|закрыла> {agent}.",
                  "{^container} <container:был|была|было> <container:закрыт|закрыта|закрыто> "
                  "{agent:ins}."),
        "put_in": ("{agent} <agent:положил|положила> {object:acc} {container:to}.",
                   "{^object:acc} {agent} <agent:положил|положила> {container:to}.",
                   "{agent} <agent:убрал|убрала> {object:acc} {container:to}."),
        "take_out": ("{agent} <agent:достал|достала> {object:acc} {container:from}.",
                     "{agent} <agent:вынул|вынула> {object:acc} {container:from}.",
                     "{^container:from} {agent} <agent:достал|достала> {object:acc}."),
        "start_rain": ("Пошёл дождь.", "Начался дождь.", "Дождь начался."),
        "stop_rain": ("Дождь кончился.", "Дождь закончился.", "Дождь прекратился."),
        "feel": ("{agent} {mood:verb@agent}.",
                 "{agent} <agent:почувствовал|почувствовала> {mood:noun}.",
                 "{agent} <agent:стал|стала> {mood:adj@agent}."),
        "lose": ("{agent} <agent:потерял|потеряла> {object:acc}.",
                 "{^object:acc} <agent:потерял|потеряла> {agent}.",
                 "{^object} <object:потерялся|потерялась|потерялось> у {agent:gen}."),
        "find": ("{agent} <agent:нашёл|нашла> {object:acc}.",
                 "{^object:acc} <agent:нашёл|нашла> {agent}.",
                 "{agent} <agent:отыскал|отыскала> {object:acc}."),
        "want": ("{agent} <agent:захотел|захотела> получить {object:acc}.",
                 "{agent:dat} <object:понадобился|понадобилась|понадобилось> {object}.",
                 "{^object} <object:понадобился|понадобилась|понадобилось> {agent:dat}."),
        "aim_go": ("{agent} <agent:решил|решила> пойти {place:to}.",
                   "{agent} <agent:захотел|захотела> пойти {place:to}.",
                   "{agent:dat} захотелось пойти {place:to}."),
        "recap": ("Теперь {agent} {place:in}, а {other} {other_place:in}.",
                  "Сейчас {agent} находится {place:in}, а {other} — {other_place:in}.",
                  "{^place:in} теперь {agent}, а {other_place:in} — {other}."),
        "recap_same": ("Теперь {agent} и {other} вместе {place:in}.",
                       "{agent} и {other} сейчас {place:in}.",
                       "{^place:in} теперь и {agent}, и {other}."),
    },
}
"""Language to template key (an act, or ``recap_same``) to its phrasings."""

_GENDER_INDEX = {"m": 0, "f": 1, "n": 2}
_TOKEN = re.compile(r"\{(\^?)(\w+)(?::(\w+))?(?:@(\w+))?\}|<(\w+):([^>]*)>")

# A compiled template part: ("lit", text) | ("slot", role, form, cap, grole) | ("agr", role, opts)
Part = tuple


def compile_template(template: str) -> tuple[Part, ...]:
    """Split a template into literal, slot and agreement parts.

    Args:
        template: A template in the notation of this module.

    Returns:
        The parts, in order.
    """
    parts: list[Part] = []
    pos = 0
    for m in _TOKEN.finditer(template):
        if m.start() > pos:
            parts.append(("lit", template[pos:m.start()]))
        if m.group(2):
            cap, role, form, grole = m.group(1), m.group(2), m.group(3) or "nom", m.group(4)
            if role not in ROLE_KINDS:
                raise ValueError(f"template {template!r}: unknown role {role!r}")
            parts.append(("slot", role, form, bool(cap), grole))
        else:
            parts.append(("agr", m.group(5), tuple(m.group(6).split("|"))))
        pos = m.end()
    if pos < len(template):
        parts.append(("lit", template[pos:]))
    return tuple(parts)


_COMPILED: dict[str, dict[str, tuple[tuple[Part, ...], ...]]] = {
    lang: {key: tuple(compile_template(t) for t in ts) for key, ts in table.items()}
    for lang, table in TEMPLATES.items()
}


def template_key(frame: dict[str, str]) -> str:
    """The template set that says ``frame``: its act, or ``recap_same`` for a recap of two
    agents in one place."""
    act = frame["act"]
    if act == "recap" and frame["place"] == frame["other_place"]:
        return "recap_same"
    return act


def _fill(parts: tuple[Part, ...], frame: dict[str, str], lang: str) -> str:
    out = []
    for p in parts:
        if p[0] == "lit":
            out.append(p[1])
        elif p[0] == "slot":
            _, role, form, cap, grole = p
            if grole is not None:
                form = f"{form}_{ENTITIES[frame[grole]].gender}"
            s = ENTITIES[frame[role]].forms[lang][form]
            out.append(s[0].upper() + s[1:] if cap else s)
        else:
            out.append(p[2][_GENDER_INDEX[ENTITIES[frame[p[1]]].gender]])
    return "".join(out)


@lru_cache(maxsize=1 << 16)
def _phrasings(lang: str, key: tuple[str, ...]) -> tuple[str, ...]:
    frame = {"act": key[0], **dict(zip(ACTS[key[0]], key[1:], strict=True))}
    return tuple(_fill(parts, frame, lang) for parts in _COMPILED[lang][template_key(frame)])


def _key(frame: dict[str, str]) -> tuple[str, ...]:
    return (frame["act"], *(frame[r] for r in ACTS[frame["act"]]))


def _check(frame: dict[str, str], lang: str) -> None:
    if lang not in TEMPLATES:
        raise ValueError(f"unknown language {lang!r} (expected one of {', '.join(LANGS)})")
    why = check_frame(frame)
    if why:
        raise ValueError(f"not a frame of the PVQ world: {why}")


def phrasings(frame: dict[str, str], lang: str) -> list[str]:
    """Every phrasing of a frame in one language, in phrasing order.

    Args:
        frame: A frame of this world, e.g. ``{"act": "go", "agent": "anna", "place": "garden"}``.
        lang: ``"en"`` or ``"ru"``.

    Returns:
        The quotes, distinct from each other (three for every act).

    Raises:
        ValueError: If ``lang`` is unknown or ``frame`` is not a frame of this world.
    """
    _check(frame, lang)
    return list(_phrasings(lang, _key(frame)))


def render(frame: dict[str, str], lang: str, phrasing: int = 0) -> str:
    """One quote of a frame.

    Args:
        frame: A frame of this world.
        lang: ``"en"`` or ``"ru"``.
        phrasing: Which phrasing, ``0 <= phrasing < len(phrasings(frame, lang))``.

    Returns:
        The sentence, e.g. ``render({"act": "go", "agent": "anna", "place": "garden"},
        "ru", 0) == "Анна пошла в сад."``.

    Raises:
        ValueError: On an unknown language, a bad frame or a phrasing out of range.
    """
    _check(frame, lang)
    ps = _phrasings(lang, _key(frame))
    if isinstance(phrasing, bool) or not isinstance(phrasing, int) or not 0 <= phrasing < len(ps):
        raise ValueError(f"phrasing must be an int in [0, {len(ps)}), got {phrasing!r}")
    return ps[phrasing]
