"""Tests of ltm.segment: lossless thought units at three scales, English and Russian."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm.segment import LANGS, SCALES, cut, tree, units

# Fragments that make the splitting rules fire when mixed into arbitrary text.
PUNCTUATION = [
    ". ", "! ", "? ", "...", "… ", ".\n", "\n", "\n\n", " \n \n", "\r\n\r\n", "  ", "\t",
    "Mr. ", "e.g. ", "J. ", "т. е. ", "г. ", "А. ", ", and ", ", и ", ", который ", "; ", ": ",
    " — ", "\n— ", " – ", "«", "»", '"', "“", "”", "’", "(", ")", "[", "]", "A", "Я", "a",
    "я", "3.14", "1,000", "No. 5", "?!", "é", "😀", "\u00a0", "\u2028",
]  # fmt: skip
texts = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(PUNCTUATION)), max_size=40).map(
    "".join
)


def check_units(text: str, got: list[str], blank_ok: bool = False) -> None:
    assert "".join(got) == text
    assert all(got)
    # Without a byte limit only a text that is all whitespace gives a blank unit.
    assert blank_ok or all(not u.isspace() for u in got) or len(got) == 1


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from(SCALES), st.sampled_from(LANGS))
def test_lossless_and_no_empty_units(text, scale, lang):
    check_units(text, units(text, scale, lang))


@settings(max_examples=100, deadline=None)
@given(st.text(), st.sampled_from(SCALES), st.sampled_from(LANGS))
def test_lossless_on_plain_unicode(text, scale, lang):
    check_units(text, units(text, scale, lang))


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from(SCALES), st.sampled_from(LANGS), st.integers(4, 40))
def test_max_bytes_respected(text, scale, lang, max_bytes):
    got = units(text, scale, lang, max_bytes)
    check_units(text, got, blank_ok=True)  # a long run of spaces is cut into blank pieces
    assert all(len(u.encode("utf-8")) <= max_bytes for u in got)
    # Cutting only refines: every unit of the uncut scale is a concatenation of pieces.
    ends = {len("".join(got[: i + 1])) for i in range(len(got))}
    assert {len("".join(units(text, scale, lang)[: i + 1])) for i in range(len(got))} <= ends


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from(LANGS))
def test_scales_nest(text, lang):
    """Paragraph cuts are sentence cuts, and sentence cuts are clause cuts."""

    def ends(us):
        return {sum(map(len, us[: i + 1])) for i in range(len(us))}

    p, s, c = (ends(units(text, scale, lang)) for scale in SCALES)
    assert p <= s <= c


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from(LANGS), st.one_of(st.none(), st.integers(4, 40)))
def test_tree_flattens_to_units(text, lang, max_bytes):
    t = tree(text, lang, max_bytes)
    assert ["".join(c for s in p for c in s) for p in t] == units(text, "paragraph", lang)
    assert ["".join(s) for p in t for s in p] == units(text, "sentence", lang)
    assert [c for p in t for s in p for c in s] == units(text, "clause", lang, max_bytes)
    assert all(p and all(s for s in p) for p in t)


def naive_cut(unit: str, max_bytes: int) -> list[str]:
    """The rule of ``cut`` written as a plain loop over every position."""
    pieces, i = [], 0
    while i < len(unit):
        fits = [k for k in range(i + 1, len(unit) + 1) if len(unit[i:k].encode()) <= max_bytes]
        j = fits[-1]
        if j < len(unit):
            starts = [k for k in fits if unit[k - 1].isspace() and not unit[k].isspace()]
            spaces = [k for k in fits if unit[k - 1].isspace()]
            j = (starts or spaces or [j])[-1]
        pieces.append(unit[i:j])
        i = j
    return pieces


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab c\n\té€😀я"), max_size=60) | st.text(), st.integers(4, 24))
def test_cut_matches_naive_rule(unit, max_bytes):
    pieces = cut(unit, max_bytes)
    assert pieces == naive_cut(unit, max_bytes)
    assert "".join(pieces) == unit and all(pieces)
    data = [p.encode("utf-8") for p in pieces]
    assert all(
        len(d) <= max_bytes and d.decode("utf-8") == p for d, p in zip(data, pieces, strict=True)
    )
    assert b"".join(data) == unit.encode("utf-8")


def test_cut_literal():
    assert cut("one two three", 8) == ["one two ", "three"]
    assert cut("one two three", 100) == ["one two three"]
    assert cut("", 4) == []
    assert cut("abcdefghij", 4) == ["abcd", "efgh", "ij"]  # one long word: cut inside it
    assert cut("ab abcdefgh", 4) == ["ab ", "abcd", "efgh"]
    assert cut("aaa   bbb", 5) == ["aaa  ", " bbb"]  # no word start fits: after a space
    assert cut("абвгд ежз", 5) == ["аб", "вг", "д ", "еж", "з"]  # 2-byte letters, never halved
    assert cut("😀😀😀", 5) == ["😀", "😀", "😀"]
    assert cut("x 😀😀", 6) == ["x ", "😀", "😀"]


def test_units_cut_by_max_bytes():
    text = "Short one. This sentence is rather longer than the limit allows."
    assert units(text, max_bytes=20) == [
        "Short one. ", "This sentence is ", "rather longer than ", "the limit allows.",
    ]  # fmt: skip


EN = [
    (
        "sentence",
        "Mr. Smith met Dr. Who at St. Paul's. They talked, e.g. about Fig. 3 and No. 5. "
        "It cost 3.14 dollars, or 1,000 cents! Really? Yes...",
        [
            "Mr. Smith met Dr. Who at St. Paul's. ",
            "They talked, e.g. about Fig. 3 and No. 5. ",
            "It cost 3.14 dollars, or 1,000 cents! ",
            "Really? ",
            "Yes...",
        ],
    ),
    (
        "sentence",
        'J. Austen wrote it. "Go away!" she said. He left. (Then he came back.) '
        "Wait... what? Wait... What? It was 5. 6 more came.",
        [
            "J. Austen wrote it. ",
            '"Go away!" she said. ',
            "He left. ",
            "(Then he came back.) ",
            "Wait... what? ",
            "Wait... ",
            "What? ",
            "It was 5. ",
            "6 more came.",
        ],
    ),
    (
        "sentence",
        "He said “Stop.” Then he went. See e.g. Mrs. Jones vs. Mr. Brown etc. The end.",
        ["He said “Stop.” ", "Then he went. ", "See e.g. Mrs. Jones vs. Mr. Brown etc. The end."],
    ),
    (
        "sentence",
        "lowercase after. a period does not split. Wow!! Right?! [Bracket] opens.",
        [
            "lowercase after. a period does not split. ",
            "Wow!! ",
            "Right?! ",
            "[Bracket] opens.",
        ],
    ),
    (
        "sentence",
        "  \n\nFirst para. Still first.\nSame para.\n\nSecond para.\n  \n\nThird.  ",
        [
            "  \n\nFirst para. ",
            "Still first.\n",
            "Same para.\n\n",
            "Second para.\n  \n\n",
            "Third.  ",
        ],
    ),
    (
        "paragraph",
        "One. Two.\nThree.\n\nFour\n \t\n\n  Five.\r\n\r\nSix",
        ["One. Two.\nThree.\n\n", "Four\n \t\n\n  ", "Five.\r\n\r\n", "Six"],
    ),
    (
        "paragraph",
        "no break at all\nonly single newlines",
        ["no break at all\nonly single newlines"],
    ),
    ("paragraph", "\n\n\n", ["\n\n\n"]),
    (
        "clause",
        "I came; I saw: I conquered, and then I left, which was wise — or not. Apples, pears, plums.",
        [
            "I came; ",
            "I saw: ",
            "I conquered, ",
            "and then I left, ",
            "which was wise ",
            "— or not. ",
            "Apples, pears, plums.",
        ],
    ),
    (
        "clause",
        "At 10:30 the price was 1,000; But, And, orange: fine",
        ["At 10:30 the price was 1,000; ", "But, ", "And, orange: ", "fine"],
    ),
    ("clause", "End;\n\nNew para — with a dash", ["End;\n\n", "New para ", "— with a dash"]),
]

RU = [
    (
        "sentence",
        "А. С. Пушкин родился в 1799 г. в Москве. Он писал стихи, т. е. был поэтом. "
        "Цена 5 руб. 20 коп. Итого 3 млн. Всё. И др. Прочее. Конец",
        [
            "А. С. Пушкин родился в 1799 г. в Москве. ",
            "Он писал стихи, т. е. был поэтом. ",
            "Цена 5 руб. 20 коп. Итого 3 млн. Всё. ",
            "И др. Прочее. ",
            "Конец",
        ],
    ),
    (
        "sentence",
        "— Привет! — сказал он.\n— Пока.\n— Ну что ж… Иди. Ну что ж… иди.",
        ["— Привет! — сказал он.\n", "— Пока.\n", "— Ну что ж… ", "Иди. ", "Ну что ж… иди."],
    ),
    (
        "sentence",
        "Он сказал: «Я приду». Потом ушёл. «Куда?» — спросила она. См. стр. 5 и ул. Ленина.",
        [
            "Он сказал: «Я приду». ",
            "Потом ушёл. ",
            "«Куда?» — спросила она. ",
            "См. стр. 5 и ул. Ленина.",
        ],
    ),
    (
        "sentence",
        "Было 3,5 тыс. Человек? Нет.\n\nВторой абзац.",
        ["Было 3,5 тыс. Человек? ", "Нет.\n\n", "Второй абзац."],
    ),
    (
        "clause",
        "Он пришёл, но никого не было; дом, который стоял там, пустовал — и всё.",
        ["Он пришёл, ", "но никого не было; ", "дом, ", "который стоял там, пустовал ", "— и всё."],
    ),
    (
        "clause",
        "— Привет, — сказал он. Яблоки, груши и сливы.",
        ["— Привет, ", "— сказал он. ", "Яблоки, груши и сливы."],
    ),  # fmt: skip
]


@pytest.mark.parametrize(("scale", "text", "expected"), EN)
def test_english_literal(scale, text, expected):
    assert units(text, scale, "en") == expected


@pytest.mark.parametrize(("scale", "text", "expected"), RU)
def test_russian_literal(scale, text, expected):
    assert units(text, scale, "ru") == expected


def test_abbreviations_are_per_language():
    assert units("Mr. Smith came.", lang="ru") == ["Mr. ", "Smith came."]  # English list only
    assert units("Dr. Who.", lang="ru") == ["Dr. ", "Who."]
    assert units("Он пришёл в 5 ч. Потом ушёл.", lang="ru") == ["Он пришёл в 5 ч. ", "Потом ушёл."]
    assert units("Это было в 1999 г. Потом ушёл.", lang="en") == [
        "Это было в 1999 г. ",
        "Потом ушёл.",
    ]
    assert units("Это было в 1999 г. Потом ушёл.", lang="ru") == ["Это было в 1999 г. Потом ушёл."]


def test_tree_literal():
    text = "Hi; bye. Yes, and no.\n\nNext — last."
    assert tree(text) == [
        [["Hi; ", "bye. "], ["Yes, ", "and no.\n\n"]],
        [["Next ", "— last."]],
    ]
    assert tree("") == []
    assert units("") == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": "word"},
        {"scale": "Sentence"},
        {"lang": "de"},
        {"lang": "EN"},
        {"max_bytes": 3},
        {"max_bytes": 0},
        {"max_bytes": 4.5},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="scale|language|max_bytes"):
        units("Some text.", **kwargs)


def test_bad_arguments_tree_and_cut():
    with pytest.raises(ValueError, match="language"):
        tree("x", lang="fr")
    with pytest.raises(ValueError, match="max_bytes"):
        tree("x", max_bytes=2)
    with pytest.raises(ValueError, match="max_bytes"):
        cut("x", 3)
    with pytest.raises(ValueError):  # a lone surrogate has no UTF-8 form
        units("a\ud800b" * 10, max_bytes=4)


def test_long_text_is_fast_and_lossless():
    text = ("Mr. Smith came home. He sat, and he ate; then he slept — well.\n\n" * 20000)[:-2]
    got = units(text, "clause", max_bytes=16)
    assert "".join(got) == text
    # "Mr. Smith came home. " is 21 bytes: cut after "came ".
    assert got[:7] == ["Mr. Smith came ", "home. ", "He sat, ", "and he ate; ", "then he slept ",
                       "— well.\n\n", "Mr. Smith came "]  # fmt: skip
    assert len(got) == 20000 * 6
