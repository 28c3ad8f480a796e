"""Gradients on every Keras backend: of a function written with ``keras.ops``, and of a loss w.r.t. weights.

Each backend differentiates in its own way: TensorFlow records operations on
a ``GradientTape`` watching the inputs, PyTorch records them on tensors with
``requires_grad``, JAX transforms a *function* (``jax.grad``). Code such as
``with tf.GradientTape()`` therefore runs on one backend only. The two
functions here take a function (or a model) instead, which all three can
differentiate, and return NumPy arrays:

* :func:`gradients` — ``d fn / d array`` for a scalar-valued ``fn`` written with
  ``keras.ops`` (checking a hand-written backward pass, gradient ascent on an
  input image for feature visualisation);
* :func:`weight_gradients` — ``d loss / d weight`` for every trainable weight of a
  model on one batch, as the first step of ``model.fit`` would compute it
  (gradient norms per layer, vanishing gradients in deep plain networks).

:func:`cnnkit.analysis.grad_cam` uses :func:`gradients` too.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np

from cnnkit import _validate as V


def gradients(fn, *arrays) -> tuple:
    """The gradient of a scalar-valued function with respect to each of its array arguments.

    ``fn`` is called once with backend tensors in place of ``arrays`` and must
    return a scalar computed with ``keras.ops`` (or the backend's own ops, or a
    Keras layer or model). Combine the tensors with NumPy constants through
    ``keras.ops`` (``keras.ops.multiply(t, g)``, not ``t * g``: a PyTorch tensor
    times a NumPy array is computed by NumPy, outside autograd). Arguments it
    does not depend on get a zero gradient.

    Args:
        fn: ``fn(*tensors) -> scalar``.
        *arrays: one or more floating-point arrays (NumPy arrays, lists or backend
            tensors); NumPy's float64 is computed in Keras's float type (float32).

    Returns:
        A tuple of NumPy arrays, one per array, each of that array's shape.

    Example:
        >>> x = np.array([1.0, -2.0, 3.0])
        >>> gradients(lambda t: keras.ops.sum(t ** 2), x)       # d/dx sum(x^2) = 2x
        (array([ 2., -4.,  6.], dtype=float32),)
        >>> w = np.ones((2, 2))
        >>> dx, dw = gradients(lambda a, b: keras.ops.sum(keras.ops.matmul(a, b)), np.eye(2), w)
    """
    if not callable(fn):
        raise ValueError(f"fn must be a callable returning a scalar; received {type(fn).__name__}.")
    if not arrays:
        raise ValueError("gradients needs at least one array to differentiate with respect to; received none.")
    tensors = [_float_tensor(a, f"arrays[{i}]") for i, a in enumerate(arrays)]
    grads = _BACKEND_GRADIENTS[keras.backend.backend()](_scalar_valued(fn), tensors)
    return tuple(np.zeros(tuple(t.shape), keras.backend.standardize_dtype(t.dtype)) if g is None
                 else keras.ops.convert_to_numpy(g) for t, g in zip(tensors, grads))


def weight_gradients(model, x, y, loss_fn, training: bool = True, variables=None) -> list[tuple[str, np.ndarray]]:
    """The gradient of a loss with respect to a model's trainable weights, on one batch.

    The loss is ``loss_fn(y, model(x, training=training))`` plus the losses the
    layers add (weight regularizers), as ``model.fit`` minimises. The model is
    called through ``model.stateless_call``: with ``training=True`` batch norm
    normalises with the batch's statistics and dropout drops units, but the
    model is left unchanged (moving statistics and random-generator state are
    not updated), so two calls on the same batch give the same gradients (the
    same dropout masks; on PyTorch only for layers given a ``seed``, since Keras
    draws an unseeded ``Dropout``'s mask from torch's global generator). This is
    how Keras's own JAX trainer computes its gradients, and it works on
    TensorFlow and PyTorch too.

    Args:
        model: a built ``keras.Model``.
        x: the input batch (an array, or the structure of arrays the model takes).
        y: the targets, as ``loss_fn`` expects them.
        loss_fn: ``loss_fn(y_true, y_pred) -> scalar``, e.g. a ``keras.losses`` loss.
        training: call the model in training mode (batch statistics, dropout) or inference mode.
        variables: the trainable variables to differentiate (default: all of
            ``model.trainable_variables``, in that order).

    Returns:
        A list of ``(variable path, gradient)`` pairs, the gradient a NumPy array of the variable's shape.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")], name="net")
        >>> loss = keras.losses.MeanSquaredError()
        >>> grads = weight_gradients(model, np.ones((4, 3)), np.zeros((4, 2)), loss)
        >>> [(path, g.shape) for path, g in grads]
        [('net/dense/kernel', (3, 2)), ('net/dense/bias', (2,))]
        >>> norms = {path: float(np.linalg.norm(g)) for path, g in grads}   # e.g. per-layer gradient norms
    """
    V.instance(model, "model", keras.Model, "a keras.Model")
    if not model.built:
        raise ValueError(f"model {model.name!r} must be built (call it on data, or start it with keras.Input); "
                         "received an unbuilt model.")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be a callable loss_fn(y_true, y_pred); received {type(loss_fn).__name__}.")
    training = V.boolean(training, "training")
    trainable = list(model.trainable_variables)
    chosen = trainable if variables is None else _check_variables(variables, trainable, model)
    positions = [next(i for i, v in enumerate(trainable) if v is c) for c in chosen]
    values = [v.value for v in trainable]
    state = [v.value for v in model.non_trainable_variables]
    _check_batch(model, x, y, loss_fn)
    x, y = _as_tensors(x), _as_tensors(y)
    kwargs = {"training": bool(training)} if _takes_training(model) else {}

    def loss_of(*chosen_values):
        weights = list(values)
        for i, value in zip(positions, chosen_values):
            weights[i] = value
        y_pred, _, losses = model.stateless_call(weights, state, x, return_losses=True, **kwargs)
        loss = loss_fn(y, y_pred)
        if loss is None:
            raise V.ArgumentTypeError(f"loss_fn must return the loss, a scalar tensor; received None from "
                                      f"{getattr(loss_fn, '__name__', type(loss_fn).__name__)}.")
        return loss + keras.ops.sum(keras.ops.stack(losses)) if losses else loss

    grads = gradients(loss_of, *[values[i] for i in positions])
    return [(v.path, g) for v, g in zip(chosen, grads)]


def _check_batch(model, x, y, loss_fn) -> None:
    """Arrays of numbers, no NaN or 0-255 images, ``x`` fitting the model, one target per sample.

    Class ids are checked when ``loss_fn`` is a sparse categorical cross-entropy (it reads ``y`` as ids);
    other losses take targets of any value.
    """
    for name, value in (("x", x), ("y", y)):
        if value is None and name == "y" and not isinstance(loss_fn, keras.losses.Loss):
            continue  # a loss_fn of one's own may ignore the targets; a Keras loss reads them
        if value is None or isinstance(value, (str, bytes)) or (isinstance(value, (list, np.ndarray)) and not (
                np.issubdtype(np.asarray(value).dtype, np.number) or np.asarray(value).dtype == np.bool_)):
            V.fail(name, "an array of numbers (or the structure of arrays the model takes)", value, wrong_type=True)
    if hasattr(x, "shape"):
        if np.iscomplexobj(np.asarray(x)):
            V.fail("x", "an array of real numbers", x, wrong_type=True)
        V.model_inputs(x, "x")
        V.fits_model(x, model, "x")
    if hasattr(y, "shape") or isinstance(y, list):
        targets = V.concrete_array(y, "y")
        if hasattr(x, "shape") and targets is not None and targets.ndim and len(targets) != len(x):
            raise ValueError(f"y must hold one target per sample of x ({len(x)}); received {V.describe(targets)}.")
        units = model.outputs[0].shape[-1] if len(getattr(model, "outputs", []) or []) == 1 else None
        if isinstance(loss_fn, keras.losses.SparseCategoricalCrossentropy) and units and targets is not None:
            if not (targets.ndim == 1 or (targets.ndim == 2 and targets.shape[1] == 1)):
                raise ValueError(f"y must be class ids of shape ({len(targets)},) for a sparse categorical "
                                 f"cross-entropy; received {V.describe(targets)}.")
            V.class_ids(targets, int(units), "y", whole_floats=True)


def _check_variables(variables, trainable, model) -> list:
    variables = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    for v in variables:
        if not any(v is t for t in trainable):
            path = getattr(v, "path", type(v).__name__)
            raise ValueError(f"variables must be trainable variables of model {model.name!r}; received {path!r}, "
                             "which is not one of model.trainable_variables.")
    if not variables:
        raise ValueError("variables must name at least one trainable variable, or be None for all; received [].")
    return variables


def _takes_training(model) -> bool:
    """Whether ``model.call`` accepts ``training`` (stateless_call passes keyword arguments to it as they are)."""
    parameters = inspect.signature(model.call).parameters.values()
    return any(p.name == "training" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _as_tensors(structure):
    """Arrays (in any nesting) as backend tensors; ``None`` stays ``None`` (e.g. no targets)."""
    return keras.tree.map_structure(lambda a: a if a is None else keras.ops.convert_to_tensor(a), structure)


def _float_tensor(array, name: str):
    if keras.ops.is_tensor(array):
        dtype = keras.backend.standardize_dtype(array.dtype)
    else:
        array = np.asarray(array)
        dtype = str(array.dtype)
        if array.dtype == np.float64:
            array = array.astype(keras.config.floatx())
    if not keras.backend.is_float_dtype(dtype):
        raise ValueError(f"{name} must be a floating-point array (a gradient needs real numbers); received "
                         f"dtype {dtype}.")
    return keras.ops.convert_to_tensor(array)


def _scalar_valued(fn):
    def checked(*tensors):
        value = fn(*tensors)
        if not keras.ops.is_tensor(value):
            value = keras.ops.convert_to_tensor(value, dtype=keras.config.floatx())
        if tuple(value.shape) != ():
            raise ValueError(f"fn must return a scalar (shape ()); received shape {tuple(value.shape)}. Reduce it "
                             "first, e.g. with keras.ops.sum or keras.ops.mean.")
        return value

    return checked


# One recipe per backend: each returns one gradient (or None where fn does not depend on the tensor).


def _gradients_tensorflow(fn, tensors):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        value = fn(*tensors)
    return tape.gradient(value, tensors)


def _gradients_torch(fn, tensors):
    import torch

    leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
    with torch.enable_grad():
        value = fn(*leaves)
        if not value.requires_grad:  # fn does not depend on any of them
            return [None] * len(leaves)
        return torch.autograd.grad(value, leaves, allow_unused=True)


def _gradients_jax(fn, tensors):
    import jax

    return jax.grad(fn, argnums=tuple(range(len(tensors))))(*tensors)


_BACKEND_GRADIENTS = {
    "tensorflow": _gradients_tensorflow,
    "jax": _gradients_jax,
    "torch": _gradients_torch,
}
