"""ISO 639-1 language codes, the only language tags PVQ accepts."""

ISO_639_1: frozenset[str] = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu
    cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv
    kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr
    nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh
    yi yo za zh zu""".split()
)
"""The 183 two-letter codes of ISO 639-1, plus the withdrawn ``bh`` for older data."""


def episode_langs(episodes, langs, n_units: int) -> list:
    """The checked arguments of a ``generate_batch`` call: one language tag (or ``None``)
    per episode, from ``langs`` (``None``: no tag for any). Raises a one-line error for a
    bare string where a list is meant, an episode without units, a count of languages
    that is not the count of episodes, or a negative ``n_units``."""
    if isinstance(episodes, str | bytes) or any(isinstance(ep, str | bytes) for ep in episodes):
        raise TypeError("episodes must be a list of episodes, each a list of units")
    if isinstance(langs, str):
        raise TypeError(f"langs must be one tag per episode, got the string {langs!r}")
    if n_units < 0:
        raise ValueError(f"n_units must be at least 0, got {n_units}")
    if any(len(ep) == 0 for ep in episodes):
        raise ValueError("generation needs at least one unit of text in every episode")
    langs = [None] * len(episodes) if langs is None else list(langs)
    if len(langs) != len(episodes):
        raise ValueError(f"got {len(langs)} language tags for {len(episodes)} episodes")
    return langs
