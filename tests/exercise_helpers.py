"""What the tests of each notebook's exercises share: run a check, and expect it to reject an answer."""

import io
from contextlib import redirect_stdout

import pytest

from cnnkit import exercises
from cnnkit.exercises import TODO


def check(exercise_id, answer=TODO) -> str:
    """What ``exercises.check`` prints (raises what it raises)."""
    out = io.StringIO()
    with redirect_stdout(out):
        exercises.check(exercise_id, answer)
    return out.getvalue()


def rejected(exercise_id, answer, match: str, received: bool = True) -> str:
    """The message of a wrong answer: it names what was expected (and received) and gives the hint."""
    with pytest.raises(AssertionError, match=match) as caught:
        check(exercise_id, answer)
    message = str(caught.value)
    assert "Expected" in message and "\nHint: " in message
    assert received <= ("Received" in message)  # an error raised inside the learner's function is reported as such
    return message
