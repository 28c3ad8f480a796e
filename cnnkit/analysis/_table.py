"""What the receptive-field and summary tables share: rows looked up by layer name, rows as dicts."""

from __future__ import annotations

import dataclasses


class Row:
    """Base of a table row (a dataclass): ``as_dict`` gives its fields."""

    def as_dict(self) -> dict:
        """The row's fields as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class Table:
    """Base of a per-layer table: ``rows`` in execution order, ``table[name]``, ``len``, iteration."""

    rows: list

    def __getitem__(self, name: str):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"No layer named {name!r}. Layers: {', '.join(r.name for r in self.rows)}.")

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def to_rows(self) -> list[dict]:
        """One dict per layer (the row's fields)."""
        return [r.as_dict() for r in self.rows]

    def __repr__(self) -> str:
        return str(self)
