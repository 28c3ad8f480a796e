"""Receptive fields: how large a region of the input each layer's output units see.

For every layer of a functional or ``Sequential`` model (1D, 2D or 3D; nested
models, branches that merge, and custom layers too), :func:`receptive_field`
gives how large a region of the input one output unit sees, how far apart
neighbouring units look (the effective stride) and where the first unit's
region starts.

Definitions
-----------
We follow Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks", Distill 2019, per spatial axis (height, width; time for
video):

* ``size`` *r*: the number of input pixels along the axis that can influence
  one output unit. A layer with kernel *k*, dilation *d* (span
  ``k_eff = d (k - 1) + 1``) on a feature map whose units are *j* input
  pixels apart grows it by ``(k_eff - 1) * j``.
* ``jump`` *j* (effective stride): input pixels between two neighbouring
  output units, the product of the strides so far.
* ``start``: input coordinate of the first pixel in the receptive field of
  output unit 0 (pixel 0 is the first input pixel). It is negative when the
  field reaches into the zero padding; ``-start`` is Araujo et al.'s
  *effective padding*. Unit ``i``'s field covers ``start + i * jump`` to
  ``start + i * jump + size - 1``; its centre is ``start + i * jump + (size - 1) / 2``.

``"same"`` padding follows TensorFlow's rule (the odd pixel goes at the end),
so the start depends on the input size: it is computed from the model's input
shape, or from ``input_shape`` when the model accepts any size (if neither is
known we assume sizes divisible by the stride, and say so in the row's note).

Branches that merge (``Add``, ``Concatenate``, ``Multiply``, ...) take the
union of the branches' fields (from the smallest start to the largest end;
for branches centred alike, as in Araujo et al.'s library, that is the
largest size); their jumps must agree. ``Permute`` of the spatial axes
reorders the field's axes. A branch that has been pooled to a
global summary and is broadcast back over space (the gate of a
squeeze-and-excitation block) is *global context*: it is left out of the
spatial field and the row says so. After global pooling, ``Flatten`` or a
dense layer on flattened features, every unit sees the whole input
(``is_global``); the *final* figures are those of the last spatial feature map.

Layers we do not know
---------------------
Nested models are analysed layer by layer. A custom layer (for example the
blocks in :mod:`cnnkit.layers`) is opened up: its ``call`` is traced on a
symbolic input and the sublayers and ops it uses are analysed like a small
functional model, shortcuts included. If that fails and the layer declares
``receptive_field_path()`` — a list of ``(kernel_size, stride, dilation)``
steps with ``"same"`` padding along its longest path — those steps are used.
Otherwise the layer is treated as transparent when it keeps the spatial size
(or as a window of the size ratio when it shrinks it, or as nearest upsampling
when it grows it), with a warning naming it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import keras

from cnnkit import ops as ref_ops
from cnnkit.analysis._graph import op_window, walk_model
from cnnkit.analysis._layers import (
    ADAPTIVE_POOLS,
    CROPPINGS,
    GLOBAL_POOLS,
    MERGES,
    TRANSPARENT,
    UPSAMPLINGS,
    ZERO_PADDINGS,
    L,
    n_tuple,
    window,
)
from cnnkit.analysis._table import Row, Table


@dataclass(frozen=True)
class _Field:
    size: tuple
    jump: tuple
    start: tuple
    is_global: bool = False


@dataclass
class FieldRow(Row):
    """The receptive field of one layer's output, per spatial axis (see the module docstring).

    Attributes:
        name: layer name (``"outer/inner"`` inside a nested model).
        kind: layer class name.
        output_shape: output shape without the batch axis.
        size: receptive field size per axis, in input pixels (``None`` where unknown).
        jump: effective stride per axis (input pixels between neighbouring output units).
        start: input coordinate where output unit 0's field starts (negative: in the padding).
        is_global: every output unit sees the whole input (after global pooling / flatten).
        note: how the layer was interpreted when it was not plain.
    """

    name: str
    kind: str
    output_shape: tuple
    size: tuple
    jump: tuple
    start: tuple
    is_global: bool = False
    note: str = ""

    @property
    def center(self) -> tuple:
        """Input coordinate of the centre of output unit 0's field, per axis."""
        return tuple(None if r is None else s + (r - 1) / 2 for s, r in zip(self.start, self.size))

    @property
    def effective_padding(self) -> tuple:
        """``-start``: Araujo et al.'s effective padding, per axis."""
        return tuple(-s for s in self.start)


def _fmt_axes(values) -> str:
    def one(v):
        if v is None:
            return "?"
        return f"{v:g}" if isinstance(v, float) else str(v)

    values = tuple(values)
    return one(values[0]) if len(set(values)) == 1 else "x".join(one(v) for v in values)


