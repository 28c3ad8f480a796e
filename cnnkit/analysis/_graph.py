"""The graph walker behind :mod:`cnnkit.analysis`: the only code that reads Keras internals.

Keras has no public API to list the layer calls of a functional model with the
shapes they saw, so this module reads its internals. Checked on Keras 3.13.2,
3.14.1 and 3.15.1 (installed): the analysis tests pass on each, TensorFlow
backend. ``tests/test_analysis_graph.py`` runs
:func:`check_keras_internals`, which fails with a message naming what changed
on a Keras that changes them; at run time a walk that hits a missing attribute
says the same in one line. What it reads:

* ``Function._nodes_by_depth`` (functional models, ``keras.Function``) and
  ``Sequential._functional``: the graph, as ``{depth: [Node, ...]}``;
* ``Node.operation``, ``.is_input``, ``.input_tensors``, ``.output_tensors``,
  ``.arguments.args`` and ``.arguments.fill_in({id(tensor): value})``;
* ``Layer._flatten_layers(include_self=..., recursive=...)``, and
  ``Operation._inbound_nodes`` / ``._outbound_nodes`` (a symbolic trace
  appends to them; :func:`_trace_nodes_removed` takes its nodes back out);
* the ``keras.ops`` operation classes ``Conv``, ``DepthwiseConv``,
  ``SeparableConv``, ``MaxPool``, ``AveragePool`` (``keras.src.ops.nn``) and
  their ``strides``, ``padding``, ``dilation_rate``, ``pool_size`` attributes.

Tensors are keyed by :class:`TensorKeys`, which holds every tensor it keys:
keying by bare ``id()`` made receptive fields change from call to call (see
its docstring).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import keras

from cnnkit import _validate as V
from cnnkit.analysis._layers import n_tuple

CHECKED_KERAS = "3.13-3.15"

OP_CONVS = ("Conv", "DepthwiseConv", "SeparableConv")
OP_POOLS = ("MaxPool", "AveragePool")


# ---------------------------------------------------------------- graphs and layers


def flatten_layers(layer, include_self: bool = True) -> list:
    """A layer (or model) and every layer nested in it, depth first.

    Keras's ``model.layers`` lists only the top level; this also lists the
    sublayers of custom layers and nested models (e.g. the ``BatchNormalization``
    inside a :class:`cnnkit.layers.ConvBNAct`).

    Args:
        layer: a ``keras.layers.Layer`` or ``keras.Model``.
        include_self: start the list with ``layer`` itself.

    Returns:
        A list of layers, each once.

    Example:
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), ConvBNAct(2, 3)])   # doctest: +SKIP
        >>> [type(lay).__name__ for lay in flatten_layers(model, include_self=False)]  # doctest: +SKIP
        ['InputLayer', 'ConvBNAct', 'BatchNormalization', 'Conv2D']
    """
    if not isinstance(layer, keras.layers.Layer):
        raise ValueError(f"layer must be a keras.layers.Layer or keras.Model; received {type(layer).__name__}.")
    return list(layer._flatten_layers(include_self=include_self, recursive=True))


def is_model(op) -> bool:
    """A functional or Sequential model: one with a graph of layers to open up."""
    return isinstance(op, keras.Model) and (isinstance(op, keras.Sequential) or hasattr(op, "_nodes_by_depth"))


def is_custom(layer) -> bool:
    """A layer whose class is not one of Keras's own (so its inside is unknown to us)."""
    return not type(layer).__module__.startswith("keras.")


def graph_of(model):
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


def nodes_in_order(graph):
    """The graph's nodes that call an operation, from the inputs to the outputs."""
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if not node.is_input and node.operation is not None:
                yield node


# ---------------------------------------------------------------- keras.ops calls


def is_keras_op(op, names) -> bool:
    """A ``keras.ops`` operation (not a layer) of one of the given class names."""
    return (not isinstance(op, keras.layers.Layer) and type(op).__name__ in names
            and type(op).__module__.startswith("keras."))


def op_kernel_shape(call) -> tuple | None:
    """Kernel shape of a ``keras.ops.conv``-style call: its second argument."""
    args = getattr(call.node, "arguments", None)
    if args is None or len(args.args) < 2:
        return None
    return tuple(args.args[1].shape)


