"""Safe loading of saved models (:mod:`ltm.weights`): safetensors only, and a damaged
file (truncated, a changed byte, junk appended) is refused in one line naming it, or,
where the change did not touch what the file says, loads the very same weights."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ltm import eval as harness
from ltm import weights
from ltm.baseline import ByteLM, baseline_preset
from ltm.cli import main
from ltm.hybrid import HybridLM
from ltm.model import LTM
from ltm.presets import preset

torch.set_num_threads(1)
KINDS = ("ltm", "baseline", "hybrid")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One untrained model of each kind, saved, with its state dict."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("models")
    LTM(preset("tiny")).save(root / "ltm")
    ByteLM(baseline_preset("tiny")).save(root / "baseline")
    HybridLM.from_ltm(baseline_preset("tiny"), root / "ltm").save(root / "hybrid")
    return root


def test_save_stores_a_checksum_and_load_gives_the_tensors_back(tmp_path):
    from safetensors import safe_open

    state = {"b": torch.arange(6.0).reshape(2, 3), "a": torch.ones(2, dtype=torch.float16),
             "s": torch.tensor(3)}
    weights.save(state, tmp_path / "w.safetensors")
    with safe_open(str(tmp_path / "w.safetensors"), "pt") as f:
        assert f.metadata()["sha256"] == weights.checksum(state)
    back = weights.load(tmp_path / "w.safetensors")
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) and back[k].dtype == state[k].dtype
               for k in state)


def test_the_checksum_sees_names_shapes_and_values():
    base = {"w": torch.zeros(2, 3)}
    others = [{"v": torch.zeros(2, 3)}, {"w": torch.zeros(3, 2)}, {"w": torch.zeros(2, 3).double()},
              {"w": torch.zeros(2, 3).index_fill(1, torch.tensor([2]), 1e-7)}]
    assert len({weights.checksum(s) for s in [base, *others]}) == 5


def test_a_file_without_a_checksum_still_loads(tmp_path):
    """Files saved before the checksum existed (``checkpoints/paper``) load unchecked."""
    from safetensors.torch import save_file

    save_file({"w": torch.ones(3)}, str(tmp_path / "old.safetensors"))
    assert torch.equal(weights.load(tmp_path / "old.safetensors")["w"], torch.ones(3))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25)
@given(data=st.data())
def test_a_damaged_weights_file_is_refused_in_one_line(kind, saved, tmp_path_factory, data):
    src = saved / kind
    raw = (src / "model.safetensors").read_bytes()
    how = data.draw(st.sampled_from(["truncate", "flip", "append"]), label="how")
    if how == "truncate":
        cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
        bad = raw[:cut]
    elif how == "flip":
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        mask = data.draw(st.integers(1, 255), label="mask")
        bad = raw[:at] + bytes([raw[at] ^ mask]) + raw[at + 1:]
    else:
        bad = raw + data.draw(st.binary(min_size=1, max_size=64), label="junk")
    d = tmp_path_factory.mktemp("damaged")
    (d / "config.json").write_text((src / "config.json").read_text())
    (d / "model.safetensors").write_bytes(bad)
    try:
        model = harness.load_model(d)
    except harness.EvalError as e:
        msg = str(e)
        assert len(msg.splitlines()) == 1 and "model.safetensors" in msg, msg
        return
    # Loaded: only a change that left the content as it was (e.g. header whitespace).
    original = harness.load_model(src).state_dict()
    assert all(torch.equal(v, original[k]) for k, v in model.state_dict().items())


def test_a_changed_tensor_byte_is_caught_by_the_checksum(saved, tmp_path, capsys):
    raw = bytearray((saved / "ltm" / "model.safetensors").read_bytes())
    raw[-3] ^= 0x40  # inside the last tensor's data: a valid file with other weights
    d = tmp_path / "tampered"
    d.mkdir()
    (d / "config.json").write_text((saved / "ltm" / "config.json").read_text())
    (d / "model.safetensors").write_bytes(bytes(raw))
    assert main(["generate", "--model", str(d), "Anna is here."]) == 1
    err = capsys.readouterr().err.strip()
    assert "do not match the SHA-256" in err and len(err.splitlines()) == 1, err


def test_weights_of_another_config_are_refused_in_one_line(saved, tmp_path):
    """A config that does not fit the weights (a wider model) names the mismatch."""
    d = tmp_path / "mismatch"
    d.mkdir()
    cfg = json.loads((saved / "ltm" / "config.json").read_text())
    cfg["codec"]["width"] *= 2
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "model.safetensors").write_bytes((saved / "ltm" / "model.safetensors").read_bytes())
    with pytest.raises(harness.EvalError, match="cannot load the ltm model") as e:
        harness.load_model(d)
    assert len(str(e.value).splitlines()) == 1
