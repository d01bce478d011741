"""The legality critic (``ltm.critic``): its labels, its training stage, and the pick it
joins."""

import copy
import dataclasses
import json

import pytest
import torch

from ltm.cli import main
from ltm.critic import Critic, fit_critic, label_transitions, labelable
from ltm.model import LTM
from ltm.presets import preset
from ltm.pvq import Record, Thought, world, write
from ltm.worldeval import evaluate_world, judge_next, prediction_metrics

torch.set_num_threads(1)


def critic_config(width: int = 16, **field):
    cfg = preset("tiny")
    return dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choices=4, critic_width=width, **field))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return LTM(critic_config()).eval()


@pytest.fixture(scope="module")
def episodes():
    return list(world.generate(6, seed=0))


def test_critic_scores_every_hypothesis_of_every_row():
    critic = Critic(context_dim=8, thought_dim=5, width=12)
    out = critic(torch.randn(3, 8), torch.randn(3, 5), torch.randn(3, 4, 5), torch.randn(3, 4, 5))
    assert out.shape == (3, 4) and torch.isfinite(out).all()


def test_config_refuses_a_critic_without_the_decoders_pick():
    cfg = preset("tiny")
    with pytest.raises(ValueError, match="critic_width needs the choice head"):
        dataclasses.replace(cfg.field, critic_width=8)  # the tiny preset's head is flow
    with pytest.raises(ValueError, match="critic_width needs the choice head"):
        dataclasses.replace(cfg.field, head="choice", choice_pick="selector", critic_width=8)
    with pytest.raises(ValueError, match="critic_width must be an int >= 0"):
        dataclasses.replace(cfg.field, head="choice", critic_width=-1)
    with pytest.raises(ValueError, match="critic_share must be in"):
        dataclasses.replace(cfg.train, critic_share=1.0)
    assert LTM(cfg).critic is None
    timed = dataclasses.replace(cfg.train, minutes=10.0, critic_share=0.25)
    assert dataclasses.replace(cfg, train=timed).stage_minutes == 10.0  # no critic: all of it
    assert dataclasses.replace(critic_config(), train=timed).stage_minutes == 7.5


def test_labels_have_one_row_per_transition_and_one_column_per_hypothesis(model, episodes):
    data = label_transitions(model, episodes, 10, seed=0)
    N, K = data["legal"].shape
    assert N == 10 and K == 4
    assert data["context"].shape == (N, model.config.field.width)
    for key in ("current", "hypotheses", "readings"):
        assert data[key].shape[-1] == model.config.codec.dim
    assert data["legal"].dtype == torch.bool
    assert data["where"].shape == (N, 2)
    for e, t in data["where"].tolist():  # a real transition of the record it names
        assert 1 <= t < len(episodes[e].thoughts)


def test_labels_match_judge_next_in_a_one_language_world(episodes):
    cfg = critic_config()
    cfg = dataclasses.replace(cfg, codec=dataclasses.replace(cfg.codec, langs=("en",)))
    torch.manual_seed(0)
    m = LTM(cfg).eval()
    ep = episodes[0]
    data = label_transitions(m, [ep], 100, seed=0)
    assert len(data["legal"]) == len(ep.thoughts) - 1
    with torch.no_grad():
        for t in range(1, len(ep.thoughts)):
            texts, _ = m.decoder.read(data["hypotheses"][t - 1], m.lang_ids("en", 4))
            want = [judge_next(ep, t, x.decode("utf-8", "replace"), "en")[1] for x in texts]
            assert data["legal"][t - 1].tolist() == want


