"""Old import paths that still work for one release, with a ``DeprecationWarning`` saying where to go.

A module whose public names moved sets its module-level ``__getattr__`` (PEP
562) with :func:`moved`; ``from old.module import name`` and ``old.module.name``
then keep working, import the new home only when asked (so no import cycle
appears), and warn once per use site.

Example:
    >>> __getattr__ = moved(__name__, {"Detector": "cnnkit.models.detection"})   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import warnings

REMOVED_IN = "the next release"


def moved(module: str, names: dict[str, str]):
    """A module ``__getattr__`` serving ``names`` (``{old name: "new.module"}`` or ``"new.module:new_name"``)."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        target, _, new_name = names[name].partition(":")
        new_name = new_name or name
        warnings.warn(f"{module}.{name} moved to {target}.{new_name}; the old path will be removed in "
                      f"{REMOVED_IN} of cnnkit.", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(target), new_name)

    return __getattr__
