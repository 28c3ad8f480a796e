"""Look inside a Keras model: receptive fields, parameters and multiply-accumulates per layer, feature maps, Grad-CAM.

Two tables describe any functional or ``Sequential`` model built from
convolution, pooling and dense layers (1D, 2D or 3D; nested models, branches
that merge, and custom layers too):

* :func:`receptive_field` — for every layer, how large a region of the input
  one of its output units sees, how far apart neighbouring units look (the
  effective stride) and where the first unit's region starts;
* :func:`summary_table` — for every layer, its output shape, parameters and
  multiply-accumulates (MACs), with totals.

Two functions look at what a trained model computes on an image:
:func:`feature_maps` (the activations of a layer) and :func:`grad_cam`
(which pixels a class score depends on).

Receptive-field definitions
---------------------------
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
largest size and the smallest start over the branches, as Araujo et al.'s
library does; their jumps must agree. A branch that has been pooled to a
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
when it grows it), with a warning naming it, and its MACs are counted as
unknown.

MACs count multiply-accumulates of convolution (normal, depthwise, separable,
transposed) and dense layers for one sample; bias additions, normalization,
activations and pooling are not counted (FLOPs are roughly ``2 * MACs``).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np

from cnnkit import ops as ref_ops

# ---------------------------------------------------------------- which layers are which

L = keras.layers

CONVS = (L.Conv1D, L.Conv2D, L.Conv3D)
DEPTHWISE = (L.DepthwiseConv1D, L.DepthwiseConv2D)
SEPARABLE = (L.SeparableConv1D, L.SeparableConv2D)
TRANSPOSED = (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)
POOLS = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D,
         L.AveragePooling3D)
ADAPTIVE_POOLS = (L.AdaptiveAveragePooling1D, L.AdaptiveAveragePooling2D, L.AdaptiveAveragePooling3D,
                  L.AdaptiveMaxPooling1D, L.AdaptiveMaxPooling2D, L.AdaptiveMaxPooling3D)
GLOBAL_POOLS = (L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D,
                L.GlobalMaxPooling1D, L.GlobalMaxPooling2D, L.GlobalMaxPooling3D)
ZERO_PADDINGS = (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)
CROPPINGS = (L.Cropping1D, L.Cropping2D, L.Cropping3D)
UPSAMPLINGS = (L.UpSampling1D, L.UpSampling2D, L.UpSampling3D)
# Layers that work pixel by pixel (or are the identity at inference): they pass the field through.
TRANSPARENT = (
    L.InputLayer, L.BatchNormalization, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
    L.Activation, L.ReLU, L.LeakyReLU, L.PReLU, L.ELU, L.Softmax, L.Dropout, L.SpatialDropout1D,
    L.SpatialDropout2D, L.SpatialDropout3D, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout,
    L.ActivityRegularization, L.Identity, L.Rescaling, L.Normalization, L.Masking, L.Dense,
    L.RandomFlip, L.RandomTranslation, L.RandomRotation, L.RandomZoom, L.RandomContrast,
    L.RandomBrightness,
)
# Layers with weights but no multiply-accumulates worth counting (normalization, lookups).
NO_MACS = (L.BatchNormalization, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
           L.Normalization, L.PReLU, L.Embedding)
# Layers that merge several inputs of the same spatial size.
MERGES = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum, L.Concatenate)


def _tuple(value, rank: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def _window(layer):
    """``(kernel, strides, dilation, padding, rank)`` of a sliding-window layer, or ``None``."""
    if isinstance(layer, CONVS + DEPTHWISE + SEPARABLE):
        rank = len(layer.kernel_size)
        return (tuple(layer.kernel_size), _tuple(layer.strides, rank), _tuple(layer.dilation_rate, rank),
                layer.padding, rank)
    if isinstance(layer, POOLS):
        rank = len(layer.pool_size)
        return tuple(layer.pool_size), _tuple(layer.strides, rank), (1,) * rank, layer.padding, rank
    return None


OP_CONVS = ("Conv", "DepthwiseConv", "SeparableConv")
OP_POOLS = ("MaxPool", "AveragePool")


def _is_keras_op(op, names) -> bool:
    """A ``keras.ops`` operation (not a layer) of one of the given class names."""
    return (not isinstance(op, keras.layers.Layer) and type(op).__name__ in names
            and type(op).__module__.startswith("keras."))


def _op_kernel_shape(call) -> tuple | None:
    """Kernel shape of a ``keras.ops.conv``-style call: its second argument."""
    args = getattr(call.node, "arguments", None)
    if args is None or len(args.args) < 2:
        return None
    return tuple(args.args[1].shape)


def _op_window(call):
    """``(kernel, strides, dilation, padding, rank)`` of a ``keras.ops`` convolution or pooling call."""
    op = call.op
    if _is_keras_op(op, OP_CONVS):
        shape = _op_kernel_shape(call)
        if shape is None:
            return None
        rank = len(shape) - 2
        return (shape[:rank], _tuple(op.strides, rank), _tuple(op.dilation_rate, rank), op.padding, rank)
    if _is_keras_op(op, OP_POOLS):
        rank = len(call.inputs[0].shape) - 2
        pool = _tuple(op.pool_size, rank)
        return pool, _tuple(op.strides or op.pool_size, rank), (1,) * rank, op.padding, rank
    return None


def _is_model(op) -> bool:
    return isinstance(op, keras.Model) and (
        isinstance(op, keras.Sequential) or hasattr(op, "_nodes_by_depth"))


def _graph_of(model):
    """The functional graph of a functional or Sequential model."""
    if isinstance(model, keras.Sequential):
        graph = getattr(model, "_functional", None)
        if graph is None:
            raise ValueError(
                f"Sequential model {model.name!r} has no known input shape yet; start it with "
                "keras.Input(shape=...) or call model.build(input_shape) first."
            )
        return graph
    if hasattr(model, "_nodes_by_depth"):
        return model
    raise ValueError(
        f"Expected a functional or Sequential keras.Model; received {type(model).__name__}, a subclassed "
        "model, which has no graph of layers to read. Build it with the functional API, or wrap its layers "
        "in keras.Sequential."
    )


# ---------------------------------------------------------------- walking the graph


@dataclass
class _Call:
    """One call of a layer or op in the graph, with the symbolic shapes it saw."""

    name: str
    op: object
    inputs: list
    outputs: list
    in_keys: list
    out_keys: list
    row: str  # the table row this call belongs to
    hidden: bool = False  # inside an opened-up custom layer (reported on that layer's row)
    expanded: bool = False  # a custom layer whose inside was traced
    inner_out_keys: list = field(default_factory=list)
    node: object = None  # the graph node (its arguments hold the kernels of keras.ops convolutions)


class _TensorKeys:
    """Small-integer keys for symbolic tensors, by identity; several tensors may share one key.

    It holds every tensor it has keyed, so no ``id()`` it relies on can be recycled while it lives.
    Keying by bare ``id()`` was the cause of non-repeatable receptive fields: a custom layer that
    returns its input unchanged (``StochasticDepth`` at inference) is traced into a graph whose only
    tensor is a fresh ``keras.Input``, which nothing references once the trace returns; when the
    garbage collector freed it, a tensor made later by the trace of another layer could get the same
    ``id()`` and inherit its alias, i.e. the field of an earlier layer.
    """

    def __init__(self):
        self._keys: dict[int, tuple[object, int]] = {}  # id(tensor) -> (tensor, key)
        self._count = 0

    def key(self, tensor) -> int:
        """The key of ``tensor`` (a new one the first time it is seen)."""
        entry = self._keys.get(id(tensor))
        if entry is None:
            entry = self._keys[id(tensor)] = (tensor, self._count)
            self._count += 1
        return entry[1]

    def bind(self, tensor, key: int) -> None:
        """Make ``tensor`` stand for the tensor whose key is ``key`` (a traced or nested input or output)."""
        self._keys[id(tensor)] = (tensor, key)


class _Walker:
    """Walks a model's graph in execution order, opening nested models and custom layers."""

    def __init__(self):
        self.calls: list[_Call] = []
        self.specs: dict[int, object] = {}
        self.keys = _TensorKeys()

    def key(self, tensor) -> int:
        return self.keys.key(tensor)

    def walk(self, graph, in_keys, prefix: str = "", row: str | None = None) -> list[int]:
        for tensor, k in zip(graph.inputs, in_keys):
            self.keys.bind(tensor, k)
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                if node.is_input or node.operation is None:
                    continue
                keys = [self.key(t) for t in node.input_tensors]
                if any(k not in self.specs for k in keys):
                    continue  # not reachable from the inputs (Keras skips these too)
                self._visit(node, keys, prefix, row)
        return [self.key(t) for t in graph.outputs]

    def _visit(self, node, keys, prefix, row):
        op = node.operation
        name = prefix + op.name
        inputs = [self.specs[k] for k in keys]
        if _is_model(op):
            out_keys = self.walk(_graph_of(op), keys, prefix=name + "/", row=row)
            for tensor, k in zip(node.output_tensors, out_keys):
                self.keys.bind(tensor, k)
            return
        outputs = self._output_specs(node, op, inputs)
        out_keys = [self.key(t) for t in node.output_tensors]
        for k, spec in zip(out_keys, outputs):
            self.specs[k] = spec
        call = _Call(name, op, inputs, outputs, keys, out_keys, row=row or name, hidden=row is not None, node=node)
        if isinstance(op, keras.layers.Layer) and _is_custom(op):
            inner = self._trace_custom(op, inputs, keys, name, call.row)
            if inner is not None:
                call.expanded, call.inner_out_keys = True, inner
        self.calls.append(call)

    def _output_specs(self, node, op, inputs):
        originals = node.input_tensors
        if all(tuple(a.shape) == tuple(b.shape) for a, b in zip(inputs, originals)):
            return list(node.output_tensors)
        args, kwargs = node.arguments.fill_in({id(t): s for t, s in zip(originals, inputs)})
        return list(keras.tree.flatten(op.compute_output_spec(*args, **kwargs)))

    def _trace_custom(self, layer, inputs, keys, name, row):
        """Trace a custom layer's ``call`` on symbolic inputs and walk the graph it builds."""
        with _trace_nodes_removed(layer):
            try:
                fresh = [keras.KerasTensor(tuple(s.shape), dtype=s.dtype) for s in inputs]  # no InputLayer: 37% faster
                out = keras.tree.flatten(layer.call(*fresh) if len(fresh) > 1 else layer.call(fresh[0]))
                passed = [next((k for f, k in zip(fresh, keys) if f is o), None) for o in out]
                if None not in passed:  # it returns its inputs unchanged (StochasticDepth at inference)
                    return passed
                graph = keras.Function(fresh, out)
            except Exception:  # noqa: BLE001 - any failure means "cannot see inside"; we fall back
                return None
            saved = len(self.calls)
            try:  # the traced inputs stand for the layer's real inputs: alias them to the same keys
                return self.walk(graph, keys, prefix=name + "/", row=row)
            except Exception:  # noqa: BLE001
                del self.calls[saved:]
                return None


