"""The experiment scripts (issue 5): a ``smoke`` run writes every output and gives the
same numbers when run again; trained models are reused, not retrained."""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from ltm.pvq import world

torch.set_num_threads(1)
EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def _load(name: str):
    sys.path.insert(0, str(EXPERIMENTS))
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # as an import would (dataclasses look their module up)
    spec.loader.exec_module(mod)
    return mod


def test_smoke_experiment_writes_everything_and_repeats_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))  # models, data and results go here
    (tmp_path / "data" / "generated").mkdir(parents=True)
    world.write_world(tmp_path / "data" / "generated" / "world.pvq.jsonl", 60, seed=0)
    fig = _load("fig_codec_noise")
    fig.main("smoke")
    out = tmp_path / "experiments" / "results" / "smoke"
    raw = (out / "fig_codec_noise.json").read_bytes()
    first = json.loads(raw)
    for suffix in ("md", "tex", "png"):
        assert (out / f"fig_codec_noise.{suffix}").stat().st_size > 0
    assert first["preset"] == "smoke" and first["versions"]["torch"]
    assert not (tmp_path / "paper").exists()  # macros only at the paper preset
    ckpt = tmp_path / "runs" / "smoke" / "ltm-s0" / "model.safetensors"
    trained_at = ckpt.stat().st_mtime_ns
    fig.main("smoke")
    assert (out / "fig_codec_noise.json").read_bytes() == raw  # identical JSON
    assert ckpt.stat().st_mtime_ns == trained_at  # reused, not retrained


def test_timings_are_kept_apart_from_the_numbers():
    common = _load("common")
    numbers = {"LTM": {"bpb": 0.5, "timing": {"bytes_per_s": 12.3}}, "n": 3,
               "timing": {"total_s": 9.0}}
    kept, timing = common.split_timing(numbers)
    assert kept == {"LTM": {"bpb": 0.5}, "n": 3}
    assert timing == {"LTM": {"timing": {"bytes_per_s": 12.3}}, "timing": {"total_s": 9.0}}
    assert common.split_timing({"a": 1}) == ({"a": 1}, {})


