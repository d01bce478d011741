"""The byte-level baseline: a causal mini-LLaMA over the same PVQ text as the LTM.

DESIGN.md section 3 "Baseline", issue 4 section 1. The same blocks as the thought
decoder (:class:`ltm.llama.Stack`: RMSNorm, rotary positions, SwiGLU), the same
vocabulary as the codec (bytes 0..255, PAD, BOS, EOS, one tag per language) and the
same episodes as :mod:`ltm.data` (one language per episode, a random phrasing per
thought). An episode of units ``u_1 .. u_T`` becomes one byte sequence:

    input    [lang] u_1 SEP u_2 SEP ... u_T
    target          u_1 SEP u_2 SEP ... u_T SEP          (next-token cross-entropy)

**The separator is the EOS token (id 258), not a byte.** Units may hold any byte ("\\n"
included: real prose has it), so a byte separator would be ambiguous; and with EOS the
baseline's cross-entropy of a next unit counts exactly the symbols the LTM decoder's
does (the unit's bytes and one end symbol), so bits per byte compare like for like.

The hybrid (:mod:`ltm.hybrid`) is this model with one extra input position after each
unit's SEP holding that unit's thought; :func:`make_batch` lays out both.

**Uniform value.** A model whose output weights are zero gives every one of the
``V = 259 + len(langs)`` tokens probability ``1/V``, so ``score_next_unit`` of a unit of
``n`` bytes is exactly ``(n + 1) ln V`` nats (``ln 261`` per symbol for en, ru).

Shape legend: B episodes · S positions · D width · V vocab · N units · L unit bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ltm.baseline_config import BaselineConfig, baseline_preset
from ltm.codec import add_ngrams, ngram_tables, pack, to_bytes
from ltm.config import BOS, EOS, N_BYTES, PAD
from ltm.langs import episode_langs
from ltm.llama import Stack, init_weights
from ltm.segment import units as segment_units

__all__ = ["BaselineConfig", "baseline_preset", "SEP", "THOUGHT", "make_batch", "next_token", "ByteLM", "WEIGHTS", "CONFIG",
           "PREFILL_BUDGET"]

SEP = EOS
"""The separator after every unit: the codec's end-of-unit token."""
THOUGHT = -1
"""Placeholder id of an input position that holds a thought (hybrid only)."""
WEIGHTS, CONFIG = "model.safetensors", "config.json"
"""File names inside a directory written by :meth:`ByteLM.save`."""
PREFILL_BUDGET = 1 << 24
"""Most rows times prompt positions squared that :meth:`ByteLM.generate_batch` prefills
at once (its attention mask is that many booleans per layer): a world episode's every
prefix fits in one chunk, a chapter of prose is split."""


def make_batch(episodes: Sequence[Sequence[bytes]], starts: Sequence[int],
               context: int | None = None, thoughts: bool = False) -> dict[str, Tensor]:
    """Lay out episodes (lists of unit bytes) as one right-padded batch.

    ``starts`` (B,) are the start ids (language tag or BOS). With ``thoughts`` a
    :data:`THOUGHT` position follows the SEP of every unit but the last (it will hold
    that unit's thought, so unit ``t`` sees the thoughts of units ``< t`` only).
    ``context`` cuts each sequence to that many input positions. Returns ``tokens``
    (B, S) inputs, ``targets`` (B, S) (PAD: none), ``owner`` (B, S) the flat unit index
    of each target (-1: none), ``slot`` (B, S) the flat unit whose thought sits at each
    input position (-1: none), and with ``thoughts`` also ``unit_ids`` (N, L) and
    ``unit_lengths`` (N,) of all units, flat in episode order."""
    seqs, flat = [], []
    for units, start in zip(episodes, starts, strict=True):
        tok, own, slot = [start], [-1], [-1]
        for t, u in enumerate(units):
            if thoughts and t > 0:
                tok.append(THOUGHT)
                own.append(-1)
                slot.append(len(flat) - 1)
            flat.append(u)
            tok += [*u, SEP]
            own += [len(flat) - 1] * (len(u) + 1)
            slot += [-1] * (len(u) + 1)
        if context is not None:
            tok, own, slot = tok[: context + 1], own[: context + 1], slot[: context + 1]
        seqs.append((tok[:-1], [PAD if x == THOUGHT else x for x in tok[1:]], own[1:], slot[:-1]))
    S = max(len(s[0]) for s in seqs)
    out = {k: torch.full((len(seqs), S), fill, dtype=torch.long)
           for k, fill in (("tokens", PAD), ("targets", PAD), ("owner", -1), ("slot", -1))}
    for b, seq in enumerate(seqs):
        for key, row in zip(("tokens", "targets", "owner", "slot"), seq, strict=True):
            out[key][b, : len(row)] = torch.tensor(row, dtype=torch.long)
    if thoughts:
        out["unit_ids"], out["unit_lengths"] = pack(flat, max(map(len, flat), default=0) or 1)
    return out