@contextlib.contextmanager
def _trace_nodes_removed(layer):
    """Remove, on leaving, the graph nodes a symbolic trace adds to ``layer``'s sublayers.

    Calling a sublayer on a ``KerasTensor`` appends a node to its ``_inbound_nodes`` (and to its
    inputs' producers' ``_outbound_nodes``); without this every analysis call would leave one more
    node, and the traced graph it holds, on every traced sublayer of the model.
    """
    layers = layer._flatten_layers(include_self=True, recursive=True)
    sizes = [(sub, len(sub._inbound_nodes), len(sub._outbound_nodes)) for sub in layers]
    try:
        yield
    finally:
        for sub, n_in, n_out in sizes:
            del sub._inbound_nodes[n_in:]
            del sub._outbound_nodes[n_out:]


def _is_custom(layer) -> bool:
    """A layer whose class is not one of Keras's own (so its inside is unknown to us)."""
    return not type(layer).__module__.startswith("keras.")


def _walk_model(model, input_shape=None) -> tuple[_Walker, list, list]:
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model; received {type(model).__name__}.")
    graph = _graph_of(model)
    walker = _Walker()
    shapes = _input_shapes(graph, input_shape)
    keys = [walker.key(t) for t in graph.inputs]
    for k, tensor, shape in zip(keys, graph.inputs, shapes):
        walker.specs[k] = keras.KerasTensor((None, *shape), dtype=tensor.dtype)
    walker.walk(graph, keys)
    return walker, [walker.specs[k] for k in keys], keys