def test_a_subset_of_hypotheses_is_some_of_each_transitions_hypotheses(model, episodes):
    full = label_transitions(model, episodes, 30, seed=0)
    part = label_transitions(model, episodes, 30, seed=0, hypotheses=2)
    assert part["legal"].shape == (30, 2) and part["readings"].shape[:2] == (30, 2)
    assert len(set(part["where"][:, 0].tolist())) > 1  # several episodes
    assert torch.equal(part["where"], full["where"])  # the same transitions, said alike
    assert torch.allclose(part["context"], full["context"], atol=1e-5)
    for n in range(30):  # each kept hypothesis is one of the K, with its own label
        for k in range(2):
            dist = (full["hypotheses"][n] - part["hypotheses"][n, k]).norm(dim=-1)
            j = int(dist.argmin())
            assert dist[j] < 1e-5 and part["legal"][n, k] == full["legal"][n, j]
    assert torch.equal(label_transitions(model, episodes, 30, seed=0, hypotheses=2)["legal"],
                       part["legal"])  # seeded
    assert label_transitions(model, episodes, 3, seed=0, hypotheses=9)["legal"].shape == (3, 4)
    with pytest.raises(ValueError, match="critic_hypotheses must be an int >= 0"):
        dataclasses.replace(preset("tiny").train, critic_hypotheses=-1)


def test_unlabelable_records_are_refused_in_one_line(model):
    prose = [Record(id="p", source="corpus:test", thoughts=(Thought(quotes={"en": ("One.",)}),
                                                   Thought(quotes={"en": ("Two.",)})))]
    assert labelable(prose, ["en", "ru"]) == 0
    with pytest.raises(ValueError, match="frames and states"):
        label_transitions(model, prose, 5)


def test_fit_critic_trains_only_the_critic(episodes):
    torch.manual_seed(0)
    m = LTM(critic_config())
    before = {k: v.clone() for k, v in m.state_dict().items()}
    summary = fit_critic(m, episodes, transitions=12, epochs=2, seed=0)
    assert summary["transitions"] == 12 and summary["pairs"] == 48 and summary["epochs"] == 2
    assert 0.0 <= summary["legal_share"] <= 1.0 and 0.0 <= summary["accuracy"] <= 1.0
    after = m.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("critic.") for k in changed)
    assert m.training  # the model's mode is restored
    with pytest.raises(ValueError, match="no critic"):
        fit_critic(LTM(preset("tiny")), episodes, transitions=1, epochs=1)


def test_pick_subtracts_the_weighted_log_probability_of_legal(model):
    m = LTM(critic_config(critic_weight=50.0)).eval()
    m.load_state_dict(model.state_dict())
    torch.manual_seed(1)
    cands = torch.nn.functional.normalize(torch.randn(3, 4, m.config.codec.dim), dim=-1)
    ctx, cur = torch.randn(3, m.config.field.width), cands[:, 0]
    with torch.no_grad():
        texts, nats = m.decoder.read(cands.reshape(12, -1), m.lang_ids("en", 12))
        logit = m.critic(ctx, cur, cands, m.encode(texts).view(3, 4, -1))
        score = nats.view(3, 4) - 50.0 * torch.nn.functional.logsigmoid(logit)
        torch.testing.assert_close(m.pick_scores(cands, "en", context=ctx, current=cur), score)
        # without the context the critic cannot judge: nats alone
        torch.testing.assert_close(m.pick_scores(cands, "en"), nats.view(3, 4))
        # a critic sure that one hypothesis is the legal one decides the pick
        with torch.no_grad():
            m.critic.net[-1].weight.zero_()
            m.critic.net[-1].bias.fill_(-20.0)
        sure = m.critic.forward

        def favour_two(*args):
            out = sure(*args)
            out[:, 2] = 20.0
            return out

        m.critic.forward = favour_two
        torch.testing.assert_close(m.pick(cands, "en", context=ctx, current=cur), cands[:, 2])


def test_critic_is_saved_and_loaded(model, tmp_path):
    model.save(tmp_path)
    back = LTM.load(tmp_path)
    for k, v in model.critic.state_dict().items():
        torch.testing.assert_close(back.critic.state_dict()[k], v.to(back.critic.state_dict()[k].dtype),
                                   rtol=1e-3, atol=1e-3)
    assert back.config.field.critic_width == 16