def _num(x):
    """Keep integral numbers as ints so tables read 212, not 212.0."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


class ReceptiveField(Table):
    """Receptive field of every layer of a model; prints as a table.

    Attributes:
        rows: one :class:`FieldRow` per layer, in execution order.
        final: the row of the last spatial feature map (the one a head pools or flattens).
        warnings: how layers we did not know were interpreted.

    ``rf["block5_pool"]`` returns a layer's row; ``rf.size``, ``rf.jump`` and
    ``rf.start`` are the final figures; ``rf.to_rows()`` gives plain dicts.
    """

    def __init__(self, rows: list[FieldRow], input_shape: tuple, warnings_: list[str]):
        self.rows = rows
        self.input_shape = input_shape
        self.warnings = warnings_
        spatial = [r for r in rows if not r.is_global]
        self.final = spatial[-1] if spatial else rows[-1]

    @property
    def size(self) -> tuple:
        return self.final.size

    @property
    def jump(self) -> tuple:
        return self.final.jump

    @property
    def start(self) -> tuple:
        return self.final.start

    def to_string(self, only_changes: bool = False) -> str:
        """The table as text; ``only_changes`` keeps the rows where the field or stride changes."""
        header = ("layer", "kind", "output shape", "field", "jump", "start", "")
        lines, previous = [], None
        for r in self.rows:
            key = (r.size, r.jump, r.start, r.is_global)
            if only_changes and key == previous:
                continue
            previous = key
            field_ = "global" if r.is_global else _fmt_axes(r.size)
            lines.append((r.name, r.kind, str(r.output_shape), field_, "" if r.is_global else _fmt_axes(r.jump),
                          "" if r.is_global else _fmt_axes(r.start), r.note))
        widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [fmt.format(*header).rstrip(), "  ".join("-" * w for w in widths[:-1])]
        out += [fmt.format(*line).rstrip() for line in lines]
        f = self.final
        out.append(f"final ({f.name}): receptive field {_fmt_axes(f.size)}, jump {_fmt_axes(f.jump)}, "
                   f"start {_fmt_axes(f.start)} (input {self.input_shape})")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_string()


def receptive_field(model, input_shape=None) -> ReceptiveField:
    """Receptive field size, effective stride (jump) and start offset of every layer of a model.

    Args:
        model: a functional or ``Sequential`` Keras model (1D, 2D or 3D; nested models,
            merging branches and custom layers are handled as the module docstring says).
        input_shape: shape of one input without the batch axis, e.g. ``(224, 224, 3)``;
            needed for exact ``start`` values of ``"same"`` padding when the model accepts any size.

    Returns:
        A :class:`ReceptiveField`: ``print`` it for the table; ``.final`` (or ``.size``,
        ``.jump``, ``.start``) are the figures of the last spatial feature map.

    Example:
        >>> model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3),
        ...                           keras.layers.MaxPooling2D(), keras.layers.Conv2D(8, 3)])
        >>> receptive_field(model).size
        (8, 8)
    """
    walker, inputs, input_keys = walk_model(model, input_shape)
    image_format = _data_format(walker.calls)
    n_axes = len(inputs[0].shape) - 2
    if n_axes < 1:
        raise ValueError(f"The model input {tuple(inputs[0].shape)} has no spatial axes: "
                         "receptive fields need images, sequences or volumes.")
    input_size = _spatial(inputs[0].shape, image_format)
    state: dict[int, _Field] = {}
    for k in input_keys:
        state[k] = _Field((1,) * n_axes, (1,) * n_axes, (0,) * n_axes)
    messages: list[str] = []
    rows: list[FieldRow] = []
    for call in walker.calls:
        if call.expanded:
            result = state[call.inner_out_keys[0]]
            note = "custom layer, traced"
        else:
            result, note = _propagate(call, state, n_axes, input_size, image_format, messages)
        for k in call.out_keys:
            state[k] = result
        if not call.hidden and not isinstance(call.op, L.InputLayer):
            rows.append(FieldRow(call.name, type(call.op).__name__, tuple(call.outputs[0].shape[1:]),
                                 tuple(_num(v) for v in result.size), tuple(_num(v) for v in result.jump),
                                 tuple(_num(v) for v in result.start), result.is_global, note))
    if not rows:
        raise ValueError("The model has no layers to analyse.")
    for message in dict.fromkeys(messages):
        warnings.warn(message, stacklevel=2)
    return ReceptiveField(rows, tuple(inputs[0].shape[1:]), list(dict.fromkeys(messages)))


def _data_format(calls) -> str:
    formats = {getattr(c.op, "data_format", None) for c in calls}
    return "channels_first" if "channels_first" in formats else "channels_last"


def _spatial(shape, image_format: str) -> tuple:
    shape = tuple(shape)
    return shape[2:] if image_format == "channels_first" else shape[1:-1]


def _global(input_size) -> _Field:
    n = len(input_size)
    return _Field(tuple(input_size), (None,) * n, (0,) * n, is_global=True)


def _propagate(call, state, n_axes, input_size, image_format, messages) -> tuple[_Field, str]:
    """The field of a call's output from the fields of its inputs."""
    op = call.op
    fields = [state[k] for k in call.in_keys if k in state]
    if not fields:
        return _global(input_size), ""
    spatial_in = [f for f in fields if not f.is_global]
    if not spatial_in:
        return _global(input_size), ""
    note = ""
    if len(spatial_in) < len(fields):
        note = "global context merged in"
    field_ = _merge(spatial_in) if len(spatial_in) > 1 else spatial_in[0]
    if len(spatial_in) > 1 and len({f.jump for f in spatial_in}) > 1:
        note = "branches with different strides merged (largest used)"

    in_spec = call.inputs[0]
    out_spec = call.outputs[0]
    in_size = _spatial(in_spec.shape, image_format) if len(in_spec.shape) == n_axes + 2 else None
    out_rank_ok = len(out_spec.shape) == n_axes + 2

    layer = op.layer if isinstance(op, L.TimeDistributed) else op
    lead = 1 if isinstance(op, L.TimeDistributed) else 0  # TimeDistributed leaves the first axis alone

    sliding = window(layer) or op_window(call)
    if sliding is not None:
        kernel, strides, dilation, padding, _ = sliding
        return _apply_window(field_, kernel, strides, dilation, padding, in_size, lead), note
    if isinstance(layer, GLOBAL_POOLS) or isinstance(layer, L.Flatten):
        return _global(input_size), ""
    if isinstance(layer, ZERO_PADDINGS + CROPPINGS):
        pads = layer.padding if isinstance(layer, ZERO_PADDINGS) else layer.cropping
        pads = [p if isinstance(p, (tuple, list)) else (p, p) for p in n_tuple(pads, 1)]
        sign = -1 if isinstance(layer, ZERO_PADDINGS) else 1
        start = list(field_.start)
        for axis, (before, _) in enumerate(pads):
            i = axis + lead
            start[i] = start[i] + sign * before * field_.jump[i]
        return _Field(field_.size, field_.jump, tuple(start)), note
    if isinstance(layer, L.Permute) and image_format == "channels_last" and out_rank_ok \
            and tuple(layer.dims)[-1] == n_axes + 1:
        # Spatial axes reordered, channels left last: the field's axes are reordered the same way.
        order = [d - 1 for d in tuple(layer.dims)[:-1]]
        return _Field(*(tuple(getattr(field_, a)[i] for i in order) for a in ("size", "jump", "start"))), note
    if isinstance(layer, UPSAMPLINGS):
        factors = n_tuple(layer.size, len(field_.size) - lead)
        jump = list(field_.jump)
        for axis, f in enumerate(factors):
            jump[axis + lead] = jump[axis + lead] / f
        extra = "" if getattr(layer, "interpolation", "nearest") == "nearest" else "interpolation ignored (as nearest)"
        return _Field(field_.size, tuple(jump), field_.start), extra or note
    if isinstance(layer, ADAPTIVE_POOLS):
        return _apply_adaptive(field_, layer, in_size, lead)
    if isinstance(layer, TRANSPARENT) or isinstance(layer, MERGES):
        if out_rank_ok:
            return field_, note
        return _global(input_size), ""
    if not isinstance(op, keras.layers.Layer):  # a keras.ops call (add, relu, mean, ...)
        return _fallback(call, field_, in_size, n_axes, image_format, input_size, messages, quiet=True, note=note)
    path = getattr(op, "receptive_field_path", None)
    if callable(path):
        return _apply_path(field_, path(), in_size), "receptive_field_path()"
    return _fallback(call, field_, in_size, n_axes, image_format, input_size, messages, quiet=False, note=note)