def next_token(logits: Tensor, writable: Tensor, method: str, top_p: float,
               temperature: float, generator: torch.Generator | None) -> Tensor:
    """Pick the next token from ``logits`` (B, V) among ``writable`` (V,) ids: ``greedy``
    (argmax) or ``nucleus`` (top-p) sampling, as :class:`ltm.codec.ThoughtDecoder`."""
    logits = logits.masked_fill(~writable, float("-inf"))  # (B, V)
    if method == "greedy":
        return logits.argmax(-1)
    probs = torch.softmax(logits / temperature, dim=-1)  # (B, V)
    sorted_p, order = probs.sort(dim=-1, descending=True)
    sorted_p = sorted_p * (sorted_p.cumsum(-1) - sorted_p < top_p)  # smallest head >= top_p
    return order.gather(-1, torch.multinomial(sorted_p, 1, generator=generator))[:, 0]


class ByteLM(nn.Module):
    """Causal byte mini-LLaMA over episodes of units joined by SEP (the baseline)."""

    kind = "baseline"
    """Model kind written into ``config.json``."""
    uses_thoughts = False
    """Whether the layout holds thought positions (the hybrid's)."""

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab, c.width)
        self.ngrams = ngram_tables(c.ngram_max, c.ngram_buckets, c.width)
        self.stack = Stack(c.width, c.heads, c.layers, c.mlp_hidden, c.rope_base)
        self.out = nn.Linear(c.width, c.vocab, bias=False)
        writable = torch.zeros(c.vocab, dtype=torch.bool)
        writable[:N_BYTES] = True
        writable[SEP] = True
        self.register_buffer("writable", writable, persistent=False)  # (V,)
        init_weights(self, c.layers)

    @property
    def device(self) -> torch.device:
        """Where the weights are."""
        return self.embed.weight.device

    # ------------------------------------------------------------------ teacher forcing

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """Input vectors (B, S, D) of token ids (B, S): the token's embedding plus, with
        ``ngram_max``, the hashed n-grams ending there (negative ids, the hybrid's THOUGHT
        placeholder, count as PAD)."""
        x = tokens.masked_fill(tokens < 0, PAD)
        return add_ngrams(self.embed(x), x, self.ngrams, self.config.ngram_buckets)

    def embed_next(self, history: Sequence[int]) -> Tensor:
        """Input vector (1, 1, D) of the last token of ``history`` (every token so far,
        the start tag first), as :meth:`embed_tokens` gives it inside the whole sequence:
        its n-grams need only the last ``ngram_max`` tokens."""
        window = list(history[-max(self.config.ngram_max, 1):])
        return self.embed_tokens(torch.tensor([window], device=self.device))[:, -1:]

    def _embed_last(self, history: Sequence[Sequence[int]], rows: Sequence[int]) -> list[Tensor]:
        """:meth:`embed_next` of ``history[b]`` for every ``b`` in ``rows``, one (D,) each,
        computed together for the histories whose n-gram windows have one length."""
        n = max(self.config.ngram_max, 1)
        out: dict[int, Tensor] = {}
        by_len: dict[int, list[int]] = {}
        for b in rows:
            by_len.setdefault(min(len(history[b]), n), []).append(b)
        for k, group in by_len.items():
            windows = torch.tensor([list(history[b][-k:]) for b in group], device=self.device)
            out.update(zip(group, self.embed_tokens(windows)[:, -1], strict=True))  # (D,) each
        return [out[b] for b in rows]

    def inputs(self, batch: dict[str, Tensor]) -> Tensor:
        """Input vectors (B, S, D) of a :func:`make_batch` batch."""
        return self.embed_tokens(batch["tokens"])

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        """Logits (B, S, V) for every input position of a :func:`make_batch` batch."""
        return self.out(self.stack(self.inputs(batch), causal=True))

    def loss(self, batch: dict[str, Tensor]) -> Tensor:
        """Mean next-token cross-entropy (nats per symbol, SEP included)."""
        logits = self(batch)  # (B, S, V)
        return F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten(), ignore_index=PAD)

    def unit_nats(self, batch: dict[str, Tensor]) -> Tensor:
        """Summed cross-entropy (N,) of each unit's bytes and its SEP, given the past."""
        logits = self(batch)  # (B, S, V)
        ce = F.cross_entropy(logits.transpose(1, 2), batch["targets"], ignore_index=PAD,
                             reduction="none")  # (B, S)
        owner = batch["owner"].flatten()
        n = int(owner.max()) + 1
        real = owner >= 0
        return ce.new_zeros(n).index_add_(0, owner[real], ce.flatten()[real])  # (N,)

    def batch(self, episodes: Sequence[Sequence[str | bytes]],
              langs: Sequence[str | None], context: int | None = None) -> dict[str, Tensor]:
        """:func:`make_batch` of text episodes (units cut to ``max_bytes``), on the device."""
        c = self.config
        units = [[to_bytes(u, c.max_bytes) for u in ep] for ep in episodes]
        b = make_batch(units, [c.lang_id(x) for x in langs], context, self.uses_thoughts)
        return {k: v.to(self.device) for k, v in b.items()}

    # ------------------------------------------------------------------ the harness calls

    @torch.no_grad()
    def score_units(self, units: Sequence[str | bytes], lang: str | None = None) -> list[float]:
        """Nats of every unit (bytes and SEP) given the true units before it."""
        if not units:
            return []
        return self.unit_nats(self.batch([units], [lang])).tolist()

    def score_next_unit(self, past_units: Sequence[str | bytes], next_unit: str | bytes,
                        lang: str | None = None) -> float:
        """Cross-entropy in nats of ``next_unit``'s bytes and its SEP given the true past
        (``lang``: the episode's language tag, ``None`` for BOS)."""
        return self.score_units([*past_units, next_unit], lang)[-1]

    @torch.no_grad()
    def embed_units(self, units: Sequence[str | bytes]) -> Tensor:
        """Each unit alone, ``[BOS] b_1 .. b_n``: the mean of the last hidden states over
        its byte positions (BOS alone for an empty unit) -> (N, D)."""
        ids, lengths = pack(units, self.config.max_bytes, self.device)  # (N, L), (N,)
        x = torch.cat([ids.new_full((len(ids), 1), BOS), ids], dim=1)  # (N, L+1)
        h = self.stack(self.embed_tokens(x), causal=True)  # (N, L+1, D)
        pos = torch.arange(x.shape[1], device=self.device)[None]  # (1, L+1)
        keep = ((pos >= 1) & (pos <= lengths[:, None])) | ((pos == 0) & (lengths[:, None] == 0))
        return (h * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)  # (N, D)

    def after_unit(self, unit: bytes, history: list[int]) -> Tensor:
        """Inputs (1, k, D) fed after a generated unit: its SEP (the hybrid adds its
        thought); their token ids are appended to ``history``."""
        history.append(SEP)
        return self.embed_next(history)

    @torch.no_grad()
    def generate_units(self, units: Sequence[str | bytes], n_units: int, *,
                       lang: str | None = None, **sampling) -> list[bytes]:
        """``n_units`` more units after ``units`` (at least one), byte by byte with a
        key/value cache, each ending at SEP or after ``max_bytes`` (default: the
        config's); ``sampling`` is as :meth:`generate_batch`'s, which this calls with one
        episode."""
        if not units:
            raise ValueError("generation needs at least one unit of text")
        return self.generate_batch([units], n_units, langs=[lang], **sampling)[0]

    @torch.no_grad()
    def generate_batch(self, episodes: Sequence[Sequence[str | bytes]], n_units: int, *,
                       langs: Sequence[str | None] | None = None, method: str = "greedy",
                       top_p: float = 0.9, temperature: float = 1.0,
                       max_bytes: int | None = None,
                       generator: torch.Generator | None = None) -> list[list[bytes]]:
        """``n_units`` more units after each of several episodes (each at least one unit;
        ``langs`` one tag per episode, default none), each unit ending at SEP or after
        ``max_bytes`` (default: the config's), decoded together by :meth:`_decode_rows`
        in chunks of at most :data:`PREFILL_BUDGET` rows times prompt length squared.
        Greedy rows equal :meth:`generate_units` of that episode alone, up to float
        rounding; sampled rows draw from one generator in row order, so they depend on
        the other rows of the call."""
        if method not in ("greedy", "nucleus"):
            raise ValueError(f"method must be 'greedy' or 'nucleus', got {method!r}")
        langs = episode_langs(episodes, langs, n_units)
        limit = self.config.max_bytes if max_bytes is None else max_bytes
        if limit < 1:
            raise ValueError(f"max_bytes must be at least 1, got {limit}")
        prompts = [self.batch([[*ep, b""]], [lang]) for ep, lang in zip(episodes, langs, strict=True)]
        said: list[list[bytes]] = []
        chunk: list[dict[str, Tensor]] = []
        for p in [*prompts, None]:  # None: flush the last chunk
            if chunk and (p is None or (len(chunk) + 1) * max(
                    x["tokens"].shape[1] for x in [*chunk, p]) ** 2 > PREFILL_BUDGET):
                said += self._decode_rows(chunk, n_units, limit, method, top_p, temperature,
                                          generator)
                chunk = []
            if p is not None:
                chunk.append(p)
        return said

    def _decode_rows(self, prompts: list[dict[str, Tensor]], n_units: int, limit: int,
                     method: str, top_p: float, temperature: float,
                     generator: torch.Generator | None) -> list[list[bytes]]:
        """:meth:`generate_batch` of one chunk: one row per prompt (a one-episode
        :meth:`batch`), left-padded to the longest with the padding masked, so each row
        reads only its own past (rotary positions are relative, so the shift cancels).
        Every step feeds each row one input through the cache: a new byte, or the SEP
        and, for the hybrid, the thought after a unit."""
        B = len(prompts)
        history = [p["tokens"][0].tolist() for p in prompts]  # every input token, for n-grams
        xs = [self.inputs(p)[0] for p in prompts]  # (S_b, D) each
        S = max(len(x) for x in xs)
        x = xs[0].new_zeros(B, S, xs[0].shape[-1])  # (B, S, D), prompts right-aligned
        keys = torch.zeros(B, S, dtype=torch.bool, device=self.device)  # real positions
        for b, xb in enumerate(xs):
            x[b, S - len(xb):], keys[b, S - len(xb):] = xb, True
        # a padding query sees itself (no empty softmax); real queries never see padding
        own = torch.eye(S, dtype=torch.bool, device=self.device)  # (S, S)
        mask = None if bool(keys.all()) else keys[:, None, None, :] | own  # (B, 1, S, S)
        caches = self.stack.new_caches()
        h = self.stack(x, causal=True, mask=mask, caches=caches)  # (B, S, D)
        said: list[list[bytes]] = [[] for _ in range(B)]
        unit: list[list[int]] = [[] for _ in range(B)]
        pending: list[list[Tensor]] = [[] for _ in range(B)]  # inputs still to feed, (D,)
        live = [n_units > 0] * B
        while any(live):
            ask = [b for b in range(B) if live[b] and not pending[b]]  # rows due a token
            if ask:
                toks = next_token(self.out(h[ask, -1]), self.writable, method, top_p,
                                  temperature, generator).tolist()  # (len(ask),)
                wrote = [b for b, tok in zip(ask, toks, strict=True) if tok != SEP]
                for b, tok in zip(ask, toks, strict=True):
                    if tok != SEP:
                        unit[b].append(tok)
                        history[b].append(tok)
                for b, v in zip(wrote, self._embed_last(history, wrote), strict=True):
                    pending[b].append(v)
                for b, tok in zip(ask, toks, strict=True):
                    if tok == SEP or len(unit[b]) == limit:  # the unit is over
                        said[b].append(bytes(unit[b]))
                        unit[b] = []
                        if len(said[b]) == n_units:
                            live[b] = False
                        else:
                            pending[b] += list(self.after_unit(said[b][-1], history[b])[0])
            if not any(live):
                break
            step = torch.stack([pending[b].pop(0) if pending[b] else x.new_zeros(x.shape[-1])
                                for b in range(B)])[:, None]  # (B, 1, D); done rows idle
            keys = torch.cat([keys, keys.new_ones(B, 1)], dim=1)  # (B, T)
            h = self.stack(step, causal=True, mask=keys[:, None, None, :], caches=caches)
        return said

    def continue_text(self, text: str | Sequence[str], n_units: int, *, lang: str | None = None,
                      scale: str = "sentence", **sampling) -> str:
        """Write ``n_units`` more units after ``text`` (a string cut at ``scale`` by
        :func:`ltm.segment.units`, or a list of units); ``sampling`` goes to
        :meth:`generate_units`. Returns the new units joined (invalid UTF-8 as U+FFFD)."""
        if isinstance(text, str):
            rules = lang if lang in ("en", "ru") else "en"
            text = segment_units(text, scale, rules, self.config.max_bytes)
        said = self.generate_units(text, n_units, lang=lang, **sampling)
        return "".join(u.decode("utf-8", "replace") for u in said)

    # ------------------------------------------------------------------ files

    def config_dict(self) -> dict:
        """What ``config.json`` holds: the kind and the whole configuration."""
        return {"kind": self.kind, **self.config.to_dict()}

    def save(self, directory: str | Path) -> None:
        """Write ``model.safetensors`` and ``config.json`` into ``directory`` (no pickle)."""
        from ltm import weights

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        weights.save(self.state_dict(), d / WEIGHTS)
        (d / CONFIG).write_text(json.dumps(self.config_dict(), indent=2) + "\n")

    @classmethod
    def from_config_dict(cls, d: dict) -> ByteLM:
        """A fresh model from :meth:`config_dict`'s output; a wrong kind raises ``ValueError``."""
        if d.get("kind") != cls.kind:
            raise ValueError(f"config holds a model of kind {d.get('kind', 'ltm')!r}, "
                             f"not {cls.kind!r}")
        return cls(BaselineConfig.from_dict({k: v for k, v in d.items() if k != "kind"}))

    @classmethod
    def load(cls, directory: str | Path, device: torch.device | str = "cpu") -> ByteLM:
        """Inverse of :meth:`save`; damaged weights raise :class:`ltm.weights.WeightsError`."""
        from ltm import weights

        d = Path(directory)
        model = cls.from_config_dict(json.loads((d / CONFIG).read_text()))
        model.load_state_dict(weights.load(d / WEIGHTS, device))
        return model.to(device)