def test_step_times_are_merged_and_become_paper_macros(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    run = _load("run")
    run.write_times("paper", [("data/world", 12.04, "w"), ("tab_x", 60.0, "x")])
    run.write_times("paper", [("tab_x", 120.0, "x again")])  # a later --only run
    out = tmp_path / "experiments" / "results" / "paper"
    steps = json.loads((out / "times.json").read_text())["steps"]
    assert steps == {"data/world": {"seconds": 12.0, "summary": "w"},
                     "tab_x": {"seconds": 120.0, "summary": "x again"}}
    assert "| **total** | sum of the steps | **132.0** |" in (out / "times.md").read_text()
    gen = tmp_path / "paper" / "generated"
    tex = (gen / "times.tex").read_text()
    assert r"\newcommand{\timeTotalMin}{2}" in tex and r"\timeTabXMin}{2.0}" in tex
    assert r"\input{generated/times}" in (gen / "macros.tex").read_text()
    run.write_times("paper", [("tab_x", 100.0, "x")], wall=90.0)  # a whole run: wall clock
    assert "| **total** | wall clock, two steps at a time | **90.0** |" in (
        out / "times.md").read_text()
    run.write_times("paper", [("tab_x", 110.0, "x")])  # --only keeps the last whole run's
    assert json.loads((out / "times.json").read_text())["wall_seconds"] == 90.0
    whole = [("train", 5000.0, "78 models"), ("tab_x", 1.0, "x")]
    assert run.recorded(whole, partial=False) == whole
    assert run.recorded(whole, partial=True) == whole[1:]  # --only keeps the 78 models


def test_only_takes_an_experiment_name():
    run = _load("run")
    assert run.experiment_tag(EXPERIMENTS / "tab_prediction.py") == "E3"
    assert run.experiment_tag(EXPERIMENTS / "tab_austen.py") == "E3"
    assert run.experiment_tag(EXPERIMENTS / "tab_hparams.py") is None
    tagged = {p.stem for p in EXPERIMENTS.glob("*_*.py") if run.experiment_tag(p)}
    assert {f"E{k}" for k in range(1, 9)} == {run.experiment_tag(EXPERIMENTS / f"{n}.py")
                                             for n in tagged}


def test_mean_and_spread_over_seeds():
    common = _load("common")
    assert common.mean([1.0, None, 3.0, float("nan")]) == 2.0
    assert common.std([1.0]) is None and common.mean([None]) is None
    assert common.pm([0.5]) == "0.500"
    assert common.pm([1.0, 2.0, 3.0]) == "2.000 ± 1.000"


def test_plan_collects_every_run_once_without_training(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    (tmp_path / "data" / "generated").mkdir(parents=True)
    (tmp_path / "data" / "generated" / "world.pvq.jsonl").write_text("")  # never read
    run = _load("run")
    scripts = [EXPERIMENTS / f"{n}.py" for n in ("tab_prediction", "fig_memory", "fig_cost")]
    jobs, needs = run.plan(scripts, "smoke")
    names = sorted(j.name for j in jobs)
    assert len(names) == len(set(names))  # E3's baseline is asked for thrice, planned once
    assert {"ltm-s0", "baseline-params-s0", "hybrid-params-s0", "baseline-flops-s0",
            "core-mem-short-s0", "core-nomem-short-s0"} == set(names)
    hybrid = next(j for j in jobs if j.name == "hybrid-params-s0")
    assert hybrid.needs == (tmp_path / "runs" / "smoke" / "ltm-s0",)
    assert needs[scripts[2]] == {tmp_path / "runs" / "smoke" / n
                                 for n in ("ltm-s0", "baseline-params-s0")}
    assert not (tmp_path / "runs").exists()  # nothing trained


def test_a_script_run_by_the_driver_cannot_train_what_it_did_not_plan(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    common = _load("common")
    monkeypatch.setattr(common, "_PLANNED_ONLY", True)
    try:
        common.trained("ltm-s0", common.ltm_config("smoke"), tmp_path / "w.pvq.jsonl", "smoke")
    except SystemExit as e:
        assert "ltm-s0 was not trained before" in str(e) and "models(preset)" in str(e)
    else:
        raise AssertionError("trained() trained a run nobody planned")
    assert not (tmp_path / "runs").exists()


def test_the_ngram_ablation_gives_the_baseline_the_encoders_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    (tmp_path / "data" / "generated").mkdir(parents=True)
    (tmp_path / "data" / "generated" / "world.pvq.jsonl").write_text("")  # never read
    common = _load("common")
    from ltm.presets import preset

    codec = preset("paper").codec
    base = common.baseline_config("paper", seed=1)
    ablation = common.with_ltm_ngrams(base, "paper")
    assert (ablation.ngram_max, ablation.ngram_buckets) == (codec.ngram_max, codec.ngram_buckets)
    assert ablation == dataclasses.replace(base, ngram_max=codec.ngram_max,
                                           ngram_buckets=codec.ngram_buckets)
    assert common.with_ltm_ngrams(common.baseline_config("smoke"), "smoke") is None  # tiny
    with common.planning() as asked:  # the LTM whose decoder reads them too
        common.ngram_ltm("paper", seed=2)
        assert common.ngram_ltm("smoke") is None
    (job,) = asked
    assert job.config == dataclasses.replace(
        common.ltm_config("paper", 2),
        codec=dataclasses.replace(common.ltm_config("paper", 2).codec, decoder_ngrams=True))


def test_the_eval_world_appears_only_whole(tmp_path, monkeypatch):
    """Scripts run two at a time: the shared evaluation world must never be readable
    while it is being written (a script once drew its meanings from part of it)."""
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    common = _load("common")
    monkeypatch.setattr(common, "EVAL_EPISODES", 4)
    final = tmp_path / "data" / "generated" / f"world-eval-{common.EVAL_SEED}.pvq.jsonl"
    import ltm.pvq.io as pvq_io

    real, visible = pvq_io.dumps_record, []

    def writing(record):
        visible.append(final.exists())  # mid-write, not yet renamed into place
        return real(record)

    monkeypatch.setattr(pvq_io, "dumps_record", writing)
    assert common.eval_world() == final
    assert visible == [False] * 4  # one per episode, none with the file in place
    assert [p.name for p in final.parent.iterdir()] == [final.name]  # nothing partial left
    assert len(final.read_text().splitlines()) == 4
    assert common.eval_world() == final and visible == [False] * 4  # written once


def test_a_run_on_another_models_weights_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    common = _load("common")
    cfg = common.ltm_config("smoke")
    codec, out = tmp_path / "codec", common.runs("smoke") / "core-s0"
    for d in (codec, out):
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"weights")
        (d / "config.json").write_text(json.dumps(cfg.to_dict()))
    (out / common.SOURCES).write_text(json.dumps(common._sources(codec=codec)))
    data = tmp_path / "w.pvq.jsonl"
    assert common.trained("core-s0", cfg, data, "smoke", codec=codec) == out  # reused
    (codec / "model.safetensors").write_bytes(b"retrained")
    with pytest.raises(SystemExit, match="trained on another codec"):
        common.trained("core-s0", cfg, data, "smoke", codec=codec)
    (out / common.SOURCES).unlink()  # a run from before the record: not trusted either
    with pytest.raises(SystemExit, match="delete it to retrain"):
        common.trained("core-s0", cfg, data, "smoke", codec=codec)


def test_the_papers_protocol_macros_read_the_shipped_models_rates_and_time():
    common = _load("common")
    ckpt = common.paths.root() / "checkpoints" / "paper"
    cfg = json.loads((ckpt / "config.json").read_text())
    metrics = json.loads((ckpt / "metrics.json").read_text())
    seconds = metrics["train_seconds"] + metrics.get("critic", {}).get("seconds", 0.0)
    macros = common.protocol_macros()
    assert float(macros["shippedLrEncoder"]) == cfg["train"]["lr_encoder"]
    assert float(macros["shippedLrDecoder"]) == cfg["train"]["lr_decoder"]
    assert float(macros["shippedCodecOccurrence"]) == cfg["train"]["codec_occurrence"]
    assert macros["shippedMinutes"] == f"{seconds / 60:.0f}"
    assert macros["shippedCriticWidth"] == str(cfg["field"]["critic_width"])
    assert macros["shippedCriticLabels"] == f"{metrics['critic']['transitions']:,}"
    assert macros["shippedSteps"] == f"{metrics['steps']:,}"


def _probe(name: str):
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / "probes" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_sample_steps_reads_integrations_and_choice_picks_and_refuses_the_rest():
    probe = _probe("sample_steps")
    assert probe.setting("heun:8") == ("heun", 8)
    assert probe.setting("pick:decoder") == ("pick", "decoder")
    for bad in ("rk4:2", "euler:0", "pick:best", "pick"):
        with pytest.raises(SystemExit, match="expected euler:N") as e:
            probe.setting(bad)
        assert "\n" not in str(e.value.code)


def test_judge_margin_fills_defaults_and_refuses_bad_counts_in_one_line():
    probe = _probe("judge_margin")
    assert probe.arguments(["m"]) == ("m", 2000, 400, 16)
    assert probe.arguments(["m", "1000", "50", "4"]) == ("m", 1000, 50, 4)
    for bad, says in ((["m", "x"], "must be integers"), (["m", "1", "1"], "at least 2"),
                      (["m", "1", "9", "0"], "READINGS at least 1"), ([], "usage")):
        with pytest.raises(SystemExit, match=says) as e:
            probe.arguments(bad)
        assert "\n" not in str(e.value.code)


def test_recipe_ab_field_types_values_and_refuses_bad_ones_in_one_line(tmp_path, monkeypatch):
    """``--field`` types a value as the FieldConfig field is (str fields as given, bools
    from true/false, not ``bool("false")``); a bad pair, or a value the config refuses,
    ends the probe with one line before anything trains."""
    ab = _probe("recipe_ab")
    assert ab.field_overrides(["head=mse", " sample_method = euler", "source_noise=0.5",
                               "sample_steps=4"]) == {"head": "mse", "sample_method": "euler",
                                                      "source_noise": 0.5, "sample_steps": 4}
    for pair, says in [("nope=1", "with a FieldConfig field"), ("head", "FIELD=VALUE"),
                       ("source_noise=x", "'x' is not a float"),
                       ("sample_steps=2.5", "'2.5' is not a int")]:
        with pytest.raises(SystemExit, match=says) as e:
            ab.field_overrides([pair])
        assert "\n" not in str(e.value.code)
    data = tmp_path / "world.pvq.jsonl"
    data.touch()
    for arg, says in [("--field=head=MSE", "recipe_ab: --field: FieldConfig.head must be"),
                      ("--field=sample_method=rk4", "FieldConfig.sample_method must be"),
                      ("--set=lr_final=2", "recipe_ab: TrainConfig.lr_final must be")]:
        monkeypatch.setattr(sys, "argv", ["recipe_ab", "--name", "x", "--codec-steps", "1",
                                          "--data", str(data), arg])
        with pytest.raises(SystemExit, match=says) as e:
            ab.main()
        assert "\n" not in str(e.value.code)

    @dataclasses.dataclass(frozen=True)
    class WithFlag:
        flag: bool = False

    monkeypatch.setattr(ab, "preset", lambda name: type("Cfg", (), {"field": WithFlag()}))
    assert ab.field_overrides(["flag=false"]) == {"flag": False}
    assert ab.field_overrides(["flag=TRUE"]) == {"flag": True}
    with pytest.raises(SystemExit, match="not true/false/1/0"):
        ab.field_overrides(["flag=yes"])


def test_reference_table_has_critic_off_rows_only_for_a_model_with_a_critic(tmp_path,
                                                                          monkeypatch):
    from ltm.model import LTM
    from ltm.presets import preset

    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    tab = _load("tab_reference")
    for table, value in ((tab.UNIT_EPISODES, 20), (tab.PREDICT_EPISODES, 2), (tab.N, 6),
                         (tab.MAX_BYTES, 4)):
        monkeypatch.setitem(table, "smoke", value)
    out = tmp_path / "experiments" / "results" / "smoke"
    cfg = preset("tiny")
    judged = dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choices=4, critic_width=8))
    for name, config in (("plain", cfg), ("judged", judged)):
        torch.manual_seed(0)
        LTM(config).save(tmp_path / name)
        monkeypatch.setattr(tab, "models", lambda p, d=tmp_path / name: {"LTM": d})
        tab.main("smoke")
        table = (out / "tab_reference.md").read_text()
        numbers = json.loads((out / "tab_reference.json").read_text())["numbers"]
        assert "| next thoughts that parse |" in table and "≥ 0.95" in table
        assert "| train, 16 readings | held-out, 16 readings |" in table
        assert set(numbers["results"]["heldout"]["codec_reranked"]) == \
            set(numbers["results"]["heldout"]["codec"])  # the decoding rows, said again
        assert ("no critic" in table) == (name == "judged") == numbers["critic"]