def test_fit_runs_the_critic_stage_last_and_refuses_prose(tmp_path, capsys):
    data = tmp_path / "w.pvq.jsonl"
    world.write_world(data, 30, seed=0)
    out = tmp_path / "run"
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(out),
                 "--head", "choice", "--critic", "8", "--codec-steps", "4", "--core-steps", "3",
                 "--set", "critic_transitions=16", "--set", "critic_epochs=1"]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["critic"]["transitions"] == 16 and summary["critic"]["epochs"] == 1
    assert LTM.load(out).critic is not None
    timed = tmp_path / "timed"  # a budget: the stages share it, the saved config keeps it
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(timed),
                 "--head", "choice", "--critic", "8", "--max-minutes", "0.03",
                 "--set", "critic_share=0.01"]) == 0
    assert json.loads((timed / "config.json").read_text())["train"]["minutes"] == 0.03
    assert json.loads((timed / "metrics.json").read_text())["critic"]["transitions"] >= 1
    prose = tmp_path / "prose.pvq.jsonl"
    write(prose, [Record(id=f"p{i}", source="corpus:test",
                         thoughts=(Thought(quotes={"en": ("One.",)}),
                                   Thought(quotes={"en": ("Two.",)}))) for i in range(30)])
    assert main(["fit", "--preset", "tiny", "--data", str(prose), "--out", str(tmp_path / "p"),
                 "--head", "choice", "--critic", "8"]) == 1
    assert "the critic stage needs world episodes" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # refused before any training
    assert main(["fit", "--preset", "tiny", "--data", str(data), "--out", str(tmp_path / "f"),
                 "--critic", "8"]) == 1  # the tiny preset's flow head has no pick to join
    assert "critic_width needs the choice head" in capsys.readouterr().err


def test_evaluate_world_also_predicts_without_the_critic(model, episodes):
    heldout = list(world.generate(6, seed=1, split="heldout"))
    kw = dict(n=4, n_episodes=2, max_bytes=4, batch_size=8, progress=False)
    res = evaluate_world(model, episodes, heldout, **kw)
    assert model.critic is not None  # put back
    for side in ("train", "heldout"):
        off = res[side]["prediction_no_critic"]
        assert set(off) == set(res[side]["prediction"]) and off["n"] == res[side]["prediction"]["n"]
    bare = copy.deepcopy(model)
    bare.critic = None  # the same model picking alone
    alone = prediction_metrics(bare, heldout, 2, 0, split="heldout", max_bytes=4, batch_size=8,
                               progress=False)
    assert json.dumps(res["heldout"]["prediction_no_critic"]) == json.dumps(alone)  # NaN too
    plain = LTM(preset("tiny")).eval()
    assert "prediction_no_critic" not in evaluate_world(plain, episodes, heldout, **kw)["train"]


