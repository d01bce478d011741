"""The Large Thought Model: codec, field core and tension head, composed.

DESIGN.md section 3, the whole pipeline:

    text --segment--> units --encode--> thoughts z_1..z_T --FieldCore--> c_1..c_T
         --head.sample(c_T, z_T)--> z_{T+1} --decode--> the next unit, in any language

:class:`LTM` is plain ``torch.nn`` (no Lightning): training lives in ``lit.py`` and
calls the submodules with the pure losses of :mod:`ltm.losses`. This file adds the
conveniences that take and give text: :meth:`LTM.encode`, :meth:`LTM.decode`,
:meth:`LTM.predict_next`, :meth:`LTM.continue_text`, :meth:`LTM.save` /
:meth:`LTM.load` (safetensors weights plus a JSON config, no pickle), and the calls the
harness (:mod:`ltm.eval`) makes of every model: :meth:`LTM.score_units`,
:meth:`LTM.score_next_unit`, :meth:`LTM.embed_units`, :meth:`LTM.generate_units` and
:meth:`LTM.generate_batch`.

Shape legend: B batch · T thoughts · Z thought dim.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ltm.codec import ThoughtDecoder, ThoughtEncoder, decoder_targets, meaning_part, pack, to_bytes
from ltm.config import PAD, LTMConfig
from ltm.critic import Critic
from ltm.field import FieldCore
from ltm.heads import ChoiceHead, build_head
from ltm.langs import episode_langs
from ltm.pick import choose, greedy_scores
from ltm.readings import nearest_readings, search_settings
from ltm.segment import units as segment_units

__all__ = ["LTM", "WEIGHTS", "CONFIG", "prefixes"]

WEIGHTS, CONFIG = "model.safetensors", "config.json"
"""File names inside a directory written by :meth:`LTM.save`."""

_ENCODE_BYTES = 16384  # rows x bytes of one batch of LTM.encode (a few MB of activations)


def prefixes(thoughts: Tensor) -> tuple[Tensor, Tensor]:
    """Each position's past in one episode of thoughts (T, Z): ``past`` (T, T, Z), every
    row the whole episode, and ``past_mask`` (T, T), row ``j`` marking thoughts ``0..j``:
    what :meth:`LTM.next_thought` reads at every position at once."""
    T = thoughts.shape[0]
    mask = torch.ones(T, T, dtype=torch.bool, device=thoughts.device).tril()
    return thoughts[None].expand(T, -1, -1), mask


class LTM(nn.Module):
    """The Large Thought Model: ``encoder``, ``decoder``, ``core`` and ``head``."""

    def __init__(self, config: LTMConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ThoughtEncoder(config.codec)
        self.decoder = ThoughtDecoder(config.codec)
        self.core = FieldCore(config.field, config.codec)
        self.head = build_head(config.field, config.codec)
        self.critic = (Critic(config.field.width, config.codec.dim, config.field.critic_width,
                              config.field.critic_recall, config.field.critic_members,
                              config.field.critic_words)
                       if config.field.critic_width else None)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, texts: Sequence[str | bytes] | str | bytes) -> Tensor:
        """Units (str or raw bytes; empty, overlong or invalid UTF-8 all fine) ->
        thoughts (B, Z) of unit norm. Input longer than ``max_bytes`` is truncated. Equal
        units are encoded once, and any number of units in batches of a bounded size."""
        if isinstance(texts, str | bytes):
            texts = [texts]
        raws = [to_bytes(t, self.config.codec.max_bytes) for t in texts]
        # each distinct unit once, in batches of units of about one length: a batch pads
        # to its longest unit, and a reading cut at max_bytes would otherwise make every
        # row of a large batch that long (same vectors to 1e-5: padding is masked)
        distinct = sorted(dict.fromkeys(raws), key=len)  # each once, shortest first
        if not distinct:
            return self.encoder.queries.new_zeros(0, self.config.codec.dim)
        parts, start = [], 0
        while start < len(distinct):
            stop = start + 1
            while stop < len(distinct) and (stop - start + 1) * max(len(distinct[stop]), 1) \
                    <= _ENCODE_BYTES:
                stop += 1
            ids, lengths = pack(distinct[start:stop], self.config.codec.max_bytes, self.device)
            parts.append(self.encoder(ids, lengths))
            start = stop
        rank = {r: j for j, r in enumerate(distinct)}
        return torch.cat(parts)[torch.tensor([rank[r] for r in raws], device=self.device)]

    def lang_ids(self, lang: str | Sequence[str | None] | None, n: int) -> Tensor:
        """Start token ids (B,) for one language, one per row, or ``None`` (unspecified)."""
        langs = [lang] * n if lang is None or isinstance(lang, str) else list(lang)
        if len(langs) != n:
            raise ValueError(f"got {len(langs)} languages for {n} thoughts")
        codec = self.config.codec
        return torch.tensor([codec.lang_id(x) for x in langs], device=self.device)

    @torch.no_grad()
    def decode_bytes(self, vectors: Tensor, lang: str | Sequence[str | None] | None = None,
                     *, readings: int = 1, search: dict | None = None,
                     **sampling) -> list[bytes]:
        """Thoughts (B, Z) -> raw bytes of one unit each; ``sampling`` goes to
        :meth:`ltm.codec.ThoughtDecoder.generate` (method, top_p, temperature, ...).

        ``readings`` > 1 says each thought up to that many ways and keeps the one the
        encoder puts nearest it (by the dot product of its encoding with the thought; of
        a meaning-only thought, whose surface part is zero, only the meaning part
        counts). The first reading is the one ``sampling`` asks for (greedy by default).
        Then a search branches it at its least sure places
        (:func:`ltm.readings.nearest_readings`). ``search`` replaces some of
        :data:`ltm.readings.READING_SEARCH`'s settings for this call."""
        if readings < 1:
            raise ValueError(f"readings must be at least 1, got {readings}")
        settings = search_settings(search)
        vectors = vectors.reshape(-1, vectors.shape[-1]).to(self.device)
        ids = self.lang_ids(lang, len(vectors))
        said = self.decoder.generate(vectors, ids, **sampling)
        if readings == 1 or not said:
            return said
        return nearest_readings(self, vectors, ids, said, readings, settings,
                                sampling.get("max_bytes"))

    def decode(self, vectors: Tensor, lang: str | Sequence[str | None] | None = None,
               **sampling) -> list[str]:
        """Thoughts (B, Z) -> text of one unit each (invalid UTF-8 shown as U+FFFD)."""
        return [b.decode("utf-8", "replace") for b in self.decode_bytes(vectors, lang,
                                                                        **sampling)]

    def predict_next(self, thoughts: Tensor, mask: Tensor | None = None, *,
                     slots: Tensor | None = None, steps: int | None = None,
                     method: str | None = None,
                     generator: torch.Generator | None = None,
                     lang: str | Sequence[str | None] | None = None) -> Tensor:
        """The thought after the last real one: (B, T, Z) -> (B, Z), or (T, Z) -> (Z,).
        ``mask`` (B, T) marks real thoughts of right-padded episodes. ``lang`` (one, or
        one per row) is the language the thought will be said in; only a ``choice`` head
        that lets the decoder pick (``FieldConfig.choice_pick``) reads it."""
        single = thoughts.dim() == 2
        if single:
            thoughts = thoughts[None]
        B, T, _ = thoughts.shape
        if T == 0:
            raise ValueError("predict_next needs at least one thought")
        context, _ = self.core(thoughts, mask, slots)  # (B, T, D)
        last = (mask.long().sum(1) - 1) if mask is not None else torch.full((B,), T - 1)
        last = last.to(thoughts.device)
        rows = torch.arange(B, device=thoughts.device)
        real = mask if mask is not None else torch.ones(B, T, dtype=torch.bool,
                                                        device=thoughts.device)
        nxt = self.next_thought(context[rows, last], thoughts[rows, last], steps=steps,
                                method=method, generator=generator, lang=lang,
                                past=thoughts, past_mask=real)  # (B, Z)
        return nxt[0] if single else nxt

    def next_thought(self, context: Tensor, current: Tensor, *, steps: int | None = None,
                     method: str | None = None, generator: torch.Generator | None = None,
                     lang: str | Sequence[str | None] | None = None,
                     past: Tensor | None = None, past_mask: Tensor | None = None) -> Tensor:
        """The head's next thought (N, Z) from context states (N, C) at the current
        thoughts (N, Z): what :meth:`predict_next` says after the core. A ``choice`` head
        whose ``choice_pick`` is ``decoder`` lets :meth:`pick` choose among its
        hypotheses, in ``lang``; every other head samples (``steps``, ``method``,
        ``generator``). ``past`` (N, T, Z) and ``past_mask`` (N, T) are each row's
        thoughts so far, the current one last (:func:`prefixes` makes them for the
        positions of one episode); only a critic that reads the past
        (``FieldConfig.critic_recall`` or ``critic_words``) needs them."""
        if self.decoder_picks:
            return self.pick(self.head.hypotheses(context, current), lang,
                             context=context, current=current, past=past,
                             past_mask=past_mask)
        return self.head.sample(context, current, steps, method, generator)

    @property
    def decoder_picks(self) -> bool:
        """Whether the decoder picks the next thought among a ``choice`` head's hypotheses
        (:meth:`pick`): then :meth:`next_thought` draws nothing, and a second draw is the
        first again."""
        return isinstance(self.head, ChoiceHead) and self.config.field.choice_pick == "decoder"

    @torch.no_grad()
    def pick(self, candidates: Tensor, lang: str | Sequence[str | None] | None = None, *,
             context: Tensor | None = None, current: Tensor | None = None,
             past: Tensor | None = None, past_mask: Tensor | None = None) -> Tensor:
        """Of ``K`` candidate thoughts per row (B, K, Z), the one (B, Z) whose greedy unit
        the decoder writes most surely (fewest nats per byte, :meth:`ThoughtDecoder.read`)
        in ``lang`` (one, or one per row): a blend of several thoughts reads unsurely. With
        ``FieldConfig.choice_roundtrip`` > 0 the nats are lowered by that weight times the
        cosine of each candidate and its greedy unit encoded again; with a critic and the
        ``context`` (B, C) and ``current`` thought (B, Z) they came from, by
        ``FieldConfig.critic_weight`` times the critic's log-probability that the unit is
        legal (:meth:`pick_scores`; a critic that reads the past needs ``past`` and
        ``past_mask`` too). With ``FieldConfig.choice_branches`` > 0 the readings
        branched at each candidate's least sure places compete too, and a branched
        winner's encoding is returned in place of its candidate. The machinery is
        :mod:`ltm.pick`."""
        return choose(self, candidates, lang, context, current, past, past_mask)

    @torch.no_grad()
    def pick_scores(self, candidates: Tensor, lang: str | Sequence[str | None] | None = None,
                    *, context: Tensor | None = None, current: Tensor | None = None,
                    past: Tensor | None = None, past_mask: Tensor | None = None) -> Tensor:
        """What :meth:`pick` minimises over the ``K`` candidates (B, K, Z) of each row:
        (B, K), nats per byte of each greedy unit in ``lang`` (one, or one per row), less
        ``FieldConfig.choice_roundtrip`` times the cosine of the candidate and its unit
        encoded again, less ``FieldConfig.critic_weight`` times the critic's
        log-probability that the unit is legal (:mod:`ltm.critic`; only when the model
        has a critic and ``context`` and ``current`` are given). A critic that reads the
        past (``FieldConfig.critic_recall`` or ``critic_words``) also needs each row's
        thoughts so far,
        ``past`` (B, T, Z) with ``past_mask`` (B, T), the current thought last; without
        them it raises ``ValueError``."""
        return greedy_scores(self, candidates, lang, context, current, past, past_mask)[0]

    @torch.no_grad()
    def continue_text(self, text: str | Sequence[str], n_thoughts: int, *,
                      lang: str | None = None, scale: str = "sentence",
                      reencode: bool = False,
                      steps: int | None = None, method: str | None = None,
                      generator: torch.Generator | None = None, **sampling) -> str:
        """Think ``n_thoughts`` more thoughts after ``text`` and say them.

        ``text`` is a string, cut into units at ``scale`` by :func:`ltm.segment.units`
        (with the rules of ``lang`` when it is ``en`` or ``ru``), or a list of units.
        Each predicted thought joins the trajectory as it is (the model thinks in
        thoughts); with ``reencode`` it is decoded and encoded again first. Returns the
        new text only (the decoded units joined)."""
        if isinstance(text, str):
            rules = lang if lang in ("en", "ru") else "en"
            units = segment_units(text, scale, rules, self.config.codec.max_bytes)
        else:
            units = list(text)
        if not units:
            raise ValueError("continue_text needs at least one unit of text")
        said = self._think(self.encode(units), n_thoughts, lang, reencode=reencode,
                           steps=steps, head_method=method, generator=generator, **sampling)
        return "".join(u.decode("utf-8", "replace") for u in said)

    def _think(self, thoughts: Tensor, n: int, lang: str | None, *, reencode: bool = False,
               steps: int | None = None, head_method: str | None = None,
               generator: torch.Generator | None = None, **sampling) -> list[bytes]:
        """``n`` thoughts predicted after ``thoughts`` (T, Z), each said in ``lang`` and
        joining the trajectory; ``sampling`` goes to the decoder.

        The model thinks first and speaks after: a predicted thought joins the trajectory
        as it is, so all ``n`` are thought before any is said, and the decoder says them
        together, as one batch (``n`` units in about the wall time of one on a CPU).
        With ``reencode`` each thought is said, and encoded again from what was said,
        before the next is thought, so the units are decoded one at a time."""
        new, said = [], []
        for _ in range(n):
            nxt = self.predict_next(thoughts, steps=steps, method=head_method,
                                    generator=generator, lang=lang)  # (Z,)
            new.append(nxt)
            if reencode:  # say it now, and think on from what was said
                said += self.decode_bytes(nxt[None], lang, generator=generator, **sampling)
                nxt = self.encode([said[-1].decode("utf-8", "replace")])[0]
            thoughts = torch.cat([thoughts, nxt[None]], dim=0)  # (T+1, Z)
        if reencode or not new:
            return said
        return self.decode_bytes(torch.stack(new), lang, generator=generator, **sampling)

    # ------------------------------------------------------------------ the harness calls
    # The same calls as ltm.baseline.ByteLM, so ltm.eval treats every model alike.

    @torch.no_grad()
    def score_units(self, units: Sequence[str | bytes], lang: str | None = None, *,
                    samples: int = 4, generator: torch.Generator | None = None) -> list[float]:
        """Nats of every unit (its bytes and EOS) given the true units before it; the
        first unit has no past to predict from and gets ``nan``.

        Unit ``t+1`` is scored by the decoder's teacher-forced cross-entropy given the
        thought predicted from the true thoughts ``1..t`` (:meth:`next_thought`). The head may be
        stochastic, so ``samples`` thoughts are drawn and the estimate is

            nats = -log( (1/S) sum_s exp(-CE(u_{t+1} | z^(s)_{t+1})) )

        the log of a Monte-Carlo average of the likelihood: an upper bound on the
        nats of the model's mixture in expectation, tight as ``S`` grows (and exact for
        a deterministic head, where every draw is the same)."""
        if not units:
            return []
        thoughts = self.encode(list(units))  # (T, Z)
        T = len(units)
        if T == 1:
            return [float("nan")]
        context, _ = self.core(thoughts[None])  # (1, T, C)
        ids, lengths = pack(list(units)[1:], self.config.codec.max_bytes, self.device)
        targets = decoder_targets(ids, lengths)  # (T-1, L+1)
        lang_ids = self.lang_ids(lang, T - 1)
        per_sample = []
        past, past_mask = prefixes(thoughts[:-1])
        for _ in range(1 if self.decoder_picks else samples):  # a pick is the same each time
            pred = self.next_thought(context[0, :-1], thoughts[:-1], generator=generator,
                                     lang=lang, past=past, past_mask=past_mask)  # (T-1, Z)
            logits = self.decoder(pred, ids, lang_ids)  # (T-1, L+1, V)
            ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets,
                                                   ignore_index=PAD, reduction="none")
            per_sample.append(ce.sum(1))  # (T-1,)
        nats = -(torch.logsumexp(-torch.stack(per_sample), 0) - math.log(len(per_sample)))
        return [float("nan"), *nats.tolist()]

    def score_next_unit(self, past_units: Sequence[str | bytes], next_unit: str | bytes,
                        lang: str | None = None, **kw) -> float:
        """Nats of ``next_unit`` (bytes and EOS) given the true past (at least one unit);
        see :meth:`score_units` for the estimator."""
        if not past_units:
            raise ValueError("the LTM scores a next unit given at least one past unit")
        return self.score_units([*past_units, next_unit], lang, **kw)[-1]

    @torch.no_grad()
    def embed_units(self, units: Sequence[str | bytes]) -> Tensor:
        """The meaning part of each unit's thought (N, meaning_dim), unit norm: the
        vector by which meanings are compared (retrieval)."""
        return meaning_part(self.encode(list(units)), self.config.codec.meaning_dim)

    @torch.no_grad()
    def generate_units(self, units: Sequence[str | bytes], n_units: int, *,
                       lang: str | None = None, **sampling) -> list[bytes]:
        """``n_units`` more units after ``units`` (at least one), as raw bytes: each
        predicted thought joins the trajectory and is said in ``lang``; ``sampling`` is
        as :meth:`generate_batch`'s, which this calls with one episode."""
        if not units:
            raise ValueError("generation needs at least one unit of text")
        return self.generate_batch([units], n_units, langs=[lang], **sampling)[0]

    @torch.no_grad()
    def generate_batch(self, episodes: Sequence[Sequence[str | bytes]], n_units: int, *,
                       langs: Sequence[str | None] | None = None, steps: int | None = None,
                       generator: torch.Generator | None = None,
                       **sampling) -> list[list[bytes]]:
        """``n_units`` more units after each of several episodes (each at least one unit;
        ``langs`` one per episode, default none), thought together: the episodes'
        thoughts are right-padded into one batch, each predicted thought joins its
        episode's trajectory (the core is causal, so padding never reaches a real
        position), and all ``len(episodes) * n_units`` thoughts are said in one decoder
        batch; ``method``, ``top_p``, ``temperature``, ``max_bytes`` and ``readings``
        go to :meth:`decode_bytes`. A head that draws noise draws it for all rows at once."""
        langs = episode_langs(episodes, langs, n_units)
        B = len(episodes)
        if B == 0:
            return []
        flat = self.encode([u for ep in episodes for u in ep])  # (N, Z): the prompts read
        if n_units == 0:
            return [[] for _ in range(B)]
        lens = torch.tensor([len(ep) for ep in episodes], device=self.device)  # (B,)
        T = int(lens.max()) + n_units
        thoughts = flat.new_zeros(B, T, flat.shape[-1])  # (B, T, Z), right-padded
        mask = torch.arange(T, device=self.device)[None] < lens[:, None]  # (B, T)
        thoughts[mask] = flat
        rows = torch.arange(B, device=self.device)
        new = []
        for _ in range(n_units):
            width = int(lens.max())  # positions read this step
            nxt = self.predict_next(thoughts[:, :width], mask[:, :width], steps=steps,
                                    generator=generator, lang=langs)  # (B, Z)
            thoughts[rows, lens], mask[rows, lens] = nxt, True
            lens = lens + 1
            new.append(nxt)
        vectors = torch.stack(new, dim=1).flatten(0, 1)  # (B * n, Z), episode-major
        said = self.decode_bytes(vectors, [lang for lang in langs for _ in range(n_units)],
                                 generator=generator, **sampling)
        return [said[b * n_units: (b + 1) * n_units] for b in range(B)]

    def save(self, directory: str | Path) -> None:
        """Write ``model.safetensors`` and ``config.json`` into ``directory``."""
        from ltm import weights

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        weights.save(self.state_dict(), d / WEIGHTS)
        (d / CONFIG).write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | Path, device: torch.device | str = "cpu") -> LTM:
        """Inverse of :meth:`save`; damaged weights raise :class:`ltm.weights.WeightsError`."""
        from ltm import weights

        d = Path(directory)
        model = cls(LTMConfig.from_dict(json.loads((d / CONFIG).read_text())))
        model.load_state_dict(weights.load(d / WEIGHTS, device))
        return model.to(device)