def _merge(fields) -> _Field:
    """The union of the branches' fields: from the earliest start to the latest end, per axis.

    Branches that are not centred alike (``x[1:] - x[:-1]``, made with two
    croppings, looks at frames ``t + 1`` and ``t``) cover more together than
    either one alone.
    """
    n = len(fields[0].size)
    start = tuple(min(f.start[i] for f in fields) for i in range(n))
    size = tuple(max(f.start[i] + f.size[i] for f in fields) - start[i] for i in range(n))
    jump = tuple(max(f.jump[i] for f in fields) for i in range(n))
    return _Field(size, jump, start)


def _apply_window(field_, kernel, strides, dilation, padding, in_size, lead=0) -> _Field:
    size, jump, start = list(field_.size), list(field_.jump), list(field_.start)
    for axis, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
        i = axis + lead
        span = (k - 1) * d + 1
        n = None if in_size is None else in_size[i]
        before = _pad_before(padding, n, k, s, d)
        size[i] = size[i] + (span - 1) * jump[i]
        start[i] = start[i] - before * jump[i]
        jump[i] = jump[i] * s
    return _Field(tuple(size), tuple(jump), tuple(start))


def _pad_before(padding: str, n, k: int, s: int, d: int) -> int:
    span = (k - 1) * d + 1
    if padding == "valid":
        return 0
    if padding == "causal":
        return span - 1
    if n is None:  # unknown size: assume it is divisible by the stride
        return max(span - s, 0) // 2
    return ref_ops.padding_amounts(int(n), k, s, "same", d)[0]


