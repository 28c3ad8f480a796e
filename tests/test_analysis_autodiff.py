"""cnnkit.analysis.gradients and weight_gradients against gradients worked out by hand, on every backend."""

import keras
import numpy as np
import pytest

from cnnkit import analysis

L = keras.layers
RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- gradients of a function


def test_gradient_of_a_sum_of_squares_is_twice_the_input():
    x = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -4.0]])  # float64: computed in float32
    (dx,) = analysis.gradients(lambda t: keras.ops.sum(t ** 2), x)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    np.testing.assert_allclose(dx, 2 * x)


def test_gradients_of_a_matrix_product_and_of_an_unused_argument():
    a, b, unused = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2)), RNG.normal(size=(5,))
    da, db, dz = analysis.gradients(lambda p, q, z: keras.ops.sum(keras.ops.matmul(p, q)), a, b, unused)
    # d/dA sum(A B) = 1 B^T, d/dB = A^T 1
    np.testing.assert_allclose(da, np.ones((3, 2)) @ b.T, rtol=1e-5)
    np.testing.assert_allclose(db, a.T @ np.ones((3, 2)), rtol=1e-5)
    np.testing.assert_array_equal(dz, np.zeros(5))  # fn does not depend on it


def conv_reference_gradients(x, kernel, g, stride):
    """NumPy gradients of sum(conv(x, kernel) * g) for a "valid" 2D convolution with ``stride``.

    The kernel gradient is the correlation of the input with the output gradient
    ``dK[i, j, c, o] = sum_{n, h, w} x[n, h*s + i, w*s + j, c] g[n, h, w, o]``; the input gradient
    scatters each output gradient back through the kernel (a transposed convolution).
    """
    kh, kw = kernel.shape[:2]
    dk, dx = np.zeros_like(kernel), np.zeros_like(x)
    for h in range(g.shape[1]):
        for w in range(g.shape[2]):
            patch = x[:, h * stride:h * stride + kh, w * stride:w * stride + kw, :]  # (n, kh, kw, c)
            dk += np.einsum("nijc,no->ijco", patch, g[:, h, w, :])
            dx[:, h * stride:h * stride + kh, w * stride:w * stride + kw, :] += np.einsum("ijco,no->nijc", kernel,
                                                                                          g[:, h, w, :])
    return dx, dk


@pytest.mark.parametrize("stride", [1, 2])
def test_backprop_through_a_convolution(stride):
    x = RNG.normal(size=(2, 7, 8, 3)).astype("float32")
    kernel = RNG.normal(size=(3, 2, 3, 4)).astype("float32")
    out_h, out_w = (7 - 3) // stride + 1, (8 - 2) // stride + 1
    g = RNG.normal(size=(2, out_h, out_w, 4)).astype("float32")  # the gradient arriving at the output
    dx, dk = analysis.gradients(lambda a, k: keras.ops.sum(keras.ops.multiply(keras.ops.conv(a, k, strides=stride), g)), x, kernel)
    want_dx, want_dk = conv_reference_gradients(x, kernel, g, stride)
    np.testing.assert_allclose(dk, want_dk, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4)


def test_gradient_ascent_on_an_input_raises_a_unit():
    # Feature visualisation in one line per step: x <- x + lr * d unit / dx.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(2, 3, activation="relu")])
    x = RNG.normal(size=(1, 8, 8, 1)).astype("float32") * 0.1

    def unit(t):
        return keras.ops.mean(model(t)[..., 0])

    before = float(keras.ops.convert_to_numpy(unit(x)))
    for _ in range(5):
        (dx,) = analysis.gradients(unit, x)
        x = x + 0.5 * dx
    assert float(keras.ops.convert_to_numpy(unit(x))) > before


def test_gradients_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"fn must be a callable returning a scalar; received int"):
        analysis.gradients(3, np.ones(2))
    with pytest.raises(ValueError, match=r"at least one array .* received none"):
        analysis.gradients(keras.ops.sum)
    with pytest.raises(ValueError, match=r"arrays\[1\] must be a floating-point array .* received dtype int64"):
        analysis.gradients(lambda a, b: keras.ops.sum(a), np.ones(2), np.arange(3))
    with pytest.raises(ValueError, match=r"fn must return a scalar \(shape \(\)\); received shape \(2,\)"):
        analysis.gradients(lambda a: a * 2, np.ones(2))


# ---------------------------------------------------------------- gradients of a loss w.r.t. weights


def dense_model(**kwargs):
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((3,)), L.Dense(2, bias_initializer="glorot_uniform", **kwargs)])


def test_dense_kernel_gradient_is_input_transposed_times_output_gradient():
    model = dense_model()
    x, y = RNG.normal(size=(5, 3)).astype("float32"), RNG.normal(size=(5, 2)).astype("float32")
    grads = analysis.weight_gradients(model, x, y, keras.losses.MeanSquaredError())
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in model.trainable_variables)
    dy = 2 * (x @ kernel + bias - y) / y.size  # d mean((y_pred - y)^2) / d y_pred
    assert [path for path, _ in grads] == [v.path for v in model.trainable_variables]
    np.testing.assert_allclose(grads[0][1], x.T @ dy, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[1][1], dy.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_conv_kernel_gradient_is_the_correlation_of_input_and_output_gradient():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((7, 8, 3)), L.Conv2D(4, (3, 2), strides=2, name="conv")])
    x = RNG.normal(size=(2, 7, 8, 3)).astype("float32")
    g = RNG.normal(size=(2, 3, 4, 4)).astype("float32")
    grads = dict(analysis.weight_gradients(model, x, None, lambda _, y_pred: keras.ops.sum(keras.ops.multiply(y_pred, g))))
    kernel = keras.ops.convert_to_numpy(model.get_layer("conv").kernel)
    _, want_dk = conv_reference_gradients(x, kernel, g, stride=2)
    np.testing.assert_allclose(grads[model.get_layer("conv").kernel.path], want_dk, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grads[model.get_layer("conv").bias.path], g.sum(axis=(0, 1, 2)), rtol=1e-5)


