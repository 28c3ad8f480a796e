"""NumPy reference implementations used to teach convolution and to test the fast layers.

Everything here follows Keras's conventions, so the results can be compared
number for number with ``keras.layers.Conv2D``:

* images are channels-last: ``(batch, height, width, channels)`` (a single
  ``(height, width, channels)`` image is accepted too);
* kernels are ``(kernel_h, kernel_w, in_channels, out_channels)``;
* ``padding="valid"`` adds nothing, ``padding="same"`` pads so that the output
  has ``ceil(n / stride)`` positions, putting the odd pixel at the end (bottom /
  right), exactly as TensorFlow and Keras do.

Two convolutions are given: :func:`conv2d_loops` is the readable definition, and
:func:`conv2d_im2col` rewrites the same sum as one matrix product, the trick
that makes convolution fast on real hardware.
"""

from __future__ import annotations

import math

import numpy as np

from cnnkit import _validate as V

PADDINGS = ("valid", "same")


# ---------------------------------------------------------------- argument checks


def _check_padding(padding: str) -> str:
    return V.choice(padding, "padding", PADDINGS, case_sensitive=False)


def _floats(x, name: str = "x") -> np.ndarray:
    """``x`` as a float64 array of finite real numbers: a string, complex numbers, NaN or infinity are refused."""
    return V.finite_array(x, name, np.float64)