def _input_shapes(graph, input_shape) -> list[tuple]:
    own = [tuple(t.shape[1:]) for t in graph.inputs]
    if input_shape is None:
        return own
    given = [tuple(input_shape)] if np.isscalar(input_shape[0]) or input_shape[0] is None else [
        tuple(s) for s in input_shape]
    if len(given) != len(own) or any(len(g) != len(o) for g, o in zip(given, own)):
        raise ValueError(
            f"input_shape must give one shape (without the batch axis) per model input, of the same rank: "
            f"expected {len(own)} shape(s) like {own}; received {input_shape!r}."
        )
    for g, o in zip(given, own):
        if any(a is not None and b is not None and a != b for a, b in zip(g, o)):
            raise ValueError(f"input_shape {g} conflicts with the model's fixed input shape {o}.")
    return given


# ---------------------------------------------------------------- receptive fields


@dataclass(frozen=True)
class _Field:
    size: tuple
    jump: tuple
    start: tuple
    is_global: bool = False


@dataclass
class FieldRow:
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

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "output_shape": self.output_shape, "size": self.size,
                "jump": self.jump, "start": self.start, "is_global": self.is_global, "note": self.note}


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


class ReceptiveField:
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

    def __getitem__(self, name: str) -> FieldRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"No layer named {name!r}. Layers: {', '.join(r.name for r in self.rows)}.")

    def to_rows(self) -> list[dict]:
        """One dict per layer (name, kind, output_shape, size, jump, start, is_global, note)."""
        return [r.as_dict() for r in self.rows]

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

    __repr__ = __str__


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
    walker, inputs, input_keys = _walk_model(model, input_shape)
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

    window = _window(layer) or _op_window(call)
    if window is not None:
        kernel, strides, dilation, padding, rank = window
        return _apply_window(field_, kernel, strides, dilation, padding, in_size, lead), note
    if isinstance(layer, GLOBAL_POOLS) or isinstance(layer, L.Flatten):
        return _global(input_size), ""
    if isinstance(layer, ZERO_PADDINGS + CROPPINGS):
        pads = layer.padding if isinstance(layer, ZERO_PADDINGS) else layer.cropping
        pads = [p if isinstance(p, (tuple, list)) else (p, p) for p in _tuple(pads, 1)]
        sign = -1 if isinstance(layer, ZERO_PADDINGS) else 1
        start = list(field_.start)
        for axis, (before, _) in enumerate(pads):
            i = axis + lead
            start[i] = start[i] + sign * before * field_.jump[i]
        return _Field(field_.size, field_.jump, tuple(start)), note
    if isinstance(layer, UPSAMPLINGS):
        factors = _tuple(layer.size, len(field_.size) - lead)
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
    n = len(fields[0].size)
    size = tuple(max(f.size[i] for f in fields) for i in range(n))
    start = tuple(min(f.start[i] for f in fields) for i in range(n))
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
        k, s, d = _tuple(kernel, n_axes), _tuple(stride, n_axes), _tuple(dilation, n_axes)
        field_ = _apply_window(field_, k, s, d, "same", size)
        if size is not None:
            size = [None if n is None else math.ceil(n / si) for n, si in zip(size, s)]
    return field_


