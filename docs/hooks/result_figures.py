"""MkDocs hook: the experiments' figures (``experiments/results/paper/*.png``) become
site files under ``figures/``, so the Results page shows what the scripts drew, and the
whitepaper (``paper/ltm.pdf``, written by ``nox -s paper``) becomes ``ltm.pdf``, with no
copy in ``docs/`` that could go stale."""

from pathlib import Path

from mkdocs.structure.files import File


def on_files(files, config):
    root = Path(config["config_file_path"]).parent
    for png in sorted((root / "experiments" / "results" / "paper").glob("*.png")):
        files.append(File.generated(config, f"figures/{png.name}", abs_src_path=str(png)))
    files.append(File.generated(config, "ltm.pdf", abs_src_path=str(root / "paper" / "ltm.pdf")))
    return files