def test_refit_critic_runs_the_stage_again_on_the_frozen_model(tmp_path):
    import importlib.util

    from ltm import paths

    spec = importlib.util.spec_from_file_location(
        "refit_critic", paths.root() / "scripts" / "refit_critic.py")
    refit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refit)
    data = tmp_path / "w.pvq.jsonl"
    world.write_world(data, 30, seed=0)
    cfg = critic_config()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(
        cfg.train, minutes=0.0, critic_transitions=12, critic_epochs=1))
    run, out = tmp_path / "run", tmp_path / "out"
    torch.manual_seed(0)
    LTM(cfg).save(run)
    (run / "metrics.json").write_text(json.dumps({"train_seconds": 1.0,
                                                  "critic": {"transitions": 12}}))
    args = ["--run", str(run), "--data", str(data), "--out", str(out), "--transitions", "6",
            "--hypotheses", "3"]
    assert refit.main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["critic"]["transitions"] == 6 and metrics["critic"]["epochs"] == 1
    assert metrics["critic"]["pairs"] == 18  # three of the four hypotheses of each
    assert metrics["critic_before"] == {"transitions": 12} and metrics["train_seconds"] == 1.0
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["critic_transitions"] == 6 and train["critic_hypotheses"] == 3
    before, after = LTM.load(run).state_dict(), LTM.load(out).state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items() if not k.startswith("critic."))
    assert not all(torch.equal(v, after[k]) for k, v in before.items() if k.startswith("critic."))
    # --recall: a new critic of the new shape, which reads the past
    again = tmp_path / "recall"
    assert refit.main(args[:5] + [str(again), "--recall", "2"]) == 0
    back = LTM.load(again)
    assert back.config.field.critic_recall == 2 and back.critic.recall == 2
    assert back.critic.net[0].in_features == LTM.load(run).critic.net[0].in_features + 3
    after = back.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items() if not k.startswith("critic."))
    with pytest.raises(SystemExit, match="--recall must be at least 0"):
        refit.main(args[:5] + [str(tmp_path / "bad"), "--recall", "-1"])
    # --members: that many critics, trained apart
    many = tmp_path / "members"
    assert refit.main(args[:5] + [str(many), "--members", "2"]) == 0
    back = LTM.load(many)
    assert back.config.field.critic_members == 2 and len(back.critic.members) == 2
    assert json.loads((many / "metrics.json").read_text())["critic"]["members"] == 2
    with pytest.raises(SystemExit, match="--members must be at least 1"):
        refit.main(args[:5] + [str(tmp_path / "bad"), "--members", "0"])
    # --set: a training field or a field of the pick; the codec's and core's refused
    branched = tmp_path / "branched"
    assert refit.main(args[:5] + [str(branched), "--set", "field.choice_branches=2",
                                  "--set", "critic_label_share=0.5"]) == 0
    back = LTM.load(branched)
    assert back.config.field.choice_branches == 2
    assert back.config.train.critic_label_share == 0.5
    for bad in ("field.layers=1", "lr_core=0.5", "codec.width=8"):  # the frozen parts' own
        with pytest.raises(SystemExit, match="only the critic stage's training fields"):
            refit.main(args[:5] + [str(tmp_path / "bad"), "--set", bad])
    with pytest.raises(SystemExit, match="leaves no critic"):
        refit.main(args[:5] + [str(tmp_path / "bad"), "--set", "field.critic_width=0"])
    with pytest.raises(SystemExit, match="both given"):
        refit.main(args[:5] + [str(tmp_path / "bad"), "--members", "2", "--set",
                               "field.critic_members=3"])
    with pytest.raises(SystemExit, match="not a part"):
        refit.main(args[:5] + [str(tmp_path / "bad"), "--set", "nope.x=1"])
    with pytest.raises(SystemExit, match="exists"):
        refit.main(args)
    with pytest.raises(SystemExit, match="--hypotheses must be at least 0"):
        refit.main([*args[:5], str(tmp_path / "o3"), "--hypotheses", "-1"])
    bare = tmp_path / "bare"
    LTM(preset("tiny")).save(bare)
    (bare / "metrics.json").write_text("{}")
    with pytest.raises(SystemExit, match="no critic"):
        refit.main(["--run", str(bare), "--data", str(data), "--out", str(tmp_path / "o2")])


# ------------------------------------------------------------------ a critic that reads the past

def test_recall_is_the_cosine_with_the_latest_past_thoughts_then_the_largest():
    from ltm.critic import recall

    torch.manual_seed(0)
    past = torch.nn.functional.normalize(torch.randn(2, 5, 6), dim=-1)  # (N, T, Z)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    readings = torch.nn.functional.normalize(torch.randn(2, 3, 6), dim=-1)  # (N, K, Z)
    got = recall(readings, past, mask, span=4)
    assert got.shape == (2, 3, 5)
    for n, length in enumerate((3, 5)):
        cos = readings[n] @ past[n, :length].T  # (K, length)
        for back in range(4):  # most recent first, 0 past the start of the episode
            want = cos[:, length - 1 - back] if back < length else torch.zeros(3)
            torch.testing.assert_close(got[n, :, back], want)
        torch.testing.assert_close(got[n, :, 4], cos.max(1).values)
    # padding never counts: other values past the mask change nothing
    junk = past.clone()
    junk[0, 3:] = readings[0, 0]
    torch.testing.assert_close(recall(readings, junk, mask, span=4), got)