def op_window(call):
    """``(kernel, strides, dilation, padding, rank)`` of a ``keras.ops`` convolution or pooling call."""
    op = call.op
    if is_keras_op(op, OP_CONVS):
        shape = op_kernel_shape(call)
        if shape is None:
            return None
        rank = len(shape) - 2
        return (shape[:rank], n_tuple(op.strides, rank), n_tuple(op.dilation_rate, rank), op.padding, rank)
    if is_keras_op(op, OP_POOLS):
        rank = len(call.inputs[0].shape) - 2
        pool = n_tuple(op.pool_size, rank)
        return pool, n_tuple(op.strides or op.pool_size, rank), (1,) * rank, op.padding, rank
    return None


# ---------------------------------------------------------------- walking the graph


class TensorKeys:
    """Small-integer keys for symbolic tensors, by identity; several tensors may share one key.

    It holds every tensor it has keyed, so no ``id()`` it relies on can be recycled while it lives.
    Keying by bare ``id()`` was the cause of non-repeatable receptive fields (issue 20): a custom
    layer that returns its input unchanged (``StochasticDepth`` at inference) was traced into a graph
    whose only tensor was a fresh input, which nothing referenced once the trace returned; when the
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


@dataclass
class Call:
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


class Walker:
    """Walks a model's graph in execution order, opening nested models and custom layers.

    ``calls`` lists every call; ``specs`` maps a tensor key to the symbolic tensor (shape, dtype) it has
    for the analysed input shape.
    """

    def __init__(self):
        self.calls: list[Call] = []
        self.specs: dict[int, object] = {}
        self.keys = TensorKeys()

    def key(self, tensor) -> int:
        return self.keys.key(tensor)

    def walk(self, graph, in_keys, prefix: str = "", row: str | None = None) -> list[int]:
        for tensor, k in zip(graph.inputs, in_keys):
            self.keys.bind(tensor, k)
        for node in nodes_in_order(graph):
            keys = [self.key(t) for t in node.input_tensors]
            if any(k not in self.specs for k in keys):
                continue  # not reachable from the inputs (Keras skips these too)
            self._visit(node, keys, prefix, row)
        return [self.key(t) for t in graph.outputs]

    def _visit(self, node, keys, prefix, row):
        op = node.operation
        name = prefix + op.name
        inputs = [self.specs[k] for k in keys]
        if is_model(op):
            out_keys = self.walk(graph_of(op), keys, prefix=name + "/", row=row)
            for tensor, k in zip(node.output_tensors, out_keys):
                self.keys.bind(tensor, k)
            return
        outputs = self._output_specs(node, op, inputs)
        out_keys = [self.key(t) for t in node.output_tensors]
        for k, spec in zip(out_keys, outputs):
            self.specs[k] = spec
        call = Call(name, op, inputs, outputs, keys, out_keys, row=row or name, hidden=row is not None, node=node)
        if isinstance(op, keras.layers.Layer) and is_custom(op):
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
                # Bare KerasTensors, not keras.Input: building an InputLayer per trace took 37% of the walk.
                fresh = [keras.KerasTensor(tuple(s.shape), dtype=s.dtype) for s in inputs]
                out = keras.tree.flatten(layer.call(*fresh) if len(fresh) > 1 else layer.call(fresh[0]))
                passed = [next((k for f, k in zip(fresh, keys) if f is o), None) for o in out]
                if None not in passed:  # it returns its inputs unchanged (StochasticDepth at inference)
                    return passed
                graph = keras.Function(fresh, out)
            except Exception:  # noqa: BLE001 - any failure means "cannot see inside"; we fall back
                return None
            saved = len(self.calls)
            try:  # the traced inputs stand for the layer's real inputs: they get the same keys
                return self.walk(graph, keys, prefix=name + "/", row=row)
            except Exception:  # noqa: BLE001
                del self.calls[saved:]
                return None


@contextlib.contextmanager
def _trace_nodes_removed(layer):
    """Remove, on leaving, the graph nodes a symbolic trace adds to ``layer``'s sublayers.

    Calling a sublayer on a ``KerasTensor`` appends a node to its ``_inbound_nodes`` (and to its
    inputs' producers' ``_outbound_nodes``); without this every analysis call would leave one more
    node, and the traced graph it holds, on every traced sublayer of the model (measured on
    efficientnet_small: 0.8 MB per call).
    """
    layers = flatten_layers(layer)
    sizes = [(sub, len(sub._inbound_nodes), len(sub._outbound_nodes)) for sub in layers]
    try:
        yield
    finally:
        for sub, n_in, n_out in sizes:
            del sub._inbound_nodes[n_in:]
            del sub._outbound_nodes[n_out:]


def walk_model(model, input_shape=None) -> tuple[Walker, list, list]:
    """Walk ``model`` for inputs of ``input_shape``: ``(walker, input specs, input keys)``."""
    V.instance(model, "model", keras.Model, "a keras.Model")
    graph = graph_of(model)
    walker = Walker()
    shapes = _input_shapes(graph, input_shape)
    keys = [walker.key(t) for t in graph.inputs]
    for k, tensor, shape in zip(keys, graph.inputs, shapes):
        walker.specs[k] = keras.KerasTensor((None, *shape), dtype=tensor.dtype)
    try:
        walker.walk(graph, keys)
    except AttributeError as err:  # the walk reads Keras internals; custom-layer traces catch their own
        raise RuntimeError(
            f"cnnkit.analysis reads Keras internals, checked on Keras {CHECKED_KERAS}; on Keras "
            f"{keras.__version__} the walk failed with {err!r}. cnnkit.analysis._graph.check_keras_internals() "
            "names what changed."
        ) from err
    return walker, [walker.specs[k] for k in keys], keys


def _input_shapes(graph, input_shape) -> list[tuple]:
    own = [tuple(t.shape[1:]) for t in graph.inputs]
    if input_shape is None:
        return own
    items = V.as_sequence(input_shape)
    if not items:
        V.fail("input_shape", "a shape without the batch axis (one per model input)", input_shape,
               wrong_type=items is None)
    single = V.is_int(items[0]) or items[0] is None
    given = [tuple(items)] if single else [tuple(V.as_sequence(s) or (s,)) for s in items]
    for g in given:
        if not all(d is None or (V.is_int(d) and d >= 1) for d in g):
            V.fail("input_shape", "a shape of positive integers (None for any size), without the batch axis",
                   input_shape)
    if len(given) != len(own) or any(len(g) != len(o) for g, o in zip(given, own)):
        raise ValueError(
            f"input_shape must give one shape (without the batch axis) per model input, of the same rank: "
            f"expected {len(own)} shape(s) like {own}; received {input_shape!r}."
        )
    for g, o in zip(given, own):
        if any(a is not None and b is not None and a != b for a, b in zip(g, o)):
            raise ValueError(f"input_shape must agree with the model's fixed input shape {o}; received {g}.")
    return given


# ---------------------------------------------------------------- running a graph with an offset


def call_with_offset(model, inputs, layer, offset):
    """The model's first output on ``inputs`` (inference mode) with ``offset`` added to ``layer``'s output.

    The gradient of a function of this with respect to ``offset``, at ``offset = 0``, is the
    gradient with respect to the layer's output, whatever paths lead around the layer; it works
    with the function-based autodiff of every backend (:func:`cnnkit.analysis.gradients`).
    """
    graph = graph_of(model)
    values = {id(t): x for t, x in zip(graph.inputs, keras.tree.flatten(inputs))}
    for node in nodes_in_order(graph):
        if any(id(t) not in values for t in node.input_tensors):
            continue
        args, kwargs = node.arguments.fill_in(values)
        outputs = keras.tree.flatten(node.operation(*args, **kwargs))
        if node.operation is layer:
            outputs = [outputs[0] + offset, *outputs[1:]]
        for tensor, value in zip(node.output_tensors, outputs):
            values[id(tensor)] = value
    return values[id(graph.outputs[0])]


def depends_on(model, layer) -> bool:
    """Whether the model's first output is computed from ``layer``'s output."""
    graph = graph_of(model)
    downstream: set[int] = set()
    for node in nodes_in_order(graph):
        if node.operation is layer or any(id(t) in downstream for t in node.input_tensors):
            downstream.update(id(t) for t in node.output_tensors)
    return id(graph.outputs[0]) in downstream


# ---------------------------------------------------------------- the internals, checked


def check_keras_internals() -> None:
    """Raise ``RuntimeError`` naming what changed if this Keras lacks an internal the walker reads.

    Builds a tiny functional model (a nested ``Sequential``, a custom layer, ``keras.ops.conv`` and
    ``keras.ops.max_pool``) and checks each internal listed in the module docstring on it. Run by
    ``tests/test_analysis_graph.py`` (not at import: building layers moves Keras's automatic names on).
    """
    problems = []

    def need(condition, what):
        if not condition:
            problems.append(what)

    class _Probe(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = keras.layers.Dense(2, name="probe_dense")

        def call(self, x):
            return self.inner(x)

    try:
        inputs = keras.Input((8, 8, 2), name="probe_input")
        nested = keras.Sequential([keras.Input((8, 8, 2), name="probe_nested_input"),
                                   keras.layers.Conv2D(2, 3, padding="same", name="probe_conv")], name="probe_nested")
        x = keras.ops.conv(nested(inputs), keras.ops.ones((3, 3, 2, 2)), strides=2, padding="same")
        x = keras.ops.max_pool(_Probe(name="probe_custom")(x), 2)
        model = keras.Model(inputs, x, name="probe")
    except Exception as err:  # noqa: BLE001 - report, do not crash the check
        raise RuntimeError(f"cnnkit.analysis could not build its Keras-internals probe model on Keras "
                           f"{keras.__version__}: {err!r}") from err
    need(isinstance(getattr(model, "_nodes_by_depth", None), dict), "Functional._nodes_by_depth (a dict)")
    need(getattr(nested, "_functional", None) is not None, "Sequential._functional")
    nodes = list(nodes_in_order(model)) if not problems else []
    for attr in ("operation", "is_input", "input_tensors", "output_tensors", "arguments"):
        need(all(hasattr(n, attr) for n in nodes), f"Node.{attr}")
    if nodes and hasattr(nodes[0], "arguments"):
        args = nodes[0].arguments
        need(hasattr(args, "args") and hasattr(args, "fill_in"), "Node.arguments.args / .fill_in")
    ops = {type(n.operation).__name__: n.operation for n in nodes}
    need("Conv" in ops and "MaxPool" in ops, f"keras.ops classes Conv and MaxPool (found {sorted(ops)})")
    for name, attrs in (("Conv", ("strides", "padding", "dilation_rate")), ("MaxPool", ("pool_size", "strides",
                                                                                       "padding"))):
        if name in ops:
            need(all(hasattr(ops[name], a) for a in attrs), f"{name} attributes {attrs}")
    probe = next((n.operation for n in nodes if isinstance(n.operation, _Probe)), None)
    need(probe is not None and hasattr(probe, "_flatten_layers"), "Layer._flatten_layers")
    need(probe is not None and isinstance(getattr(probe.inner, "_inbound_nodes", None), list)
         and isinstance(getattr(probe.inner, "_outbound_nodes", None), list),
         "Operation._inbound_nodes / _outbound_nodes (lists)")
    if not problems:
        try:  # the whole walk on the probe: shapes seen, kernel shape read from the node's arguments
            walker = Walker()
            keys = [walker.key(t) for t in model.inputs]
            walker.specs[keys[0]] = keras.KerasTensor((None, 8, 8, 2))
            walker.walk(model, keys)
            conv = next(c for c in walker.calls if type(c.op).__name__ == "Conv")
            need(op_kernel_shape(conv) == (3, 3, 2, 2), "the kernel of keras.ops.conv in Node.arguments.args[1]")
            need(any(c.expanded for c in walker.calls), "tracing a custom layer into a keras.Function")
        except Exception as err:  # noqa: BLE001
            problems.append(f"walking the probe model raised {err!r}")
    if problems:
        raise RuntimeError(
            f"cnnkit.analysis reads Keras internals, checked on Keras {CHECKED_KERAS}; Keras "
            f"{keras.__version__} changed them: {'; '.join(problems)}. Update cnnkit/analysis/_graph.py."
        )
