"""Probe: is a legal next thought missing from the hypotheses, or only misread?

    python experiments/probes/reading_ceiling.py MODEL WORLD_SEED [READINGS]

On the world of ``WORLD_SEED``, both sides of the meaning split (300 episodes each, 300
transitions of the seen side; on
the held-out side only the transitions whose next meaning is held out, as
``critic_reach.py`` keeps them), the ``choice`` head's hypotheses at every transition
(:func:`ltm.critic.label_transitions`) are said in English and in Russian, greedily and
with ``READINGS`` readings (default 16; :meth:`ltm.model.LTM.decode_bytes`, the reading
the encoder puts nearest the hypothesis), and judged by the world. Printed per side and
language: the share of transitions where some hypothesis is legal (``any``) and the
legal hypotheses per transition (``mean``), for each way of saying them. If ``any``
rises with the readings, the head proposed legal next thoughts that the greedy reading
garbles; if not, they are missing. One line per side and language.
"""

from __future__ import annotations

import sys
import time

import torch
from critic_reach import side_labels

from ltm.model import LTM
from ltm.pvq import world
from ltm.worldeval import judge_next

EPISODES = 300


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        sys.exit("reading_ceiling: usage: reading_ceiling.py MODEL WORLD_SEED [READINGS]")
    torch.set_num_threads(2)
    model = LTM.load(argv[0]).eval()
    readings = int(argv[2]) if len(argv) == 3 else 16
    for side in world.SPLITS:
        episodes = list(world.generate(EPISODES, int(argv[1]), split=side))
        with torch.no_grad():
            data = side_labels(model, episodes, side, 300 if side == "train" else 10**9)
        where, hyps = data["where"].tolist(), data["hypotheses"]
        N, K, Z = hyps.shape
        for lang in world.LANGS:
            cells = []
            for n_read in (1, readings):
                start = time.perf_counter()
                with torch.no_grad():
                    texts = model.decode(hyps.reshape(N * K, Z), lang, readings=n_read)
                legal = torch.tensor([[judge_next(episodes[e], t, texts[i * K + k], lang)[1]
                                       for k in range(K)] for i, (e, t) in enumerate(where)])
                cells.append(f"{n_read} reading(s): any {legal.any(1).float().mean():.3f} "
                             f"mean {legal.float().sum(1).mean():.2f} "
                             f"({time.perf_counter() - start:.0f} s)")
            print(f"{side} {lang} (n {N}): " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