def test_reference_prose_names_exactly_the_missed_targets():
    tab = _load("tab_reference")
    side = {"codec": {"exact_en": 0.9496, "exact_ru": 0.93}, "retrieval": {"recall1_en_ru": 1.0},
            "prediction": {"parse": 0.97, "legal": 0.5, "exact_determined": 0.1}}
    assert tab.missed(side) == ("exact reconstruction of distinct Russian quotes (0.930) and "
                                "legal next thoughts (0.500)")  # 0.9496 shows as 0.950: met
    side["codec"]["exact_ru"] = side["prediction"]["legal"] = 0.99
    assert tab.missed(side) == "none"
    side["prediction"]["parse"] = 0.2
    assert tab.missed(side) == "next thoughts that parse (0.200)"
    assert set(tab.PROSE) == {name for *_, t, name in tab.ROWS if t}  # every target named
    side["codec_reranked"] = {"exact_en": 0.99, "exact_ru": 0.5}
    assert tab.read(side) == {"codec": side["codec_reranked"], "retrieval": side["retrieval"],
                              "prediction": side["prediction"]}
    assert tab.missed(tab.read(side)) == ("exact reconstruction of distinct Russian quotes "
                                          "(0.500) and next thoughts that parse (0.200)")
    assert not any(c in text for text in tab.PROSE.values() for c in "_%&#$^~{}\\")  # LaTeX


