"""PVQ, the thought-trajectory format: schema, readers and writers, the world, the corpora.

``from ltm import pvq`` gives the whole public surface of the format::

    records = pvq.read("data/examples/fractal_thoughtset.yaml")
    pvq.write("copy.pvq.jsonl", records)

See :mod:`ltm.pvq.schema` for the objects and :mod:`ltm.pvq.io` for files.
"""

from ltm.pvq.io import (
    dumps_record,
    iter_jsonl,
    iter_records,
    read,
    read_jsonl,
    read_yaml,
    stats,
    validate,
    write,
    write_jsonl,
    write_yaml,
)
from ltm.pvq.schema import (
    PHASES,
    VERSION,
    Problem,
    PVQError,
    Record,
    Thought,
    check_record,
    finer,
    record_from_obj,
    walk,
)

__all__ = [
    "PHASES", "VERSION", "Problem", "PVQError", "Record", "Thought", "check_record",
    "finer", "record_from_obj", "walk", "dumps_record", "iter_jsonl", "iter_records", "read", "read_jsonl", "read_yaml",
    "stats", "validate", "write", "write_jsonl", "write_yaml",
]