def _as_batch(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Accept (H, W, C) or (N, H, W, C); return a 4D array and whether a batch axis was added."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number):
        raise V.ArgumentTypeError(f"x must be an array of numbers; received {V.describe(x)}.")
    if x.ndim in (3, 4) and 0 in x.shape:
        raise ValueError(f"x must be a non-empty image (height, width, channels) or batch; received {V.describe(x)}.")
    if x.ndim == 3:
        return x[None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(
        f"Expected an image (height, width, channels) or a batch (batch, height, width, channels); "
        f"received an array of shape {x.shape}."
    )


# ---------------------------------------------------------------- sizes and padding


def effective_kernel_size(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``(kernel - 1) * dilation + 1``."""
    return (V.positive_int(kernel, "kernel") - 1) * V.positive_int(dilation, "dilation") + 1


def conv_output_size(n: int, kernel: int, stride: int = 1, padding: str = "valid", dilation: int = 1) -> int:
    """Number of output positions along one axis of a convolution or pooling window.

    ``valid``: ``floor((n - k_eff) / stride) + 1`` with ``k_eff = (kernel - 1) * dilation + 1``.
    ``same``:  ``ceil(n / stride)``.

    Example:
        >>> conv_output_size(32, kernel=3, stride=2, padding="valid")
        15
    """
    for name, value in (("n", n), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        V.positive_int(value, name)
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(n / stride)
    k_eff = effective_kernel_size(kernel, dilation)
    if k_eff > n:
        raise ValueError(
            f"the (dilated) kernel must fit in the input with padding='valid' (kernel span <= input size); "
            f"received kernel span {k_eff} and input size {n}."
        )
    return (n - k_eff) // stride + 1


def padding_amounts(n: int, kernel: int, stride: int = 1, padding: str = "valid", dilation: int = 1) -> tuple[int, int]:
    """Zeros added before and after one axis (TensorFlow/Keras rule: the extra one goes after)."""
    out = conv_output_size(n, kernel, stride, padding, dilation)
    if _check_padding(padding) == "valid":
        return 0, 0
    total = max((out - 1) * stride + effective_kernel_size(kernel, dilation) - n, 0)
    return total // 2, total - total // 2


def pad_input(x: np.ndarray, kernel, stride=1, padding: str = "valid", dilation=1, value: float = 0.0) -> np.ndarray:
    """Pad a (N, H, W, C) batch as Keras would before sliding the window (float64; ``value`` may be NaN or inf)."""
    x = V.finite_array(x, "x", np.float64, ndim=4)
    if 0 in x.shape:
        raise ValueError(f"x must be a non-empty batch (batch, height, width, channels); received {V.describe(x)}.")
    if not V.is_number(value):  # NaN and infinity are fine: _pool pads with NaN, a marker of "no pixel"
        V.fail("value", "a number (NaN and infinity included)", value, wrong_type=True)
    (kh, kw), (sh, sw), (dh, dw) = V.pair(kernel, "kernel"), V.pair(stride, "stride"), V.pair(dilation, "dilation")
    top, bottom = padding_amounts(x.shape[1], kh, sh, padding, dh)
    left, right = padding_amounts(x.shape[2], kw, sw, padding, dw)
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


# ---------------------------------------------------------------- convolution


def conv2d_loops(x, kernel, bias=None, stride=1, padding: str = "valid", dilation=1) -> np.ndarray:
    """2D convolution (really cross-correlation, as in every deep learning library), by definition.

    For every output position, take the input patch under the kernel and sum
    ``patch * kernel`` over the kernel window and the input channels, once per
    output channel. The loops run over output positions; the sum over the
    window is one ``tensordot``.

    Args:
        x: input, ``(H, W, C_in)`` or ``(N, H, W, C_in)``.
        kernel: weights, ``(k_h, k_w, C_in, C_out)``.
        bias: optional ``(C_out,)``.
        stride, dilation: int or ``(h, w)`` pair.
        padding: ``"valid"`` or ``"same"``.

    Returns:
        ``(N, H_out, W_out, C_out)`` (or without ``N`` if ``x`` had none), float64.
    """
    x, added_batch = _as_batch(_floats(x))
    kernel = _check_kernel(kernel, x.shape[-1])
    (sh, sw), (dh, dw) = V.pair(stride, "stride"), V.pair(dilation, "dilation")
    kh, kw = kernel.shape[:2]
    padding = _check_padding(padding)
    _check_window(x, (kh, kw), (dh, dw), padding, "kernel")
    out_h = conv_output_size(x.shape[1], kh, sh, padding, dh)
    out_w = conv_output_size(x.shape[2], kw, sw, padding, dw)
    xp = pad_input(x, (kh, kw), (sh, sw), padding, (dh, dw))

    out = np.zeros((x.shape[0], out_h, out_w, kernel.shape[-1]))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * sh, j * sw
            # The patch under the kernel: every dilation-th pixel of the window.
            patch = xp[:, top : top + (kh - 1) * dh + 1 : dh, left : left + (kw - 1) * dw + 1 : dw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    if bias is not None:
        out += _check_bias(bias, kernel.shape[-1])
    return out[0] if added_batch else out


def im2col(x, kernel_size, stride=1, padding: str = "valid", dilation=1) -> np.ndarray:
    """Unfold every kernel-sized patch into a row.

    Returns an array of shape ``(N, H_out, W_out, k_h * k_w * C)``: position
    ``(n, i, j)`` holds the flattened patch that produces output ``(n, i, j)``,
    in the same ``(k_h, k_w, C)`` order as a Keras kernel reshaped to
    ``(k_h * k_w * C, C_out)``.
    """
    x, _ = _as_batch(_floats(x))
    (kh, kw), (sh, sw), (dh, dw) = V.pair(kernel_size, "kernel_size"), V.pair(stride, "stride"), V.pair(dilation, "dilation")
    padding = _check_padding(padding)
    _check_window(x, (kh, kw), (dh, dw), padding, "kernel_size")
    out_h = conv_output_size(x.shape[1], kh, sh, padding, dh)
    out_w = conv_output_size(x.shape[2], kw, sw, padding, dw)
    xp = pad_input(x, (kh, kw), (sh, sw), padding, (dh, dw))

    # Row index of each output position and each kernel tap, combined by broadcasting.
    rows = (np.arange(out_h) * sh)[:, None] + (np.arange(kh) * dh)[None, :]  # (out_h, kh)
    cols = (np.arange(out_w) * sw)[:, None] + (np.arange(kw) * dw)[None, :]  # (out_w, kw)
    patches = xp[:, rows[:, None, :, None], cols[None, :, None, :], :]  # (N, out_h, out_w, kh, kw, C)
    return patches.reshape(x.shape[0], out_h, out_w, kh * kw * x.shape[-1])


def conv2d_im2col(x, kernel, bias=None, stride=1, padding: str = "valid", dilation=1) -> np.ndarray:
    """The same convolution as :func:`conv2d_loops`, computed as one matrix product.

    ``im2col`` turns the input into a matrix of patches; the kernel becomes a
    ``(k_h * k_w * C_in, C_out)`` matrix; their product is the output. This is
    how libraries reach near-peak speed: matrix multiplication is the most
    optimised routine on every CPU and GPU.
    """
    x = _floats(x)
    x4, added_batch = _as_batch(x)
    kernel = _check_kernel(kernel, x4.shape[-1])
    cols = im2col(x4, kernel.shape[:2], stride, padding, dilation)
    out = cols @ kernel.reshape(-1, kernel.shape[-1])
    if bias is not None:
        out += _check_bias(bias, kernel.shape[-1])
    return out[0] if added_batch else out


def _check_window(x: np.ndarray, size: tuple, dilation: tuple, padding: str, name: str) -> None:
    """With padding='valid', the (dilated) window must fit in the input: say so naming the window's argument."""
    spans = tuple((k - 1) * d + 1 for k, d in zip(size, dilation))
    if padding == "valid" and (spans[0] > x.shape[1] or spans[1] > x.shape[2]):
        raise ValueError(f"{name} must fit in x with padding='valid' (a span <= the height and width of x, "
                         f"{x.shape[1:3]}); received {name} {size} with dilation {dilation}, a span of {spans}.")


def _check_bias(bias, out_channels: int) -> np.ndarray:
    bias = _floats(bias, "bias")
    if bias.shape != (out_channels,):
        raise ValueError(f"bias must have shape (out_channels,) = ({out_channels},); received {V.describe(bias)}.")
    return bias


def _check_kernel(kernel, in_channels: int) -> np.ndarray:
    kernel = _floats(kernel, "kernel")
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must have shape (k_h, k_w, in_channels, out_channels); received shape {kernel.shape}."
        )
    if kernel.shape[2] != in_channels or 0 in kernel.shape:
        raise ValueError(
            f"kernel must have shape (k_h, k_w, in_channels, out_channels) with in_channels = {in_channels} "
            f"(the channels of x) and no empty axis; received {V.describe(kernel)}."
        )
    return kernel


# ---------------------------------------------------------------- pooling


def _pool(x, pool_size, stride, padding: str, reduce: str) -> np.ndarray:
    x, added_batch = _as_batch(_floats(x))
    (ph, pw) = V.pair(pool_size, "pool_size")
    (sh, sw) = V.pair(pool_size if stride is None else stride, "stride")
    padding = _check_padding(padding)
    _check_window(x, (ph, pw), (1, 1), padding, "pool_size")
    out_h = conv_output_size(x.shape[1], ph, sh, padding)
    out_w = conv_output_size(x.shape[2], pw, sw, padding)
    # Padded positions never win a max and are left out of an average (TensorFlow's rule):
    # pad with NaN and let the nan-aware reductions skip them.
    xp = pad_input(x, (ph, pw), (sh, sw), padding, value=np.nan)
    out = np.empty((x.shape[0], out_h, out_w, x.shape[-1]))
    reducer = np.nanmax if reduce == "max" else np.nanmean
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, i * sh: i * sh + ph, j * sw: j * sw + pw, :]
            out[:, i, j, :] = reducer(window, axis=(1, 2))
    return out[0] if added_batch else out


def max_pool2d(x, pool_size=2, stride=None, padding: str = "valid") -> np.ndarray:
    """Max pooling by definition: the largest value in each window, channel by channel.

    Matches ``keras.layers.MaxPooling2D``: ``stride`` defaults to ``pool_size``;
    with ``padding="same"`` the padded positions never win.

    Args:
        x: ``(H, W, C)`` or ``(N, H, W, C)``.
        pool_size, stride: int or ``(h, w)`` pair.
        padding: ``"valid"`` or ``"same"``.

    Returns:
        ``(N, H_out, W_out, C)`` (or without ``N``), float64.

    Example:
        >>> max_pool2d(np.arange(16.0).reshape(4, 4, 1))[..., 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    return _pool(x, pool_size, stride, padding, "max")


def avg_pool2d(x, pool_size=2, stride=None, padding: str = "valid") -> np.ndarray:
    """Average pooling by definition: the mean of each window, channel by channel.

    Matches ``keras.layers.AveragePooling2D``: with ``padding="same"`` the mean
    is over the real pixels of a window only (padding is not counted as zeros).

    Example:
        >>> avg_pool2d(np.arange(16.0).reshape(4, 4, 1))[..., 0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
    """
    return _pool(x, pool_size, stride, padding, "avg")


def adaptive_bins(n: int, out: int) -> list[tuple[int, int]]:
    """``[(start, end), ...]``: the pixels ``start:end`` that output ``i`` of adaptive pooling averages.

    PyTorch's rule (``AdaptiveAvgPool2d``), which Keras's adaptive pooling
    follows too: ``start = floor(i * n / out)``, ``end = ceil((i + 1) * n / out)``.
    The bins all have ``n / out`` pixels when ``out`` divides ``n``, and
    otherwise differ in size and may overlap.

    Example:
        >>> adaptive_bins(7, 4)
        [(0, 2), (1, 4), (3, 6), (5, 7)]
    """
    for name, value in (("n", n), ("out", out)):
        V.positive_int(value, name)
    return [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size) -> np.ndarray:
    """Adaptive average pooling to a fixed ``(out_h, out_w)`` whatever the input size.

    Each output position averages its bin (see :func:`adaptive_bins`). This is
    what lets the seed's SimpleCNN accept any image size.

    Example:
        >>> adaptive_avg_pool2d(np.ones((7, 9, 2)), (4, 4)).shape
        (4, 4, 2)
    """
    x, added_batch = _as_batch(_floats(x))
    out_h, out_w = V.pair(output_size, "output_size")
    rows, cols = adaptive_bins(x.shape[1], out_h), adaptive_bins(x.shape[2], out_w)
    out = np.empty((x.shape[0], out_h, out_w, x.shape[-1]))
    for i, (top, bottom) in enumerate(rows):
        for j, (left, right) in enumerate(cols):
            out[:, i, j, :] = x[:, top:bottom, left:right, :].mean(axis=(1, 2))
    return out[0] if added_batch else out