def test_commit_is_dirty_for_code_changes_not_for_the_reproductions_outputs(tmp_path,
                                                                            monkeypatch):
    import subprocess

    monkeypatch.setenv("LTM_ROOT", str(tmp_path))
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    files = ["experiments/results/paper/a.json", "paper/generated/b.tex", "reference/c.py"]
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("0\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    common = _load("common")
    head = common.commit()
    assert head is not None and len(head) == 40
    for f in files[:2]:  # what the reproduction rewrites
        (tmp_path / f).write_text("1\n")
    assert common.commit() == head
    (tmp_path / files[2]).write_text("1\n")  # the code itself
    assert common.commit() == head + "-dirty"


def test_heldout_gap_labels_each_transition_and_shares_by_key():
    """The probe's rows: one per transition of an episode, booleans for a legal hypothesis,
    the pick, the past and the current thought read back, and the true act; ``share``
    counts only the rows it is asked about."""
    import random

    import torch

    from ltm.model import LTM
    from ltm.presets import preset
    from ltm.pvq import world

    probe = _probe("heldout_gap")
    cfg = preset("tiny")
    cfg = dataclasses.replace(cfg, field=dataclasses.replace(
        cfg.field, head="choice", choices=3, critic_width=8))
    torch.manual_seed(0)
    model = LTM(cfg).eval()
    record = next(iter(world.generate(1, 5)))
    with torch.no_grad():
        rows = probe.label(model, record, random.Random(0))
    assert [r["t"] for r in rows] == list(range(1, len(record.thoughts)))
    for r in rows:
        assert r["act"] == record.thoughts[r["t"]].frame["act"]
        assert all(isinstance(r[k], bool) for k in ("any", "pick", "past", "current", "read"))
        assert r["any"] or not r["pick"]  # the pick is one of the hypotheses
    rows = [{"any": True, "pick": False, "act": "go"}, {"any": False, "pick": False,
                                                       "act": "go"},
            {"any": True, "pick": True, "act": "recap"}]
    assert probe.share(rows) == "0.667 (3)"
    assert probe.share(rows, "act", "go") == "0.500 (2)"
    assert probe.share(rows, "act", "recap", "pick") == "1.000 (1)"
    assert probe.share(rows, "act", "feel") == "  -   (0)"


def test_state_probe_targets_every_place_and_reads_a_decodable_state_exactly():
    """``collect`` gives one row per thought with the value of each ``.at`` key of the
    state after it, and each true recap's two agents; a probe on features that carry the
    state reads every key back, and one on constant features cannot."""
    import torch

    from ltm.model import LTM
    from ltm.presets import preset
    from ltm.pvq import world

    probe = _probe("state_probe")
    torch.manual_seed(0)
    model = LTM(preset("tiny")).eval()
    records = list(world.generate(40, 3))
    keys, values = {}, {}
    data = probe.collect(model, records, keys, values, grow=True)
    thoughts = [t for r in records for t in r.thoughts]
    assert data["target"].shape == (len(thoughts), len(keys))
    assert len(data["context"]) == len(data["current"]) == len(thoughts)
    for n, t in enumerate(thoughts):
        at = {k: v for k, v in t.state.items() if k.endswith(".at")}
        assert {k: values[v] for k, v in at.items()} == {
            k: int(data["target"][n, i]) for k, i in keys.items() if data["target"][n, i] >= 0}
    nexts = [r.thoughts[i + 1].frame["act"] if i + 1 < len(r.thoughts) else None
             for r in records for i in range(len(r.thoughts))]
    assert [p is not None for p in data["recap"]] == [a == "recap" for a in nexts]
    assert any(p is not None for p in data["recap"])
    target = data["target"]
    onehot = torch.nn.functional.one_hot(target + 1, len(values) + 1).flatten(1).float()
    data["oracle"], data["blank"] = onehot, torch.zeros(len(target), 3)
    keys_ok, recap_ok, n = probe.scores(probe.fit_probe(onehot, target, len(values)),
                                        data, "oracle")
    assert keys_ok == 1.0 and recap_ok == 1.0 and n == sum(p is not None for p in data["recap"])
    blank, _, _ = probe.scores(probe.fit_probe(data["blank"], target, len(values)), data,
                               "blank")
    assert blank < 0.5


def test_misses_by_act_counts_every_unit_once_and_reports_each_act(capsys):
    """The probe's counts: every unit in ``drawn`` under its act, a miss only where the
    unit is not said back byte for byte, and one report line per act."""
    import torch

    from ltm.model import LTM
    from ltm.presets import preset

    probe = _probe("misses_by_act")
    torch.manual_seed(0)
    model = LTM(preset("tiny")).eval()  # untrained: says nothing back
    items = [("Anna went to the park.", "en", "go"), ("Идёт дождь.", "ru", "weather_is"),
             ("Ivan went home.", "en", "go")]
    drawn, missed = probe.misses(model, items)
    assert drawn == {"go": 2, "weather_is": 1} and missed == drawn
    probe.report("as they occur", drawn, missed)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "as they occur: exact 0.000 of 3"
    assert out[1].split()[:3] == ["go", "2", "units,"] and len(out) == 3


def test_cross_misses_counts_slots_and_swaps_and_refuses_bad_arguments_in_one_line():
    probe = _probe("cross_misses")
    want = {"act": "recap", "agent": "Olga", "place": "library", "other": "Vera",
            "other_place": "shop"}
    swapped = dict(want, place="shop", other_place="library")
    assert probe.slots(want, swapped) == ["other_place", "place"]
    assert probe.swapped(want, swapped, probe.slots(want, swapped))
    both = dict(want, other_place="library")  # "both in the library": one slot wrong
    assert probe.slots(want, both) == ["other_place"]
    assert not probe.swapped(want, both, ["other_place"])
    moved = dict(want, place="park", other_place="garden")  # two slots wrong, not exchanged
    assert not probe.swapped(want, moved, probe.slots(want, moved))
    assert probe.slots(want, {"act": "recap"}) == ["agent", "other", "other_place", "place"]
    assert probe.arguments(["m"]) == ("m", 1000, 10_000)  # eval_world.py's draw
    assert probe.arguments(["m", "7"]) == ("m", 7, 10_000)
    assert probe.arguments(["m", "7", "50"]) == ("m", 7, 50)
    for argv in ([], ["m", "1", "2", "3"], ["m", "seed"], ["m", "1", "many"]):
        with pytest.raises(SystemExit) as e:
            probe.arguments(argv)
        assert "cross_misses:" in str(e.value.code) and "\n" not in str(e.value.code)

