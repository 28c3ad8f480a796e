"""The exercise registry, ``check`` and the heading format (the guide is in ``cnnkit.exercises``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cnnkit.checks import PASS_MARK

TODO = ...  # the placeholder a starter cell leaves in place of an answer (Python's Ellipsis)

# The notebooks that have exercises: number -> file name without ".ipynb".
NOTEBOOKS = {
    "01": "01_convolution",
    "02": "02_pooling",
    "03": "03_classification",
    "04": "04_backbones",
    "05": "05_detection",
    "06": "06_segmentation",
    "07": "07_video_3d",
    "08": "08_beyond_images",
}
LEVELS = {1: "●", 2: "●●", 3: "●●●"}  # basic, core, stretch
LEVEL_NAMES = {1: "basic", 2: "core", 3: "stretch"}

# "### Exercise 02.4 · ●● · 15 min — Receptive field by hand": the one heading format,
# in the course notebook and in its solutions notebook (tools/nbtool.py checks both).
HEADING_FORMAT = "### Exercise {id} · {dots} · {minutes} min — {title}"
HEADING_RE = re.compile(
    r"^### Exercise (?P<id>\d{2}\.\d{1,2}) · (?P<dots>●{1,3}) · (?P<minutes>\d+) min — (?P<title>\S.*?)\s*$"
)
ID_RE = re.compile(r"^(?P<notebook>\d{2})\.(?P<number>[1-9]\d?)$")

CHECK = "check"
MODEL_ANSWER = "model answer"

_MISSING = object()  # an argument that was not given


class NotAnswered(Exception):
    """Raised by a checker when the answer is still the starter's placeholder.

    ``check`` then prints "not answered yet" instead of failing; e.g.
    :func:`expect_function` raises it when the learner's function returns ``TODO``.
    """


# ---------------------------------------------------------------- lazy values


class Lazy:
    """A value computed on first use (and then kept): a trained model, a hidden test set.

    Registering an exercise must stay cheap (every ``import cnnkit`` registers
    them all), so anything expensive is wrapped: ``lazy(lambda: make_model())``.
    """

    def __init__(self, factory: Callable[[], object]):
        if not callable(factory):
            raise ValueError(f"lazy() needs a function of no arguments; received {type(factory).__name__}.")
        self.factory = factory
        self._value = _MISSING

    def get(self):
        if self._value is _MISSING:
            self._value = self.factory()
        return self._value

    def __repr__(self) -> str:
        return f"lazy({getattr(self.factory, '__name__', 'factory')})"


def lazy(factory: Callable[[], object]) -> Lazy:
    """Wrap a function of no arguments whose result is computed on first use (see :class:`Lazy`)."""
    return Lazy(factory)


def resolve(value):
    """The value itself, or the computed value of a :class:`Lazy`."""
    return value.get() if isinstance(value, Lazy) else value


# ---------------------------------------------------------------- one exercise


@dataclass(frozen=True, repr=False)
class Exercise:
    """One registered exercise: an automatic check, or an open question with a model answer.

    Attributes:
        id: ``"02.4"``: notebook 02, exercise 4.
        title: the short title of its heading.
        level: 1 (● basic), 2 (●● core) or 3 (●●● stretch).
        minutes: the expected time.
        checker: ``checker(answer)`` raises ``AssertionError`` for a wrong answer
            and returns a short description of a correct one (None for open questions).
        correct, wrong: example answers the tests run the check with (values or ``lazy``).
        hint: printed under the message of a wrong answer.
        text: the model answer of an open question (None for checks).
    """

    id: str
    title: str
    level: int
    minutes: int
    checker: Callable | None = None
    correct: object = None
    wrong: object = None
    hint: str = ""
    text: str | None = None

    @property
    def kind(self) -> str:
        return CHECK if self.checker is not None else MODEL_ANSWER

    @property
    def notebook(self) -> str:
        return self.id.split(".")[0]

    @property
    def number(self) -> int:
        return int(self.id.split(".")[1])

    @property
    def dots(self) -> str:
        return LEVELS[self.level]

    @property
    def heading(self) -> str:
        """The markdown heading line this exercise has in its notebook and in its solutions."""
        return HEADING_FORMAT.format(id=self.id, dots=self.dots, minutes=self.minutes, title=self.title)

    @property
    def solutions(self) -> str:
        """Where its worked solution (or model answer) is, relative to the repository root."""
        return f"solutions/{NOTEBOOKS[self.notebook]}_solutions.ipynb"

    def __str__(self) -> str:
        return f"{self.id:<5}  {self.dots:<5}  {self.minutes:>3} min  {self.kind:<12}  {self.title}"

    __repr__ = __str__


class ExerciseList(list):
    """A list of :class:`Exercise` that prints as a table."""

    def __str__(self) -> str:
        if not self:
            return "No exercises registered."
        checks = sum(e.kind == CHECK for e in self)
        lines = [f"{'id':<5}  {'level':<5}  {'time':<7}  {'kind':<12}  title"]
        lines += [str(e) for e in self]
        plural = lambda n, word: f"{n} {word}{'' if n == 1 else 's'}"  # noqa: E731
        lines.append(f"{plural(len(self), 'exercise')}: {plural(checks, 'check')}, "
                     f"{plural(len(self) - checks, 'model answer')}.")
        return "\n".join(lines)

    __repr__ = __str__


# ---------------------------------------------------------------- the registry


def _missing_parts(answer) -> list[str] | None:
    """None when answered; [] when the whole answer is TODO; the names of the parts still TODO."""
    if answer is TODO:
        return []
    if isinstance(answer, Mapping):
        parts = [str(k) for k, v in answer.items() if v is TODO]
    elif isinstance(answer, (list, tuple)):
        parts = [f"item {i}" for i, v in enumerate(answer) if v is TODO]
    else:
        return None
    return parts or None


class Registry:
    """Exercises by id. The package has one (``cnnkit.exercises``); tests build their own.

    Args:
        notebooks: ``{"02": "02_pooling", ...}``: the notebooks exercises may belong to.
    """

    def __init__(self, notebooks: Mapping[str, str] = NOTEBOOKS):
        self.notebooks = dict(notebooks)
        self._exercises: dict[str, Exercise] = {}

    # ---- registering

    def exercise(self, id: str, *, title: str, level: int, minutes: int, hint: str,
                 correct=_MISSING, wrong=_MISSING, check: Callable | None = None):
        """Register an exercise with an automatic check.

        Used as a one-liner with a ready-made checker,
        ``exercise("01.2", ..., check=expect_equal(124, what="the output size"))``,
        or as a decorator of a custom checker function (which raises
        ``AssertionError("Expected ... Received ...")`` for a wrong answer and
        returns a short description of a correct one)::

            @exercise("02.4", title="...", level=2, minutes=15, hint="...", correct=..., wrong=...)
            def _(answer):
                ...

        Args:
            id: ``"NN.k"``: exercise k of notebook NN, as in its heading.
            title: the title of its heading.
            level: 1 (● basic), 2 (●● core) or 3 (●●● stretch).
            minutes: the expected time, in minutes.
            hint: one or two sentences printed under the message of a wrong answer
                (a direction to look in, never the answer).
            correct: a correct answer; the tests check that it passes.
            wrong: a typical wrong answer; the tests check that it fails without
                revealing the solution. Wrap expensive ones in ``lazy(...)``.
            check: the checker (omit it to use ``exercise(...)`` as a decorator).

        Returns:
            The checker (so a decorated function stays usable), or the decorator.
        """
        self._validate_common(id, title, level, minutes)
        if not isinstance(hint, str) or not hint.strip():
            raise ValueError(f"exercise {id}: hint must be a non-empty string (printed with a wrong answer); "
                             f"received {hint!r}.")
        if correct is _MISSING or wrong is _MISSING:
            raise ValueError(f"exercise {id}: correct= and wrong= example answers are required "
                             "(the tests run every check with both).")

        def register(checker: Callable) -> Callable:
            if not callable(checker):
                raise ValueError(f"exercise {id}: check must be a function of the answer; "
                                 f"received {type(checker).__name__}.")
            self._add(Exercise(id, title.strip(), level, minutes, checker, correct, wrong, hint.strip()))
            return checker

        return register if check is None else register(check)

    def model_answer(self, id: str, text: str, *, title: str, level: int, minutes: int) -> Exercise:
        """Register an open question ("why ...?"): no automatic check, a model answer in the solutions.

        Args:
            id, title, level, minutes: as for :meth:`exercise`.
            text: the model answer (markdown); ``show_answer(id)`` displays it in
                the solutions notebook.

        Returns:
            The :class:`Exercise`.
        """
        self._validate_common(id, title, level, minutes)
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"exercise {id}: text must be the model answer, a non-empty string; received {text!r}.")
        exercise = Exercise(id, title.strip(), level, minutes, text=text.strip())
        self._add(exercise)
        return exercise

    def _validate_common(self, id, title, level, minutes) -> None:
        match = ID_RE.match(id) if isinstance(id, str) else None
        if match is None:
            raise ValueError(f"id must be a string 'NN.k' (notebook NN, exercise k), e.g. '02.4'; received {id!r}.")
        if match["notebook"] not in self.notebooks:
            raise ValueError(f"id {id!r}: notebook must be one of {sorted(self.notebooks)}; "
                             f"received {match['notebook']!r}.")
        if not isinstance(title, str) or not title.strip() or "\n" in title:
            raise ValueError(f"exercise {id}: title must be a one-line, non-empty string; received {title!r}.")
        if level not in LEVELS or isinstance(level, bool):
            raise ValueError(f"exercise {id}: level must be 1 (● basic), 2 (●● core) or 3 (●●● stretch); "
                             f"received {level!r}.")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
            raise ValueError(f"exercise {id}: minutes must be a positive integer; received {minutes!r}.")

    def _add(self, exercise: Exercise) -> None:
        if exercise.id in self._exercises:
            raise ValueError(f"exercise {exercise.id} is registered twice "
                             f"({self._exercises[exercise.id].title!r} and {exercise.title!r}).")
        self._exercises[exercise.id] = exercise

    # ---- looking up

    def find(self, id: str) -> Exercise | None:
        """The exercise with this id, or None."""
        return self._exercises.get(id)

    def get(self, id: str) -> Exercise:
        """The exercise with this id; a clear error for an unknown one."""
        if not isinstance(id, str):
            raise ValueError(f"exercise id must be a string like '02.4'; received {id!r}.")
        if id not in self._exercises:
            same = [e.id for e in self.registered(id.split(".")[0])]
            known = f"notebook {id.split('.')[0]} has {', '.join(same)}" if same else "see exercises.registered()"
            raise ValueError(f"No exercise {id!r} is registered ({known}).")
        return self._exercises[id]

    def registered(self, notebook: str | None = None) -> ExerciseList:
        """Every exercise (or those of one notebook, ``"02"``), in order; prints as a table."""
        chosen = [e for e in self._exercises.values() if notebook is None or e.notebook == notebook]
        return ExerciseList(sorted(chosen, key=lambda e: (e.notebook, e.number)))

    # ---- checking

    def check(self, id: str, answer=TODO) -> None:
        """Check a learner's answer and print one line; raise ``AssertionError`` when it is wrong.

        * correct: ``✔ 02.4 · Title: <what was checked>``
        * still ``TODO`` (the starter cell untouched): ``02.4: not answered yet``, no error
        * an open question: one line saying where the model answer is
        * wrong: ``AssertionError`` with *Expected … Received …* and a hint, never the solution
        """
        exercise = self.get(id)
        if exercise.kind == MODEL_ANSWER:
            print(f"{id}: an open question, with no automatic check; compare your answer with the "
                  f"model answer in {exercise.solutions}.")
            return
        missing = _missing_parts(answer)
        if missing is None:
            try:
                detail = exercise.checker(answer)
            except NotAnswered:
                missing = []
            except AssertionError as wrong:
                raise AssertionError(f"{id} · {exercise.title}: {wrong}\nHint: {exercise.hint}") from None
        if missing is not None:
            still = f" (still TODO: {', '.join(missing)})" if missing else ""
            print(f"{id}: not answered yet{still}")
            return
        print(f"{PASS_MARK} {id} · {exercise.title}: {detail or 'correct'}")

    def show_answer(self, id: str) -> None:
        """Display the model answer of an open question (in the solutions notebook)."""
        exercise = self.get(id)
        if exercise.kind != MODEL_ANSWER:
            raise ValueError(f"exercise {id} has an automatic check, not a model answer: "
                             f"call check({id!r}, answer) instead.")
        text = f"**Model answer {id}.** {exercise.text}"
        try:
            from IPython import get_ipython
            from IPython.display import Markdown, display
        except ImportError:  # no IPython: plain text
            get_ipython = None
        if get_ipython is not None and getattr(get_ipython(), "kernel", None) is not None:
            display(Markdown(text))
        else:
            print(text)


# The course's exercises (tests build their own Registry). It lives here, not in the package's
# __init__, so that the per-notebook modules (nb01.py, ...) can register into it without importing
# the package that imports them (tests/test_repo.py forbids import cycles).
REGISTRY = Registry()

exercise = REGISTRY.exercise
model_answer = REGISTRY.model_answer
check = REGISTRY.check
show_answer = REGISTRY.show_answer
registered = REGISTRY.registered
