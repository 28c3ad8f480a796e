"""Parameters and multiply-accumulates (MACs) of every layer of a model, with totals.

MACs count multiply-accumulates of convolution (normal, depthwise, separable,
transposed) and dense layers for one sample; bias additions, normalization,
activations and pooling are not counted (FLOPs are roughly ``2 * MACs``).
Nested models are listed layer by layer; a custom layer is one row whose MACs
are those of the layers and ops it calls (its ``call`` is traced, as for
:func:`cnnkit.analysis.receptive_field`); when it cannot be traced its MACs are
unknown and the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from cnnkit.analysis._graph import is_keras_op, op_kernel_shape, walk_model
from cnnkit.analysis._layers import CONVS, DEPTHWISE, NO_MACS, SEPARABLE, TRANSPOSED, L
from cnnkit.analysis._table import Row, Table


@dataclass
class SummaryRow(Row):
    """One layer of :func:`summary_table`: output shape, parameters, multiply-accumulates."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    trainable_params: int
    macs: int | None  # None when unknown (a custom layer we could not see into, or unknown sizes)


class SummaryTable(Table):
    """Output shape, parameters and MACs per layer, with totals; prints as a table.

    Attributes:
        rows: one :class:`SummaryRow` per layer.
        params, trainable_params: totals (``params`` equals ``model.count_params()``).
        macs: total multiply-accumulates for one sample (``flops`` is ``2 * macs``).
        unknown: names of the layers whose MACs could not be counted.
    """

    def __init__(self, rows: list[SummaryRow], input_shape: tuple):
        self.rows = rows
        self.input_shape = input_shape
        self.params = sum(r.params for r in rows)
        self.trainable_params = sum(r.trainable_params for r in rows)
        self.macs = sum(r.macs or 0 for r in rows)
        self.unknown = [r.name for r in rows if r.macs is None]

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply-accumulate as two."""
        return 2 * self.macs

    def __str__(self) -> str:
        header = ("layer", "kind", "output shape", "params", "MACs")
        lines = [(r.name, r.kind, str(r.output_shape), f"{r.params:,}", "?" if r.macs is None else f"{r.macs:,}")
                 for r in self.rows]
        widths = [max(len(x) for x in col) for col in zip(header, *lines)]
        a, b, c, d, e = widths
        fmt = f"{{:<{a}}}  {{:<{b}}}  {{:<{c}}}  {{:>{d}}}  {{:>{e}}}"
        out = [fmt.format(*header), "  ".join("-" * w for w in widths)]
        out += [fmt.format(*line) for line in lines]
        out.append(f"total: {self.params:,} parameters ({self.trainable_params:,} trainable), "
                   f"{self.macs:,} MACs per sample ({_human(self.macs)}) for input {self.input_shape}"
                   + (f"; MACs unknown for {', '.join(self.unknown)}" if self.unknown else ""))
        return "\n".join(out)


def _human(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


def summary_table(model, input_shape=None) -> SummaryTable:
    """Output shape, parameters and multiply-accumulates (MACs) of every layer, with totals.

    Args:
        model: a functional or ``Sequential`` Keras model (nested models are listed layer by
            layer; a custom layer is one row whose MACs are those of the layers it calls).
        input_shape: shape of one input without the batch axis, e.g. ``(224, 224, 3)``;
            required when the model accepts any size (MACs depend on it).

    Returns:
        A :class:`SummaryTable`; ``print`` it, or read ``.params``, ``.macs``, ``.rows``.

    Example:
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3)])
        >>> table = summary_table(model)
        >>> table.params, table.macs      # 4 * (9 + 1) parameters; 6 * 6 * 4 * 9 MACs
        (40, 1296)
    """
    walker, inputs, _ = walk_model(model, input_shape)
    macs_by_row: dict[str, int | None] = {}
    for call in walker.calls:
        if call.expanded:
            continue  # its inner calls carry the MACs
        macs = _macs(call)
        if call.row in macs_by_row and macs_by_row[call.row] is None:
            continue
        macs_by_row[call.row] = None if macs is None else macs_by_row.get(call.row, 0) + macs
    rows, counted = [], set()
    for call in walker.calls:
        if call.hidden or isinstance(call.op, L.InputLayer):
            continue
        op = call.op
        params = trainable = 0
        if isinstance(op, keras.layers.Layer) and id(op) not in counted:
            counted.add(id(op))
            params = int(sum(np.prod(w.shape) for w in op.weights))
            trainable = int(sum(np.prod(w.shape) for w in op.trainable_weights))
        rows.append(SummaryRow(call.name, type(op).__name__, tuple(call.outputs[0].shape[1:]), params, trainable,
                               macs_by_row.get(call.row, 0)))
    return SummaryTable(rows, tuple(inputs[0].shape[1:]))


def _positions(shape, channels_first: bool) -> int | None:
    dims = tuple(shape[2:]) if channels_first else tuple(shape[1:-1])
    if any(d is None for d in dims):
        return None
    return int(np.prod(dims)) if dims else 1


def _macs(call) -> int | None:
    """Multiply-accumulates of one call for one sample (0 for layers without any)."""
    op = call.op
    layer = op.layer if isinstance(op, L.TimeDistributed) else op
    in_shape, out_shape = tuple(call.inputs[0].shape), tuple(call.outputs[0].shape)
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    in_channels = in_shape[1] if first else in_shape[-1]
    extra = 1
    if isinstance(op, L.TimeDistributed):  # the wrapped layer runs once per time step
        extra = in_shape[1] or 0
        in_shape, out_shape = (in_shape[0], *in_shape[2:]), (out_shape[0], *out_shape[2:])
    kernel = int(np.prod(getattr(layer, "kernel_size", (1,))))
    if isinstance(layer, SEPARABLE):
        positions = _positions(out_shape, first)
        if positions is None:
            return None
        depth = positions * kernel * in_channels * layer.depth_multiplier
        return extra * (depth + positions * in_channels * layer.depth_multiplier * layer.filters)
    if isinstance(layer, DEPTHWISE):
        positions = _positions(out_shape, first)
        return None if positions is None else extra * positions * kernel * in_channels * layer.depth_multiplier
    if isinstance(layer, TRANSPOSED):
        positions = _positions(in_shape, first)
        return None if positions is None else extra * positions * kernel * in_channels * layer.filters
    if isinstance(layer, CONVS):
        positions = _positions(out_shape, first)
        return None if positions is None else extra * positions * kernel * (in_channels // layer.groups) * layer.filters
    if isinstance(layer, L.Dense):
        leading = in_shape[1:-1]
        if any(d is None for d in leading):
            return None
        return extra * int(np.prod(leading)) * in_shape[-1] * layer.units if leading else extra * in_shape[-1] * layer.units
    if is_keras_op(op, ("Conv",)):
        shape, positions = op_kernel_shape(call), _positions(out_shape, first)
        return None if shape is None or positions is None else positions * int(np.prod(shape[:-1])) * shape[-1]
    if is_keras_op(op, ("DepthwiseConv",)):
        shape, positions = op_kernel_shape(call), _positions(out_shape, first)
        return None if shape is None or positions is None else positions * int(np.prod(shape))
    if isinstance(layer, L.EinsumDense):
        return _einsum_macs(layer, in_shape, out_shape, extra)
    if isinstance(layer, keras.layers.Layer) and layer.weights and not isinstance(layer, NO_MACS):
        return None  # a layer with weights whose arithmetic we do not know (e.g. attention, recurrent)
    return 0


def _einsum_macs(layer, in_shape, out_shape, extra) -> int | None:
    """EinsumDense: every output element sums over the letters contracted away."""
    lhs, rest = layer.equation.split(",")
    rhs, out = rest.split("->")
    if "." in layer.equation:
        return None  # ellipsis equations: not worth the parsing here
    sizes = dict(zip(lhs[1:], in_shape[1:]))  # letter 0 is the batch axis
    sizes.update(zip(rhs, layer.kernel.shape))
    for letter, dim in zip(out[1:], out_shape[1:]):
        sizes[letter] = sizes.get(letter) or dim
    needed = [sizes.get(c) for c in out[1:]] + [sizes.get(c) for c in set(lhs) & set(rhs) if c not in out]
    if any(d is None for d in needed):
        return None
    return extra * int(np.prod(needed))
