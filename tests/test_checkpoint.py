"""The shipped model: loads from safetensors right after set-up and says thoughts."""

import json
from pathlib import Path

import pytest
import torch

from ltm import paths
from ltm.cli import main
from ltm.model import LTM, WEIGHTS

CKPT = paths.root() / "checkpoints" / "paper"


def test_shipped_model_loads_and_matches_its_card():
    model = LTM.load(CKPT)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    n = sum(p.numel() for p in model.parameters())
    assert f"parameters: {n:,}" in (CKPT / "MODEL_CARD.md").read_text("utf-8")
    metrics = json.loads((CKPT / "metrics.json").read_text())
    assert metrics["train_seconds"] <= 45 * 60  # the budget


def test_shipped_model_generates_in_both_languages(capsys):
    torch.set_num_threads(1)
    for extra in ([], ["--lang", "ru"]):
        assert main(["generate", "--model", str(CKPT), "Anna is in the garden.",
                     "--thoughts", "2", *extra]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 2 and all(line and "\ufffd" not in line for line in lines)
    assert not Path(CKPT / "model.safetensors").read_bytes().startswith(b"\x80")  # no pickle


def test_model_card_reports_the_runs_threads_not_the_shippers():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    cfg = json.loads((CKPT / "config.json").read_text())
    metrics = json.loads((CKPT / "metrics.json").read_text())
    card = ship.model_card(cfg, {**metrics, "threads": 7, "machine": "m68k"}, None,
                           CKPT / WEIGHTS, "cmd")
    assert "- hardware: m68k CPU, 7 threads, fp32" in card
    rest = {k: v for k, v in metrics.items() if k not in ("threads", "machine")}
    card = ship.model_card(cfg, rest, None, CKPT / WEIGHTS, "cmd")
    assert "- hardware: not recorded by the run, fp32" in card


def test_model_card_says_when_the_critic_stage_was_run_again():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    critic = {"seconds": 60.0, "transitions": 900, "legal_share": 0.5, "epochs": 2,
              "accuracy": 0.75}
    metrics = {"train_seconds": 120.0, "critic": critic}
    assert "refit_critic" not in ship._critic_line(metrics)
    line = ship._critic_line({**metrics, "critic_before": {**critic, "transitions": 300}})
    assert "900 transitions" in line and "refit_critic.py" in line and "300 transitions" in line
    assert "3.0 min in all" in line


def test_model_card_fit_command_names_every_training_override():
    import importlib.util

    from ltm.presets import preset

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    cfg = json.loads(json.dumps(preset("paper").to_dict()))
    assert ship.fit_command(cfg) == "ltm fit --preset paper --data DATA --out DIR"
    cfg["train"].update(lr_encoder=1.5e-4, minutes=44.0)
    assert ship.fit_command(cfg) == ("ltm fit --preset paper --data DATA --out DIR "
                                     "--set lr_encoder=0.00015 --max-minutes 44")
    assert ship._head(cfg["field"]) == "`flow`"
    cfg["field"]["head"] = "choice"
    assert "`choice`: 16 hypotheses of the next thought, picked by the decoder" in \
        ship._head(cfg["field"])
    assert ship._head({**cfg["field"], "choice_pick": "selector"}).endswith("the head's selector")
    assert ship.fit_command(cfg) == ("ltm fit --preset paper --data DATA --out DIR "
                                     "--head choice --set lr_encoder=0.00015 --max-minutes 44")
    cfg["train"]["compile"] = True  # a bool as --set reads it back: lower case
    assert ship.fit_command(cfg).endswith("--max-minutes 44 --set compile=true")
    cfg["field"].update(critic_width=256, critic_recall=32)  # --set PART.FIELD, first
    assert ship.fit_command(cfg) == ("ltm fit --preset paper --data DATA --out DIR --head "
                                     "choice --critic 256 --set field.critic_recall=32 --set "
                                     "lr_encoder=0.00015 --max-minutes 44 --set compile=true")
    assert ship._head(cfg["field"]).endswith("legal by a learned critic (`ltm.critic`, "
                                             "width 256, reading the cosines with the last "
                                             "32 thoughts)")
    cfg["field"].update(critic_members=3, choice_branches=4)
    said = ship._head(cfg["field"])
    assert "3 learned critics whose log-odds are averaged" in said and "its 4 least sure places" in said
    cfg["field"].update(critic_words=12)
    assert ship._head(cfg["field"]).endswith("32 thoughts and which of each reading's first "
                                             "12 words the past has said (`ltm.novelty`))")
    assert ship._head({**cfg["field"], "critic_recall": 0}).endswith(
        "width 256, reading which of each reading's first 12 words the past has said "
        "(`ltm.novelty`))")
    cfg["codec"]["langs"] = ["en"]
    with pytest.raises(SystemExit, match="codec.langs differs .* not a number"):
        ship.fit_command(cfg)


def test_model_card_labels_distinct_and_as_they_occur_rows_and_counts_them():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    side = {"codec": {"exact_en": 0.5}, "units": {"exact_en": 0.75, "n": 1000, "n_distinct": 637}}
    table = "\n".join(ship._eval_table({"train": side, "heldout": {**side, "units": {
        "exact_en": 1.0, "n": 900, "n_distinct": 223}}}))
    assert "| exact reconstruction, English, distinct quotes | 0.500 | 0.500 |" in table
    assert "| exact reconstruction, English, units as they occur | 0.750 | 1.000 |" in table
    assert "draws 1,000 / 900 units" in table and "(637 / 223 distinct frames" in table
    assert "as they occur* draws" not in "\n".join(ship._eval_table({"train": side}))


def test_model_card_adds_reranked_columns_only_where_measured():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    side = {"codec": {"exact_en": 0.5}, "codec_reranked": {"exact_en": 0.625},
            "prediction": {"parse": 0.25}}
    table = ship._eval_table({"train": side, "heldout": side}, readings=8)
    assert table[0].endswith("| train, 8 readings | held-out, 8 readings |")
    assert "| exact reconstruction, English, distinct quotes | 0.500 | 0.500 | 0.625 | 0.625 |" in table
    assert "| generated next thoughts that parse | 0.250 | 0.250 | - | - |" in table
    assert "readings" not in ship._eval_table({"train": side, "heldout": side})[0]


def test_model_card_adds_critic_off_rows_only_for_a_model_with_a_critic():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ship_checkpoint", paths.root() / "scripts" / "ship_checkpoint.py")
    ship = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ship)
    side = {"prediction": {"legal": 0.75}}
    assert "critic left out" not in "\n".join(ship._eval_table({"train": side, "heldout": side}))
    judged = {**side, "prediction_no_critic": {"legal": 0.5}}
    table = ship._eval_table({"train": judged, "heldout": judged})
    assert "| ... and are legal in the true state | 0.750 | 0.750 |" in table
    assert "| ... and are legal, critic left out | 0.500 | 0.500 |" in table
