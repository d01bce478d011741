"""Probe: say a thought by reranking several readings with the encoder, without training.

    python experiments/probes/rerank.py checkpoints/paper 2000 greedy rerank:4:1.0 \
        search:16:2:-6

The encoder finds the same thought among 1,000 by its vector (recall@1 1.000), so it
can tell which of several readings of a thought is the one meant even where the
decoder's greedy reading is wrong. A rule ``rerank:S:T`` says each thought as the
greedy reading plus ``S`` nucleus samples at temperature ``T`` (top-p 0.9), encodes
every reading again, and keeps the one whose vector has the largest dot product with
the thought (with a meaning-only thought, whose surface part is zero, only the meaning
part counts). ``greedy`` is the shipped way of saying a thought.

Session 19 chose ``rerank:15:1.5`` here, and the library said ``LTM.decode(...,
readings=16)`` that way until session 28 replaced the samples by a search, the rule
``search:R:ROUNDS:MIN_LOGP``: the library's ``LTM.decode(..., readings=R)`` with its
``search`` settings at ``ROUNDS`` rounds of branching the nearest reading
so far at its least sure places whose other byte has log-probability at least
``MIN_LOGP`` (``ltm.codec.ThoughtDecoder.branch``). The probe keeps its own version of
the sampling rule so that the research log's rows remake.

Arguments: a saved LTM, the seed of the world scored (2000 to choose, 1000, the
evaluation world, only to read a chosen rule off), then rules. Each rule replaces the
loaded model's ``decode`` and scores, per side of the meaning split, reconstruction and
cross-language decoding of ``N`` distinct frames and of ``N`` units as they occur
(:mod:`ltm.worldeval`, as ``eval_world.py`` does, with fewer units), and next
thoughts on ``EPISODES`` episodes. One line per rule and side is printed.
"""

from __future__ import annotations

import os
import sys
import time

import torch

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import codec_metrics, cross_language_metrics, prediction_metrics, unit_metrics

N, EPISODES, UNIT_EPISODES = 400, 100, 3000
NEXT = os.environ.get("RERANK_NEXT", "1") != "0"
"""``RERANK_NEXT=0``: score next thoughts on one episode only (their rows are then noise),
to save time where only the codec's rows are asked."""


def nats_per_byte(model: LTM, vectors, texts: list[str], lang) -> torch.Tensor:
    """Mean nats per token (EOS included) of each text read back by the decoder from its
    thought, teacher-forced: how surely the decoder would write it."""
    from ltm.codec import decoder_targets, pack

    limit = max(len(t.encode("utf-8")) for t in texts) + 1
    ids, lengths = pack(texts, limit, model.device)
    logits = model.decoder(vectors.to(model.device), ids, model.lang_ids(lang, len(texts)))
    logits = logits.masked_fill(~model.decoder.writable, float("-inf"))
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), decoder_targets(ids, lengths),
                                            ignore_index=256, reduction="none")  # (B, L+1)
    keep = torch.arange(nll.shape[1], device=nll.device)[None] <= lengths[:, None]
    return ((nll * keep).sum(1) / keep.sum(1)).cpu()


def reranking(model: LTM, samples: int, temperature: float, weight: float = 0.0):
    """A ``decode`` that keeps, per thought, the reading that encodes nearest it (minus
    ``weight`` times the decoder's nats per token of the reading, when ``weight`` > 0)."""
    plain = LTM.decode.__get__(model)  # the library's, not a rule set before

    @torch.no_grad()
    def decode(vectors, lang=None, **sampling):
        vectors = vectors.reshape(-1, vectors.shape[-1]).float()
        gen = torch.Generator().manual_seed(0)
        options = [plain(vectors, lang, **sampling)]
        options += [plain(vectors, lang, method="nucleus", top_p=0.9, temperature=temperature,
                          generator=gen, **sampling) for _ in range(samples)]
        B = len(vectors)
        flat = [o[i] for i in range(B) for o in options]  # (B * (S+1),), row-major
        enc = model.encode([t.encode("utf-8") for t in flat]).float().cpu()
        score = (enc.view(B, samples + 1, -1) * vectors.cpu()[:, None]).sum(-1)
        if weight:
            langs = [lang] * B if lang is None or isinstance(lang, str) else list(lang)
            nats = nats_per_byte(model, vectors.repeat_interleave(samples + 1, 0), flat,
                                 [x for x in langs for _ in range(samples + 1)])
            score = score - weight * nats.view(B, samples + 1)
        best = score.argmax(1).tolist()
        return [flat[i * (samples + 1) + k] for i, k in enumerate(best)]

    return decode


def searching(model: LTM, readings: int, rounds: int, min_logp: float):
    """A ``decode`` that is the library's with ``readings`` readings, found by
    ``rounds`` rounds of branching at places whose other byte has log-probability at
    least ``min_logp`` (``LTM.decode``'s ``search`` settings)."""
    plain = LTM.decode.__get__(model)

    def decode(vectors, lang=None, **sampling):
        return plain(vectors, lang, readings=readings,
                     search={"rounds": rounds, "min_logp": min_logp}, **sampling)

    return decode


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit("rerank: usage: rerank.py MODEL WORLD_SEED RULE [RULE ...]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0])
    seed = int(argv[1])
    episodes = {s: list(world.generate(EPISODES, seed, split=s)) for s in world.SPLITS}
    units = {s: list(world.generate(UNIT_EPISODES, seed, split=s)) for s in world.SPLITS}
    plain = LTM.decode.__get__(model)
    for spec in argv[2:]:
        parts = spec.split(":")
        if parts[0] == "greedy" and len(parts) == 1:
            model.decode = plain
        elif parts[0] == "rerank" and len(parts) in (3, 4):
            model.decode = reranking(model, int(parts[1]), float(parts[2]),
                                     float(parts[3]) if len(parts) == 4 else 0.0)
        elif parts[0] == "search" and len(parts) == 4:
            model.decode = searching(model, int(parts[1]), int(parts[2]), float(parts[3]))
        else:
            sys.exit(f"rerank: rule {spec!r}: expected greedy, rerank:S:T[:W] or "
                     "search:R:ROUNDS:MIN_LOGP")
        for s in world.SPLITS:
            start = time.perf_counter()
            kw = dict(split=s, progress=False)
            c = codec_metrics(model, units[s], n=N, **kw)
            x = cross_language_metrics(model, units[s], N, **kw)
            u = unit_metrics(model, units[s], N, **kw)
            p = prediction_metrics(model, episodes[s], EPISODES if NEXT else 1, 0,
                                   split=None if s == "train" else s, progress=False)
            print(f"{spec} {s}: exact {c['exact_en']:.3f}/{c['exact_ru']:.3f} "
                  f"cross {x['en_to_ru']:.3f}/{x['ru_to_en']:.3f} "
                  f"occur exact {u['exact_en']:.3f}/{u['exact_ru']:.3f} "
                  f"cross {u['en_to_ru']:.3f}/{u['ru_to_en']:.3f} "
                  f"next {p['parse']:.3f}/{p['legal']:.3f}/{p['exact_determined']:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
