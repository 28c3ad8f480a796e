"""Wall time of each course notebook, executed top to bottom in a fresh kernel by ``tools/nbtool.py``.

The notebooks are copied to a temporary directory first, so the committed
notebooks (with their full-mode outputs) are never rewritten.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def course_notebooks(pattern: str = "[0-9][0-9]_*.ipynb") -> list[Path]:
    """The course notebooks present in ``notebooks/``, in order."""
    return sorted(NOTEBOOKS.glob(pattern))


def time_notebooks(mode: str, paths=None, log=print) -> list[dict]:
    """Execute each notebook in ``mode`` (``"quick"`` or ``"full"``) on a copy; return ``[{notebook, mode, seconds}]``.

    A notebook that fails is reported with its error instead of a time (the others still run).
    """
    if mode not in ("quick", "full"):
        raise ValueError(f"mode must be 'quick' or 'full'; received {mode!r}.")
    import os

    from tools import nbtool

    rows, saved = [], os.environ.get("CNNKIT_QUICK")  # nbtool.run sets it for the kernel it starts
    with tempfile.TemporaryDirectory(prefix="cnnkit-bench-nb-") as tmp:
        for path in (course_notebooks() if paths is None else [Path(p) for p in paths]):
            copy = Path(tmp) / path.name
            shutil.copy(path, copy)
            try:
                seconds = nbtool.run(copy, quick=(mode == "quick"))
            except Exception as error:  # a broken notebook is a finding, not a reason to stop
                rows.append({"notebook": path.name, "mode": mode, "seconds": None,
                             "error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"})
                log(f"  {path.name} ({mode}): FAILED")
                continue
            rows.append({"notebook": path.name, "mode": mode, "seconds": seconds})
            log(f"  {path.name} ({mode}): {seconds:.1f} s")
    if saved is None:
        os.environ.pop("CNNKIT_QUICK", None)
    else:
        os.environ["CNNKIT_QUICK"] = saved
    return rows
