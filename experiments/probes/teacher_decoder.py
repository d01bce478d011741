"""Probe: how well a teacher run's decoder says the teacher's own code back.

    python experiments/probes/teacher_decoder.py --run runs/probes/NAME

A run of ``recipe_ab.py`` with ``--set teacher_share=...`` keeps its teacher code in
``checkpoints/last.ckpt`` (the teacher is not shipped). Its decoder was frozen at the
end of the teacher stage, so decoding the teacher's codes now measures what that stage
taught, apart from the encoder: if the decoder says the teacher's codes back exactly
and the encoder's thoughts do not, the encoder (the distillation) is what falls short;
if not, the teacher stage is.

On a fresh world (seed 1000), both sides of the meaning split, ``--n`` distinct frames
each, greedy decoding:

- ``own_<lang>``: a random phrasing's full teacher code (meaning and phrasing index)
  decoded in its language, compared with that phrasing (``eval_world.py``'s exact
  reconstruction, with the teacher in the encoder's place);
- ``canon_<lang>``: the meaning-only teacher code decoded in ``lang``, compared with the
  canonical quote (session 7's oracle probe task);
- ``distill_cos``: mean cosine of the encoder's meaning part to the teacher's, on the
  quotes of ``own``.

One JSON line per run goes to ``experiments/probes/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import torch

from ltm.codec import meaning_only, meaning_part
from ltm.config import LTMConfig
from ltm.data import PVQDataModule
from ltm.lit import LitLTM
from ltm.pvq import world
from ltm.roles import role_targets
from ltm.worldeval import distinct_frames, sample_ordered

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a recipe_ab.py teacher run")
    ap.add_argument("--data", type=Path, default=Path("data/generated/world.pvq.jsonl"),
                    help="its training data, which sets the role vocabulary "
                         "(default: recipe_ab.py's)")
    ap.add_argument("--n", type=int, default=500, help="distinct frames per side")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    ckpt_path = args.run / "checkpoints" / "last.ckpt"
    if not ckpt_path.exists():
        sys.exit(f"teacher_decoder: {ckpt_path} does not exist (not a training run?)")
    torch.set_num_threads(args.threads)
    config = LTMConfig.from_dict(json.loads((args.run / "config.json").read_text()))
    if not config.train.uses_teacher:
        sys.exit(f"teacher_decoder: {args.run} was trained without a teacher stage")
    dm = PVQDataModule(args.data, config)
    dm.setup()
    lit = LitLTM(config, dm.roles, dm.phrasings)
    state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["state_dict"]
    lit.load_state_dict(state)
    lit.eval()
    teacher, cfg = lit.teacher, config.codec
    row: dict = {"probe": f"teacher-decoder:{args.run.name}", "kind": "teacher_decoder",
                 "n": args.n, "eval": {}}
    rng = random.Random(0)
    for split in world.SPLITS:
        records = list(world.generate(10_000, 1000, split=split))
        thoughts = sample_ordered(distinct_frames(records, split, cfg.langs), args.n,
                                  f"teacher:{split}")
        roles = role_targets([t.frame for t in thoughts], dm.roles)  # (N, R)
        out: dict[str, float] = {}
        cos = []
        with torch.no_grad():
            for lang in cfg.langs:
                picks = [rng.randrange(len(t.quotes[lang])) for t in thoughts]
                quotes = [t.quotes[lang][p] for t, p in zip(thoughts, picks, strict=True)]
                code = teacher(roles, torch.tensor(picks))  # (N, Z)
                limit = max(len(q.encode()) for q in quotes) + 16
                said = lit.model.decode(code, lang=lang, max_bytes=limit)
                out[f"own_{lang}"] = sum(map(str.__eq__, said, quotes)) / len(quotes)
                canon = [t.quotes[lang][0] for t in thoughts]
                said = lit.model.decode(meaning_only(code, cfg), lang=lang, max_bytes=limit)
                out[f"canon_{lang}"] = sum(map(str.__eq__, said, canon)) / len(canon)
                z = lit.model.encode(quotes)  # (N, Z)
                cos.append((meaning_part(z, cfg.meaning_dim)
                            * meaning_part(code, cfg.meaning_dim)).sum(-1).mean().item())
        out["distill_cos"] = sum(cos) / len(cos)
        row["eval"][split] = out
        print(split, json.dumps(out), flush=True)
    with open(HERE / "results.jsonl", "a") as fh:
        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