def test_weight_regularizers_are_part_of_the_loss():
    model = dense_model(kernel_regularizer=keras.regularizers.L2(0.1))
    x, y = RNG.normal(size=(4, 3)).astype("float32"), np.zeros((4, 2), "float32")
    plain = analysis.weight_gradients(dense_model(), x, y, keras.losses.MeanSquaredError())
    with_l2 = analysis.weight_gradients(model, x, y, keras.losses.MeanSquaredError())
    kernel = keras.ops.convert_to_numpy(model.trainable_variables[0])
    np.testing.assert_allclose(with_l2[0][1] - plain[0][1], 2 * 0.1 * kernel, rtol=1e-4, atol=1e-6)  # d(0.1 |W|^2)
    np.testing.assert_allclose(with_l2[1][1], plain[1][1], rtol=1e-5, atol=1e-7)


def test_batch_norm_in_training_mode_uses_the_batch_and_leaves_the_model_unchanged():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, name="dense"), L.BatchNormalization(name="bn")])
    x = RNG.normal(size=(8, 4)).astype("float32")
    state = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_variables]

    def total(_, y_pred):
        return keras.ops.sum(y_pred)

    kernel = model.get_layer("dense").kernel.path
    trained = dict(analysis.weight_gradients(model, x, None, total, training=True))
    inferred = dict(analysis.weight_gradients(model, x, None, total, training=False))
    # With batch statistics each channel's outputs sum to N * beta whatever W is: the gradient is 0.
    np.testing.assert_allclose(trained[kernel], 0.0, atol=1e-4)
    # With the moving statistics (mean 0, variance 1): d sum(gamma (xW + b) / sqrt(1 + eps)) / dW.
    expected = np.outer(x.sum(axis=0), np.ones(3)) / np.sqrt(1 + model.get_layer("bn").epsilon)
    np.testing.assert_allclose(inferred[kernel], expected, rtol=1e-5)
    for before, v in zip(state, model.non_trainable_variables):  # moving mean and variance not updated
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), before)


def test_dropout_masks_match_a_forward_pass_and_repeat():
    keras.utils.set_random_seed(4)
    # Seeded: on PyTorch Keras draws an unseeded Dropout's mask from torch's global generator.
    model = keras.Sequential([keras.Input((5,)), L.Dense(6, name="dense"), L.Dropout(0.5, seed=7)])
    x = RNG.normal(size=(4, 5)).astype("float32")
    state = [keras.ops.convert_to_numpy(v).copy() for v in model.non_trainable_variables]  # the seed state

    def total(_, y_pred):
        return keras.ops.sum(y_pred)

    first = analysis.weight_gradients(model, x, None, total, variables=[model.get_layer("dense").kernel])
    second = analysis.weight_gradients(model, x, None, total, variables=[model.get_layer("dense").kernel])
    np.testing.assert_array_equal(first[0][1], second[0][1])
    # The same state gives the forward pass the same mask: kept units are scaled by 1 / (1 - 0.5).
    y, _ = model.stateless_call([v.value for v in model.trainable_variables],
                                [v.value for v in model.non_trainable_variables], x, training=True)
    scale = np.where(keras.ops.convert_to_numpy(y) != 0, 2.0, 0.0)
    assert 0 < scale.mean() < 2  # some units dropped, some kept
    np.testing.assert_allclose(first[0][1], x.T @ scale, rtol=1e-5)
    for before, v in zip(state, model.non_trainable_variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), before)


def test_a_subclassed_model_without_a_training_argument():
    class Linear(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(1, kernel_initializer="ones", bias_initializer="zeros")

        def call(self, inputs):
            return self.dense(inputs)

    model = Linear()
    x = np.array([[1.0, 2.0]], "float32")
    model(x)
    grads = analysis.weight_gradients(model, x, None, lambda _, y_pred: keras.ops.sum(y_pred))
    np.testing.assert_allclose(grads[0][1], x.T)


def test_weight_gradients_errors_say_what_was_expected():
    model = dense_model()
    x, y = np.ones((2, 3), "float32"), np.zeros((2, 2), "float32")
    mse = keras.losses.MeanSquaredError()
    with pytest.raises(ValueError, match=r"model must be a keras.Model; received Dense"):
        analysis.weight_gradients(L.Dense(2), x, y, mse)
    with pytest.raises(ValueError, match=r"must be built .* received an unbuilt model"):
        analysis.weight_gradients(keras.Sequential([L.Dense(2)]), x, y, mse)
    with pytest.raises(ValueError, match=r"loss_fn must be a callable .* received str"):
        analysis.weight_gradients(model, x, y, "mse")
    with pytest.raises(ValueError, match=r"training must be True or False; received 'yes'"):
        analysis.weight_gradients(model, x, y, mse, training="yes")
    other = dense_model()
    with pytest.raises(ValueError, match=r"variables must be trainable variables of model .* received '.*kernel'"):
        analysis.weight_gradients(model, x, y, mse, variables=[other.trainable_variables[0]])
    with pytest.raises(ValueError, match=r"received \[\]"):
        analysis.weight_gradients(model, x, y, mse, variables=[])
