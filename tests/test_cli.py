"""The ``ltm`` command as a user runs it: in a fresh interpreter."""

import subprocess
import sys


def _run(code_or_args: list[str], tmp_path):
    return subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)


def test_python_m_gives_one_line_errors(tmp_path):
    """``python -m ltm.cli``, too, reports a user error as one line with status 1."""
    r = _run(["-m", "ltm.cli", "data", "corpus", "nosuch", "--out", "x.pvq.jsonl"], tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines() == [r.stderr.strip()] and r.stderr.startswith("ltm: unknown corpus")
    r = _run(["-m", "ltm.cli", "data", "world", "--episodes", "1", "--out", "x.pvq.jsonl",
              "--langs", "zz"], tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "ltm: unknown language 'zz' (the world speaks en, ru)"


def test_data_commands_never_import_torch(tmp_path):
    code = ("import sys; from ltm.cli import main; "
            "a = main(['data', 'world', '--episodes', '2', '--out', 'w.pvq.jsonl']); "
            "b = main(['data', 'validate', 'w.pvq.jsonl']); "
            "c = main(['data', 'stats', 'w.pvq.jsonl']); "
            "print(a, b, c, sorted(m for m in ('torch', 'numpy', 'lightning') if m in sys.modules))")
    r = _run(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0 0 0 []"