def _apply_adaptive(field_, layer, in_size, lead) -> tuple[_Field, str]:
    out = _tuple(layer.output_size, len(field_.size) - lead)
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


# ---------------------------------------------------------------- parameters and MACs


@dataclass
class SummaryRow:
    """One layer of :func:`summary_table`: output shape, parameters, multiply-accumulates."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    trainable_params: int
    macs: int | None  # None when unknown (a custom layer we could not see into, or unknown sizes)

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "output_shape": self.output_shape, "params": self.params,
                "trainable_params": self.trainable_params, "macs": self.macs}


class SummaryTable:
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

    def __getitem__(self, name: str) -> SummaryRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"No layer named {name!r}. Layers: {', '.join(r.name for r in self.rows)}.")

    def to_rows(self) -> list[dict]:
        """One dict per layer (name, kind, output_shape, params, trainable_params, macs)."""
        return [r.as_dict() for r in self.rows]

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

    __repr__ = __str__


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
    walker, inputs, _ = _walk_model(model, input_shape)
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
    if _is_keras_op(op, ("Conv",)):
        shape, positions = _op_kernel_shape(call), _positions(out_shape, first)
        return None if shape is None or positions is None else positions * int(np.prod(shape[:-1])) * shape[-1]
    if _is_keras_op(op, ("DepthwiseConv",)):
        shape, positions = _op_kernel_shape(call), _positions(out_shape, first)
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


# ---------------------------------------------------------------- what a model computes on an image


def _find_layer(model, layer):
    if isinstance(layer, keras.layers.Layer):
        return layer
    try:
        return model.get_layer(layer)
    except ValueError:
        names = ", ".join(lay.name for lay in model.layers)
        raise ValueError(f"No layer named {layer!r} in model {model.name!r}. Layers: {names}.") from None


def _model_input(model):
    """The model's input tensor (a single tensor, so the probe model takes a plain array)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _as_batch(images, model) -> tuple[np.ndarray, bool]:
    images = np.asarray(images, dtype="float32")
    rank = len(model.inputs[0].shape)
    if images.ndim == rank - 1:
        return images[None], True
    if images.ndim == rank:
        return images, False
    raise ValueError(f"Expected one input of shape {tuple(model.inputs[0].shape[1:])} or a batch of them; "
                     f"received an array of shape {images.shape}.")


