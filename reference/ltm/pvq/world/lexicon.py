"""The lexicon of the PVQ world: every entity with all its English and Russian word forms.

The world's nouns are few, so every form a template may ask for is written out here by
hand, as a Russian speaker would decline it: no form is made by a suffix rule. That is
what lets the renderer be correct where naive generation goes wrong: the second
locative of *сад* (*в саду*, not *в саде*), *на* for *кухня*, *вокзал*, *мост* but *в* for
*сад*, *шкаф* (*в шкафу*), *во дворе*, the fleeting vowel of *рынок* (*на рынке*), the
gender of every agent (for past-tense verbs) and of every object and container (for
*понадобился/понадобилась/понадобилось*, *закрыт/закрыта*).

Entity kinds and the forms each one has (``nom`` is the citation form in both
languages; in English it carries the article: ``the key``):

| kind | ids | English forms | Russian forms |
|---|---|---|---|
| agent | 12 names, 6 f + 6 m | nom, poss (``Anna's``) | the six cases |
| place | 14, 7 outdoor | nom, in, to | six cases + in, to, from (with preposition) |
| object | 16 portable things | nom | six cases |
| container | 6, fixed at a place | nom | six cases + in, to, from |
| mood | 6 | adj | verb_m/verb_f, noun (accusative), adj_m/adj_f (instrumental) |
| weather | rain, clear | s0..s2 (whole sentences) | s0..s2 |

The six Russian cases are stored in the order ``nom gen dat acc ins prep``. Entity ids
are unique across kinds, so a state key like ``key.holder`` names one thing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entity", "AGENTS", "PLACES", "OBJECTS", "CONTAINERS", "MOODS", "WEATHERS",
           "ENTITIES", "KINDS", "CASES", "OUTDOOR", "INDOOR"]

CASES: tuple[str, ...] = ("nom", "gen", "dat", "acc", "ins", "prep")
"""The six Russian cases, in the order the tables below list them."""


@dataclass(frozen=True)
class Entity:
    """One thing the world can talk about.

    Attributes:
        id: Stable lowercase id, unique across kinds (the value stored in frames).
        kind: ``agent``, ``place``, ``object``, ``container``, ``mood`` or ``weather``.
        gender: Russian grammatical gender ``m``, ``f`` or ``n`` (English pronouns follow
            it for agents); ``n`` for kinds without one.
        forms: Language to form name to surface text.
        outdoor: For places: whether rain falls there.
    """

    id: str
    kind: str
    gender: str
    forms: dict[str, dict[str, str]]
    outdoor: bool = False


def _ru_cases(cases: tuple[str, ...]) -> dict[str, str]:
    if len(cases) != 6:
        raise ValueError(f"a Russian noun needs six cases, got {cases!r}")
    return dict(zip(CASES, cases, strict=True))


# --------------------------------------------------------------------------- agents

# id: (gender, English, (nom, gen, dat, acc, ins, prep))
_AGENTS = {
    "anna": ("f", "Anna", ("Анна", "Анны", "Анне", "Анну", "Анной", "Анне")),
    "maria": ("f", "Maria", ("Мария", "Марии", "Марии", "Марию", "Марией", "Марии")),
    "olga": ("f", "Olga", ("Ольга", "Ольги", "Ольге", "Ольгу", "Ольгой", "Ольге")),
    "elena": ("f", "Elena", ("Елена", "Елены", "Елене", "Елену", "Еленой", "Елене")),
    "irina": ("f", "Irina", ("Ирина", "Ирины", "Ирине", "Ирину", "Ириной", "Ирине")),
    "vera": ("f", "Vera", ("Вера", "Веры", "Вере", "Веру", "Верой", "Вере")),
    "ivan": ("m", "Ivan", ("Иван", "Ивана", "Ивану", "Ивана", "Иваном", "Иване")),
    "peter": ("m", "Peter", ("Пётр", "Петра", "Петру", "Петра", "Петром", "Петре")),
    "boris": ("m", "Boris", ("Борис", "Бориса", "Борису", "Бориса", "Борисом", "Борисе")),
    "sergei": ("m", "Sergei", ("Сергей", "Сергея", "Сергею", "Сергея", "Сергеем", "Сергее")),
    "oleg": ("m", "Oleg", ("Олег", "Олега", "Олегу", "Олега", "Олегом", "Олеге")),
    "maxim": ("m", "Maxim", ("Максим", "Максима", "Максиму", "Максима", "Максимом",
                             "Максиме")),
}

# --------------------------------------------------------------------------- places

# id: (outdoor, English noun, English preposition of location,
#      (nom, gen, dat, acc, ins, prep), Russian "in", "to", "from" phrases)
_PLACES = {
    "garden": (True, "garden", "in", ("сад", "сада", "саду", "сад", "садом", "саде"),
               "в саду", "в сад", "из сада"),
    "kitchen": (False, "kitchen", "in", ("кухня", "кухни", "кухне", "кухню", "кухней", "кухне"),
                "на кухне", "на кухню", "с кухни"),
    "forest": (True, "forest", "in", ("лес", "леса", "лесу", "лес", "лесом", "лесе"),
               "в лесу", "в лес", "из леса"),
    "library": (False, "library", "in", ("библиотека", "библиотеки", "библиотеке",
                                         "библиотеку", "библиотекой", "библиотеке"),
                "в библиотеке", "в библиотеку", "из библиотеки"),
    "station": (False, "station", "at", ("вокзал", "вокзала", "вокзалу", "вокзал",
                                         "вокзалом", "вокзале"),
                "на вокзале", "на вокзал", "с вокзала"),
    "market": (True, "market", "at", ("рынок", "рынка", "рынку", "рынок", "рынком", "рынке"),
               "на рынке", "на рынок", "с рынка"),
    "bridge": (True, "bridge", "on", ("мост", "моста", "мосту", "мост", "мостом", "мосте"),
               "на мосту", "на мост", "с моста"),
    "school": (False, "school", "in", ("школа", "школы", "школе", "школу", "школой", "школе"),
               "в школе", "в школу", "из школы"),
    "beach": (True, "beach", "on", ("пляж", "пляжа", "пляжу", "пляж", "пляжем", "пляже"),
              "на пляже", "на пляж", "с пляжа"),
    "attic": (False, "attic", "in", ("чердак", "чердака", "чердаку", "чердак", "чердаком",
                                     "чердаке"),
              "на чердаке", "на чердак", "с чердака"),
    "cellar": (False, "cellar", "in", ("подвал", "подвала", "подвалу", "подвал", "подвалом",
                                       "подвале"),
               "в подвале", "в подвал", "из подвала"),
    "park": (True, "park", "in", ("парк", "парка", "парку", "парк", "парком", "парке"),
             "в парке", "в парк", "из парка"),
    "shop": (False, "shop", "in", ("магазин", "магазина", "магазину", "магазин", "магазином",
                                   "магазине"),
             "в магазине", "в магазин", "из магазина"),
    "yard": (True, "yard", "in", ("двор", "двора", "двору", "двор", "двором", "дворе"),
             "во дворе", "во двор", "со двора"),
}

# --------------------------------------------------------------------------- things

# id: (gender, English noun, (nom, gen, dat, acc, ins, prep))
_OBJECTS = {
    "key": ("m", "key", ("ключ", "ключа", "ключу", "ключ", "ключом", "ключе")),
    "book": ("f", "book", ("книга", "книги", "книге", "книгу", "книгой", "книге")),
    "apple": ("n", "apple", ("яблоко", "яблока", "яблоку", "яблоко", "яблоком", "яблоке")),
    "letter": ("n", "letter", ("письмо", "письма", "письму", "письмо", "письмом", "письме")),
    "cup": ("f", "cup", ("чашка", "чашки", "чашке", "чашку", "чашкой", "чашке")),
    "lamp": ("f", "lamp", ("лампа", "лампы", "лампе", "лампу", "лампой", "лампе")),
    "coin": ("f", "coin", ("монета", "монеты", "монете", "монету", "монетой", "монете")),
    "map": ("f", "map", ("карта", "карты", "карте", "карту", "картой", "карте")),
    "umbrella": ("m", "umbrella", ("зонт", "зонта", "зонту", "зонт", "зонтом", "зонте")),
    "hat": ("f", "hat", ("шляпа", "шляпы", "шляпе", "шляпу", "шляпой", "шляпе")),
    "ball": ("m", "ball", ("мяч", "мяча", "мячу", "мяч", "мячом", "мяче")),
    "bottle": ("f", "bottle", ("бутылка", "бутылки", "бутылке", "бутылку", "бутылкой",
                               "бутылке")),
    "ring": ("n", "ring", ("кольцо", "кольца", "кольцу", "кольцо", "кольцом", "кольце")),
    "knife": ("m", "knife", ("нож", "ножа", "ножу", "нож", "ножом", "ноже")),
    "candle": ("f", "candle", ("свеча", "свечи", "свече", "свечу", "свечой", "свече")),
    "scarf": ("m", "scarf", ("шарф", "шарфа", "шарфу", "шарф", "шарфом", "шарфе")),
}

# id: (gender, English noun, six cases, Russian "in", "to", "from" phrases)
_CONTAINERS = {
    "box": ("f", "box", ("коробка", "коробки", "коробке", "коробку", "коробкой", "коробке"),
            "в коробке", "в коробку", "из коробки"),
    "chest": ("m", "chest", ("сундук", "сундука", "сундуку", "сундук", "сундуком", "сундуке"),
              "в сундуке", "в сундук", "из сундука"),
    "basket": ("f", "basket", ("корзина", "корзины", "корзине", "корзину", "корзиной",
                               "корзине"),
               "в корзине", "в корзину", "из корзины"),
    "cupboard": ("m", "cupboard", ("шкаф", "шкафа", "шкафу", "шкаф", "шкафом", "шкафе"),
                 "в шкафу", "в шкаф", "из шкафа"),
    "jar": ("f", "jar", ("банка", "банки", "банке", "банку", "банкой", "банке"),
            "в банке", "в банку", "из банки"),
    "safe": ("m", "safe", ("сейф", "сейфа", "сейфу", "сейф", "сейфом", "сейфе"),
             "в сейфе", "в сейф", "из сейфа"),
}

# --------------------------------------------------------------------------- moods, weather

# id: (English adjective, Russian verb m, verb f, noun (acc), adjective ins m, ins f)
_MOODS = {
    "happy": ("happy", "обрадовался", "обрадовалась", "радость", "весёлым", "весёлой"),
    "sad": ("sad", "загрустил", "загрустила", "грусть", "грустным", "грустной"),
    "scared": ("scared", "испугался", "испугалась", "страх", "испуганным", "испуганной"),
    "angry": ("angry", "рассердился", "рассердилась", "гнев", "сердитым", "сердитой"),
    "calm": ("calm", "успокоился", "успокоилась", "спокойствие", "спокойным", "спокойной"),
    "tired": ("tired", "устал", "устала", "усталость", "усталым", "усталой"),
}

# id: (three English sentences, three Russian sentences)
_WEATHERS = {
    "rain": (("It is raining.", "Rain is falling.", "The rain is pouring down."),
             ("Идёт дождь.", "На улице дождь.", "Льёт дождь.")),
    "clear": (("The sky is clear.", "It is a clear day.", "The weather is fine."),
              ("Небо ясное.", "Стоит ясная погода.", "На улице ясно.")),
}


# --------------------------------------------------------------------------- tables


def _build() -> dict[str, dict[str, Entity]]:
    agents = {i: Entity(i, "agent", g, {"en": {"nom": en, "poss": en + "'s"},
                                        "ru": _ru_cases(ru)})
              for i, (g, en, ru) in _AGENTS.items()}
    places = {i: Entity(i, "place", "n",
                        {"en": {"nom": f"the {en}", "in": f"{prep} the {en}", "to": f"to the {en}"},
                         "ru": {**_ru_cases(ru), "in": r_in, "to": r_to, "from": r_from}},
                        outdoor=out)
              for i, (out, en, prep, ru, r_in, r_to, r_from) in _PLACES.items()}
    objects = {i: Entity(i, "object", g, {"en": {"nom": f"the {en}"}, "ru": _ru_cases(ru)})
               for i, (g, en, ru) in _OBJECTS.items()}
    containers = {i: Entity(i, "container", g,
                            {"en": {"nom": f"the {en}"},
                             "ru": {**_ru_cases(ru), "in": r_in, "to": r_to, "from": r_from}})
                  for i, (g, en, ru, r_in, r_to, r_from) in _CONTAINERS.items()}
    moods = {i: Entity(i, "mood", "n", {"en": {"adj": en},
                                        "ru": {"verb_m": vm, "verb_f": vf, "noun": noun,
                                               "adj_m": am, "adj_f": af}})
             for i, (en, vm, vf, noun, am, af) in _MOODS.items()}
    weathers = {i: Entity(i, "weather", "n", {"en": {f"s{k}": s for k, s in enumerate(en)},
                                              "ru": {f"s{k}": s for k, s in enumerate(ru)}})
                for i, (en, ru) in _WEATHERS.items()}
    return {"agent": agents, "place": places, "object": objects, "container": containers,
            "mood": moods, "weather": weathers}


KINDS: dict[str, dict[str, Entity]] = _build()
"""Kind name to id to :class:`Entity`."""

AGENTS: tuple[str, ...] = tuple(KINDS["agent"])
"""Agent ids, six female then six male."""
PLACES: tuple[str, ...] = tuple(KINDS["place"])
"""Place ids."""
OBJECTS: tuple[str, ...] = tuple(KINDS["object"])
"""Portable object ids."""
CONTAINERS: tuple[str, ...] = tuple(KINDS["container"])
"""Container ids (fixed at a place, open or closed)."""
MOODS: tuple[str, ...] = tuple(KINDS["mood"])
"""Mood ids."""
WEATHERS: tuple[str, ...] = tuple(KINDS["weather"])
"""Weather ids: ``rain`` and ``clear``."""
OUTDOOR: tuple[str, ...] = tuple(p for p in PLACES if KINDS["place"][p].outdoor)
"""Places where rain falls."""
INDOOR: tuple[str, ...] = tuple(p for p in PLACES if not KINDS["place"][p].outdoor)
"""Places under a roof."""

ENTITIES: dict[str, Entity] = {e.id: e for table in KINDS.values() for e in table.values()}
"""Every entity by id (ids are unique across kinds)."""

if len(ENTITIES) != sum(len(t) for t in KINDS.values()):
    raise RuntimeError("entity ids must be unique across kinds")
