"""ltm.errors: any library exception becomes one non-empty line."""

from hypothesis import given
from hypothesis import strategies as st

from ltm.errors import first_line


@given(st.text())
def test_any_message_gives_one_nonempty_line(text):
    line = first_line(RuntimeError(text), limit=50)
    assert line and "\n" not in line and "\r" not in line and len(line) <= 50
    assert line == type(RuntimeError()).__name__ or line in text


def test_the_first_nonempty_line_or_the_class_name():
    assert first_line(ValueError("\n  \n  bad header  \nmore")) == "bad header"
    assert first_line(RuntimeError()) == "RuntimeError"
    assert first_line(OSError(" \n ")) == "OSError"