def feature_maps(model, images, layer) -> np.ndarray:
    """The activations of ``layer`` for the given images.

    Args:
        model: a functional or ``Sequential`` model.
        images: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.
        layer: a layer name or a layer of the model.

    Returns:
        ``(N, h, w, channels)`` (without ``N`` for a single image), as NumPy.

    Example:
        >>> maps = feature_maps(model, digits.x_test[0], "conv1")   # doctest: +SKIP
        >>> maps.shape                                              # doctest: +SKIP
        (32, 32, 32)
    """
    target = _find_layer(model, layer)
    batch, single = _as_batch(images, model)
    probe = keras.Model(_model_input(model), target.output)
    # A direct call (not predict) avoids compiling a new predict function for every probe model.
    out = keras.ops.convert_to_numpy(probe(batch, training=False))
    return out[0] if single else out


def last_conv_layer(model):
    """The last convolution whose output is still a spatial feature map (the usual Grad-CAM layer).

    Example:
        >>> last_conv_layer(create_model("simple_cnn")).name     # doctest: +SKIP
        'conv3'
    """
    rank = len(model.inputs[0].shape)
    spatial = [layer for layer in model.layers
               if isinstance(layer, CONVS + DEPTHWISE + SEPARABLE) and len(layer.output.shape) == rank]
    if not spatial:
        raise ValueError(f"Model {model.name!r} has no convolution layer whose output is a feature map.")
    return spatial[-1]