def test_a_critic_that_recalls_needs_the_past_everywhere_it_judges(episodes):
    with pytest.raises(ValueError, match="critic_recall needs a critic"):
        dataclasses.replace(preset("tiny").field, critic_recall=4)
    torch.manual_seed(0)
    m = LTM(critic_config(critic_recall=3)).eval()
    assert m.critic.recall == 3
    data = label_transitions(m, episodes, 10, seed=0)
    assert data["recall"].shape == (10, 4, 4)
    plain = label_transitions(LTM(critic_config()).eval(), episodes, 2, seed=0)
    assert plain["recall"].shape == (2, 4, 0)
    summary = fit_critic(m, episodes, transitions=10, epochs=1, seed=0)
    assert summary["pairs"] == 40
    ctx, cur = data["context"][:2], data["current"][:2]
    with pytest.raises(ValueError, match="reads the past"):
        m.critic(ctx, cur, data["hypotheses"][:2], data["readings"][:2])
    with torch.no_grad(), pytest.raises(ValueError, match="give past and past_mask"):
        m.pick_scores(data["hypotheses"][:2], "en", context=ctx, current=cur)
    # along an episode, prefixes() gives every position the past predict_next gives it
    from ltm.model import prefixes

    with torch.no_grad():
        z = m.encode([t.quotes["en"][0] for t in episodes[0].thoughts])  # (T, Z)
        context, _ = m.core(z[None])
        past, past_mask = prefixes(z[:-1])
        along = m.next_thought(context[0, :-1], z[:-1], lang="en", past=past,
                               past_mask=past_mask)  # (T-1, Z)
        for t in range(1, len(z)):
            torch.testing.assert_close(m.predict_next(z[:t], lang="en"), along[t - 1],
                                       atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------ branched readings in the pick

def test_decoder_nats_of_its_own_greedy_units_are_what_read_reports():
    torch.manual_seed(0)
    m = LTM(preset("tiny")).eval()
    with torch.no_grad():
        z = m.encode(["Anna is in the garden.", "Ivan took the cup.", ""])
        ids = m.lang_ids("en", 3)
        texts, nats = m.decoder.read(z, ids)
        torch.testing.assert_close(m.decoder.nats(z, ids, texts), nats.float())
        # untrained, it writes to the cap: another last byte changes that byte's nats only
        cut = [i for i, t in enumerate(texts) if len(t) == m.config.codec.max_bytes]
        assert cut
        other = [texts[i][:-1] + bytes([(texts[i][-1] + 1) % 256]) for i in cut]
        assert (m.decoder.nats(z[cut], ids[cut], other) > nats[cut].float()).all()


def test_branched_readings_compete_and_a_winner_is_its_reading_encoded(model):
    with pytest.raises(ValueError, match="choice_branches must be an int >= 0"):
        dataclasses.replace(model.config.field, choice_branches=-1)
    m = LTM(critic_config(choice_branches=2)).eval()
    m.load_state_dict(model.state_dict())
    torch.manual_seed(1)
    cands = torch.nn.functional.normalize(torch.randn(3, 4, m.config.codec.dim), dim=-1)
    ctx, cur = torch.randn(3, m.config.field.width), cands[:, 0]
    plain = LTM(critic_config()).eval()
    plain.load_state_dict(model.state_dict())
    sure = m.critic.forward

    def judge(legal_greedy: float):  # the greedy readings (K per row) get legal_greedy
        def forward(context, current, hypotheses, readings, recalled=None, worded=None):
            out = sure(context, current, hypotheses, readings, recalled, worded)
            return out.fill_(legal_greedy if hypotheses.shape[1] > 1 else -legal_greedy)
        return forward

    with torch.no_grad():
        m.critic.forward = judge(20.0)  # every greedy reading sure legal, branches not
        torch.testing.assert_close(m.pick(cands, "en", context=ctx, current=cur),
                                   plain.pick(cands, "en"))  # nats decide among greedy
        m.critic.forward = judge(-20.0)  # now the branched readings are the legal ones
        got = m.pick(cands, "en", context=ctx, current=cur)
        flat = cands.reshape(12, -1)
        ids = m.lang_ids("en", 12)
        texts, _ = m.decoder.read(flat, ids)
        rows, more = m.decoder.branch(flat, ids, texts, 2, -6.0)
        assert rows  # an untrained decoder is unsure everywhere
        encoded = m.encode(more)
        for b in range(3):  # each row's winner: one of its own branched readings, encoded
            mine = [j for j, r in enumerate(rows) if r // 4 == b]
            assert mine and min((got[b] - encoded[j]).norm() for j in mine) < 1e-5


def test_critic_members_are_trained_apart_and_their_log_odds_averaged(episodes, tmp_path):
    torch.manual_seed(0)
    m = LTM(critic_config(critic_members=3, critic_recall=4))
    assert len(m.critic.members) == 3
    start = [net[0].weight.clone() for net in m.critic.members]
    summary = fit_critic(m, episodes, transitions=12, epochs=2, seed=0, label_share=0.5)
    assert summary["members"] == 3 and summary["epochs"] == 2
    nets = m.critic.members
    assert not torch.equal(nets[0][0].weight, nets[1][0].weight)
    assert all(not torch.equal(w, net[0].weight) for w, net in zip(start, nets, strict=True))
    # member j trains on the order of seed + j: the same first member as a lone critic's
    torch.manual_seed(0)
    alone = LTM(critic_config(critic_recall=4))
    alone.critic.net.load_state_dict(dict(zip(alone.critic.net.state_dict(),
                                              [w for w in _initial(3)], strict=True)))
    fit_critic(alone, episodes, transitions=12, epochs=2, seed=0, label_share=0.5)
    torch.testing.assert_close(alone.critic.net[0].weight, nets[0][0].weight)
    args = (torch.randn(2, m.config.field.width), torch.randn(2, m.config.codec.dim),
            torch.randn(2, 4, m.config.codec.dim), torch.randn(2, 4, m.config.codec.dim),
            torch.randn(2, 4, 5))
    x = m.critic.inputs(*args)
    mean = torch.stack([net(x)[..., 0] for net in nets]).mean(0)
    torch.testing.assert_close(m.critic(*args), mean)
    m.save(tmp_path)
    torch.testing.assert_close(LTM.load(tmp_path).critic(*args), mean)
    # one member keeps the keys of a critic shipped before members existed
    one = LTM(critic_config()).critic.state_dict()
    assert set(one) == {f"net.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    with pytest.raises(ValueError, match="label_share"):
        fit_critic(m, episodes, transitions=1, epochs=1, label_share=0.0)


def _initial(members: int) -> list[torch.Tensor]:
    """The first member's initial weights in a model of ``members`` critics, seed 0."""
    torch.manual_seed(0)
    return [t.clone() for t in LTM(critic_config(critic_members=members, critic_recall=4))
            .critic.net.state_dict().values()]


def test_one_critic_stops_at_its_deadline_but_trains_one_epoch_whole(episodes):
    torch.manual_seed(0)
    m = LTM(critic_config())
    summary = fit_critic(m, episodes, transitions=12, epochs=5, seed=0, seconds=1e-9,
                         label_share=0.5)  # no time at all: one batch of labels, one epoch
    assert summary["epochs"] == 1 and summary["loss"] == summary["loss"]  # not NaN
    with pytest.raises(ValueError, match="members must be at least 1"):
        Critic(context_dim=8, thought_dim=5, width=12, members=0)


def test_config_refuses_members_without_a_critic():
    cfg = preset("tiny")
    with pytest.raises(ValueError, match="critic_members needs a critic"):
        dataclasses.replace(cfg.field, head="choice", critic_members=2)
    with pytest.raises(ValueError, match="critic_members must be a positive int"):
        dataclasses.replace(cfg.field, head="choice", critic_width=8, critic_members=0)
    for share in (0.0, 1.0):  # all labels and no training, or the reverse
        with pytest.raises(ValueError, match="critic_label_share"):
            dataclasses.replace(cfg.train, critic_label_share=share)