def _apply_path(field_, steps, in_size) -> _Field:
    """Apply ``receptive_field_path()`` steps, each ``(kernel, stride, dilation)`` with "same" padding."""
    n_axes = len(field_.size)
    size = None if in_size is None else list(in_size)
    for kernel, stride, dilation in steps:
        k, s, d = n_tuple(kernel, n_axes), n_tuple(stride, n_axes), n_tuple(dilation, n_axes)
        field_ = _apply_window(field_, k, s, d, "same", size)
        if size is not None:
            size = [None if n is None else math.ceil(n / si) for n, si in zip(size, s)]
    return field_


def _apply_adaptive(field_, layer, in_size, lead) -> tuple[_Field, str]:
    out = n_tuple(layer.output_size, len(field_.size) - lead)
    kernel, strides, note = [], [], ""
    for axis, m in enumerate(out):
        n = in_size[axis + lead]
        if n % m == 0:
            kernel.append(n // m)
            strides.append(n // m)
        else:  # PyTorch/Keras bins: floor(i n / m) .. ceil((i + 1) n / m); they differ in size
            widths = [math.ceil((i + 1) * n / m) - math.floor(i * n / m) for i in range(m)]
            kernel.append(max(widths))
            strides.append(n / m)
            note = "unequal bins: largest bin used"
    ones = (1,) * len(out)
    return _apply_window(field_, tuple(kernel), tuple(strides), ones, "valid", in_size, lead), note


def _fallback(call, field_, in_size, n_axes, image_format, input_size, messages, quiet, note) -> tuple[_Field, str]:
    """Interpret a layer we do not know from the change of spatial size; warn unless it is a plain op."""
    out_spec = call.outputs[0]
    kind = type(call.op).__name__
    if len(out_spec.shape) != n_axes + 2 or in_size is None:
        if not quiet:
            messages.append(f"receptive_field: {kind} layer {call.name!r} changes the tensor's layout; "
                            "treated as making the field global.")
        return _global(input_size), "layout changed: treated as global"
    out_size = _spatial(out_spec.shape, image_format)
    if all(n == 1 for n in out_size) and any(n is None or n > 1 for n in in_size):
        if not quiet:
            messages.append(f"receptive_field: unknown {kind} {call.name!r} reduces every spatial axis to 1; "
                            "treated as global pooling.")
        return _global(input_size), "reduces over space: global"
    if tuple(out_size) == tuple(in_size):
        if not quiet:
            messages.append(f"receptive_field: unknown layer {kind} {call.name!r} keeps the spatial size; "
                            "treated as transparent (kernel 1, stride 1).")
        return field_, note if quiet else "unknown: treated as transparent"
    ratios = [None if (a is None or b is None) else a / b for a, b in zip(in_size, out_size)]
    if all(r is not None and r >= 1 and float(r).is_integer() for r in ratios):
        k = tuple(int(r) for r in ratios)
        messages.append(f"receptive_field: unknown {kind} {call.name!r} shrinks the size by {k}; treated as a "
                        "window of that size and stride.")
        return _apply_window(field_, k, k, (1,) * n_axes, "valid", in_size), "unknown: treated as pooling"
    if all(r is not None and r < 1 and float(1 / r).is_integer() for r in ratios):
        up = [int(1 / r) for r in ratios]
        messages.append(f"receptive_field: unknown {kind} {call.name!r} grows the size by {tuple(up)}; treated "
                        "as nearest upsampling.")
        return _Field(field_.size, tuple(j / u for j, u in zip(field_.jump, up)), field_.start), \
            "unknown: treated as upsampling"
    messages.append(f"receptive_field: unknown {kind} {call.name!r} changes the size from {in_size} to "
                    f"{out_size}; treated as making the field global.")
    return _global(input_size), "unknown: treated as global"