def grad_cam(model, images, layer=None, class_index=None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM heat maps: where in the image the chosen class score comes from.

    Selvaraju et al. (2017): weight each channel of a convolutional feature
    map by the average gradient of the class score with respect to it, sum the
    weighted channels, keep the positive part, and scale to ``[0, 1]``. For a
    network that ends in global average pooling and one dense layer it equals
    the class activation map (CAM) of Zhou et al. (2016).

    The gradient comes from the backend's automatic differentiation
    (``tf.GradientTape``, ``jax.grad`` or ``torch.autograd``), so it works on
    all three Keras backends. On JAX the part of the model after ``layer`` is
    differentiated as a model of its own, so every path to the output must go
    through ``layer`` (true for the last convolution of the usual classifiers).

    Args:
        model: a classifier (functional or ``Sequential``) whose output is class scores.
        images: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``.
        layer: the convolutional layer (name or layer) to explain; default: the last one.
        class_index: the class to explain (int); default: each image's predicted class.

    Returns:
        ``(heatmaps, classes)``: heat maps ``(N, h, w)`` at the layer's resolution, in
        ``[0, 1]``, and the explained class of each image (without ``N`` for one image).

    Example:
        >>> heat, cls = grad_cam(model, digits.x_test[0])    # doctest: +SKIP
    """
    target = last_conv_layer(model) if layer is None else _find_layer(model, layer)
    batch, single = _as_batch(images, model)
    num_classes = model.outputs[0].shape[-1]
    if class_index is not None and not (isinstance(class_index, (int, np.integer)) and 0 <= class_index < num_classes):
        raise ValueError(f"class_index must be an int in [0, {num_classes - 1}] or None; received {class_index!r}.")
    maps, grads, chosen = _CLASS_SCORE_GRADIENTS[keras.backend.backend()](model, target, batch, class_index)
    if grads is None:
        raise ValueError(f"The class score does not depend on layer {target.name!r}; choose an earlier layer.")
    weights = grads.mean(axis=tuple(range(1, grads.ndim - 1)))  # one weight per channel
    cam = np.maximum(np.einsum("n...c,nc->n...", maps, weights), 0.0)
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape((-1,) + (1,) * (cam.ndim - 1))
    cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    return (cam[0], int(chosen[0])) if single else (cam, chosen)


# The gradient of the chosen class scores with respect to a layer's output, one recipe per backend.
# Each returns NumPy (maps, grads, chosen); grads is None when the scores do not depend on the layer.


def _chosen_classes(scores, class_index) -> np.ndarray:
    if class_index is None:
        return np.argmax(keras.ops.convert_to_numpy(scores), axis=-1).astype("int32")
    return np.full(scores.shape[0], int(class_index), dtype="int32")


def _picked_score(scores, chosen: np.ndarray):
    """Sum over the batch of each image's chosen class score (images do not interact, so its
    gradient holds every image's own gradient)."""
    index = keras.ops.convert_to_tensor(chosen[:, None])
    return keras.ops.sum(keras.ops.take_along_axis(scores, index, axis=1))


def _class_score_gradient_tensorflow(model, target, batch, class_index):
    import tensorflow as tf

    probe = keras.Model(_model_input(model), [target.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, scores = probe(tf.convert_to_tensor(batch), training=False)
        chosen = _chosen_classes(scores, class_index)
        picked = _picked_score(scores, chosen)
    grads = tape.gradient(picked, maps)
    return maps.numpy(), None if grads is None else grads.numpy(), chosen


def _class_score_gradient_torch(model, target, batch, class_index):
    import torch

    probe = keras.Model(_model_input(model), [target.output, model.outputs[0]])
    with torch.enable_grad():
        maps, scores = probe(keras.ops.convert_to_tensor(batch), training=False)
        chosen = _chosen_classes(scores, class_index)
        picked = _picked_score(scores, chosen)
        grads = (torch.autograd.grad(picked, maps, allow_unused=True)[0]
                 if picked.requires_grad and maps.requires_grad else None)
    return keras.ops.convert_to_numpy(maps), None if grads is None else keras.ops.convert_to_numpy(grads), chosen


def _class_score_gradient_jax(model, target, batch, class_index):
    import jax

    # JAX differentiates functions, not recorded computations: split the model at the layer and
    # differentiate the head, scores = head(maps), at the layer's actual output.
    try:
        head = keras.Model(target.output, model.outputs[0])
    except ValueError as err:
        raise ValueError(f"On the JAX backend grad_cam needs every path to the output to pass through layer "
                         f"{target.name!r}; it does not ({err}). Choose another layer, or use the TensorFlow "
                         "or torch backend.") from None
    probe = keras.Model(_model_input(model), [target.output, model.outputs[0]])
    maps, scores = probe(batch, training=False)
    chosen = _chosen_classes(scores, class_index)
    grads = jax.grad(lambda m: _picked_score(head(m, training=False), chosen))(maps)
    return np.asarray(maps), np.asarray(grads), chosen


_CLASS_SCORE_GRADIENTS = {
    "tensorflow": _class_score_gradient_tensorflow,
    "jax": _class_score_gradient_jax,
    "torch": _class_score_gradient_torch,
}
