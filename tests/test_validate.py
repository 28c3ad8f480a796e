"""The argument checks of cnnkit._validate: what each accepts, what it returns, how it words a refusal."""

import math

import numpy as np
import pytest

from cnnkit import _validate as V


def test_argument_type_error_is_both_a_type_error_and_a_value_error():
    with pytest.raises(TypeError):
        V.positive_int("8", "filters")
    with pytest.raises(ValueError, match=r"^filters must be a positive integer; received '8'\.$"):
        V.positive_int("8", "filters")
    with pytest.raises(ValueError) as info:
        V.positive_int(0, "filters")
    assert not isinstance(info.value, TypeError), "a wrong value of the right type is a plain ValueError"


@pytest.mark.parametrize("value, expected", [(3, 3), (np.int64(3), 3), (np.uint8(1), 1)])
def test_positive_int_accepts_python_and_numpy_integers(value, expected):
    result = V.positive_int(value, "n")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [0, -1, True, False, 2.0, 2.5, "2", None, [2], np.float32(2)])
def test_positive_int_refuses_everything_else(value):
    with pytest.raises(ValueError, match=r"^n must be a positive integer; received "):
        V.positive_int(value, "n")


def test_integer_bounds_reason_and_none():
    assert V.non_negative_int(0, "seed") == 0
    assert V.positive_int(None, "max_detections", allow_none=True) is None
    with pytest.raises(ValueError, match=r"max_detections must be a positive integer or None; received 0\."):
        V.positive_int(0, "max_detections", allow_none=True)
    with pytest.raises(ValueError, match=r"frames must be an integer >= 2 \(motion needs two frames\); received 1\."):
        V.integer(1, "frames", minimum=2, reason="motion needs two frames")
    with pytest.raises(ValueError, match=r"t must be an integer in \[0, 3\]; received 4\."):
        V.integer(4, "t", 0, 3)
    with pytest.raises(ValueError, match=r"k must be an integer <= 5; received 6\."):
        V.integer(6, "k", maximum=5)
    assert V.seed(None) is None and V.seed(7) == 7
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer or None; received -1\."):
        V.seed(-1)


def test_num_classes_is_one_rule_for_every_model():
    assert V.num_classes(1) == 1, "a single logit (binary) and a one-class detector are valid models"
    with pytest.raises(ValueError, match=r"num_classes must be a positive integer; received 0\."):
        V.num_classes(0)


@pytest.mark.parametrize("check, good, bad, words", [
    (V.positive_float, [1e-9, 3, np.float32(0.5)], [0, -1.0, math.nan, math.inf, True, "1"], "a positive number"),
    (V.non_negative_float, [0, 2.5], [-0.1, math.nan, math.inf], "a non-negative number"),
    (V.fraction, [0, 0.5, 1], [-0.01, 1.01, math.nan], r"a number in \[0, 1\]"),
    (V.rate, [0, 0.99], [1, 1.0, -0.5], r"a number in \[0, 1\)"),
    (V.open_fraction, [0.01, 0.99], [0, 1, 1.5], r"a number in \(0, 1\)"),
])
def test_real_number_checks(check, good, bad, words):
    for value in good:
        result = check(value, "x")
        assert isinstance(result, float) and result == float(value)
    for value in bad:
        with pytest.raises(ValueError, match=rf"^x must be {words}; received "):
            check(value, "x")


def test_number_reports_the_value_as_received_and_accepts_none_when_asked():
    with pytest.raises(ValueError, match=r"learning_rate must be a positive number; received 0\.$"):
        V.positive_float(0, "learning_rate")
    assert V.rate(None, "shift", allow_none=True) is None
    assert V.number(-3, "phi") == -3.0
    with pytest.raises(ValueError, match=r"phi must be a finite number; received nan\."):
        V.number(math.nan, "phi")


def test_number_range():
    assert V.number_range([1, 2], "speed") == (1.0, 2.0)
    assert V.number_range((0.1, 0.1), "radius_range", 0.01, 0.5) == (0.1, 0.1)
    for bad in [(2, 1), (0.0, 0.3), (0.1, 0.6), (1,), 3, "ab", (1, math.nan)]:
        with pytest.raises(ValueError, match=r"radius_range must be a \(low, high\) pair of numbers with "
                                             r"0\.01 <= low <= high <= 0\.5; received"):
            V.number_range(bad, "radius_range", 0.01, 0.5)
    with pytest.raises(ValueError, match=r"speed must be a \(low, high\) pair of numbers with 0 < low <= high"):
        V.number_range((0, 1), "speed", minimum=0, min_open=True)


def test_boolean_is_strict():
    assert V.boolean(True, "use_bn") is True and V.boolean(np.bool_(False), "use_bn") is False
    for bad in (0, 1, "True", None):
        with pytest.raises(TypeError, match=r"use_bn must be True or False; received "):
            V.boolean(bad, "use_bn")


def test_choice():
    assert V.choice("same", "padding", ("valid", "same")) == "same"
    assert V.choice("SAME", "padding", ("valid", "same"), case_sensitive=False) == "same"
    assert V.choice(None, "window", ("hann", None)) is None
    assert V.choice(2, "version", {1: "v1", 2: "v2"}) == 2
    with pytest.raises(ValueError, match=r"padding must be one of \('valid', 'same'\); received 'SAME'\."):
        V.choice("SAME", "padding", ("valid", "same"))
    with pytest.raises(ValueError, match=r"verbose must be one of \(0, 1\); received True\."):
        V.choice(True, "verbose", (0, 1))  # True is not the choice 1
    with pytest.raises(ValueError, match=r"mode must be one of"):
        V.choice(np.zeros(3), "mode", ("a", "b"))  # an array compares elementwise: still a clear refusal


def test_distinct_choices():
    assert V.distinct_choices(["b", "a"], "classes", "abc") == ["b", "a"]
    assert V.distinct_choices("a", "classes", "abc") == ["a"]
    for bad in (["a", "a"], ["a", "z"], []):
        with pytest.raises(ValueError, match=r"classes must be one or more distinct names from \('a', 'b', 'c'\)"):
            V.distinct_choices(bad, "classes", "abc")
    with pytest.raises(ValueError, match=r"classes must be 2 or more distinct names"):
        V.distinct_choices(["a"], "classes", "abc", min_count=2)


def test_activation():
    import keras

    assert V.activation(None) is keras.activations.linear
    assert V.activation("relu") is keras.activations.relu
    for bad in ("relux", 3):
        with pytest.raises(ValueError, match=r"activation must be the name of a Keras activation .* or None; received"):
            V.activation(bad)


def test_instance_names_the_type():
    assert V.instance({}, "kwargs", dict, "a dict") == {}
    with pytest.raises(TypeError, match=r"model must be a keras\.Model; received list \[1, 2\]\."):
        V.instance([1, 2], "model", dict, "a keras.Model")


def test_tuples():
    assert V.pair(3, "kernel_size") == (3, 3)
    assert V.pair([2, np.int32(4)], "kernel_size") == (2, 4)
    assert V.triple(2, "strides") == (2, 2, 2)
    assert V.as_tuple(0.5, "scale", 2, check=V.positive_float, each="positive number") == (0.5, 0.5)
    for bad in ((1, 2, 3), (0, 1), "33", 2.0, None):
        with pytest.raises(ValueError, match=r"^kernel_size must be a positive integer or 2 positive integers "
                                             r"\(height, width\); received "):
            V.pair(bad, "kernel_size")
    with pytest.raises(TypeError):
        V.pair("3", "kernel_size")


def test_integer_and_number_sequences():
    assert V.positive_ints([16, 32], "widths") == (16, 32)
    assert V.positive_ints(np.array([1, 2, 3, 4]), "depths", length=4) == (1, 2, 3, 4)
    with pytest.raises(ValueError, match=r"depths must be 4 positive integers \(one per stage\); received \(1, 2\)\."):
        V.positive_ints((1, 2), "depths", length=4, what="one per stage")
    with pytest.raises(ValueError, match=r"widths must be a sequence of at least 2 positive integers"):
        V.positive_ints([8], "widths", min_length=2)
    with pytest.raises(ValueError, match=r"widths must be a non-empty sequence of positive integers; received \[\]\."):
        V.positive_ints([], "widths")
    assert V.positive_floats(2, "sizes") == (2.0,)
    with pytest.raises(ValueError, match=r"variances must be 4 positive numbers"):
        V.positive_floats([0.1, 0.1, 0.2], "variances", length=4)


def test_shapes():
    assert V.image_shape((32, 32, 3)) == (32, 32, 3)
    assert V.image_shape([None, None, 1]) == (None, None, 1)
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\) with positive integers; "
                                         r"received \(None, 32, 3\)\."):
        V.image_shape((None, 32, 3), unknown_size=False)
    for bad in ((32, 32), (32, 32, None), (0, 32, 3), (32.0, 32, 3), 32):
        with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\) with positive integers "
                                             r"\(height and width may be None\)"):
            V.image_shape(bad)
    assert V.shape((4000, 1), "input_shape", ("samples", "channels")) == (4000, 1)
    assert V.image_size(None) is None and V.image_size(16) == (16, 16)


def test_finite_array():
    out = V.finite_array([[1, 2]], "boxes", ndim=2)
    assert out.dtype == np.float32 and out.shape == (1, 2)
    with pytest.raises(ValueError, match=r"boxes must contain finite numbers only; received 1 NaN or infinite values"):
        V.finite_array([1.0, np.nan], "boxes")
    with pytest.raises(ValueError, match=r"boxes must be an array with 2 axes; received an array of shape \(3,\)"):
        V.finite_array([1, 2, 3], "boxes", ndim=2)
    with pytest.raises(TypeError, match=r"boxes must be an array of real numbers"):
        V.finite_array(["a"], "boxes")


def test_images_in_unit_range_says_to_divide_by_255():
    assert V.images_in_unit_range(np.full((2, 4, 4, 1), 0.5)).dtype == np.float32
    with pytest.raises(ValueError, match=r"images must be float images in \[0, 1\]; received an array of shape "
                                         r"\(1, 2, 2, 3\) and dtype uint8 with values up to 255: 0-255 data, divide "
                                         r"it by 255 first"):
        V.images_in_unit_range(np.full((1, 2, 2, 3), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"values from 0 to 200 \(0-255 data\? divide it by 255 first\)"):
        V.images_in_unit_range(np.array([[0.0, 200.0]]))
    with pytest.raises(ValueError, match=r"received values from -1 to 1\.$"):
        V.images_in_unit_range(np.array([[-1.0, 1.0]]))


def test_class_ids():
    assert V.class_ids(np.array([[0, 2]], dtype=np.uint8), 3).dtype == np.int64
    with pytest.raises(ValueError, match=r"labels must be integer class ids in \[0, 2\]; received values from 0 to 5 \(num_classes=3\)\."):
        V.class_ids([0, 5], 3)
    with pytest.raises(TypeError, match=r"take the argmax over the class axis first"):
        V.class_ids(np.zeros((2, 3)), 3)


def test_describe_keeps_messages_short():
    assert V.describe(np.zeros((100, 100))) == "an array of shape (100, 100) and dtype float64"
    assert len(V.describe(list(range(1000)))) <= 80


def test_shapes_of_every_backend_count_as_sequences():
    import keras

    class Shape:  # what tf.TensorShape looks like: sized and iterable, but not a Sequence
        def __init__(self, *dims):
            self.dims = dims

        def __len__(self):
            return len(self.dims)

        def __iter__(self):
            return iter(self.dims)

    assert V.as_sequence(Shape(4, 4, 8)) == (4, 4, 8)
    assert V.positive_ints(keras.ops.zeros((2, 3)).shape, "shape") == (2, 3)
    for not_a_sequence in ("ab", {1: 2}, {1, 2}, 3, np.zeros((2, 2))):
        assert V.as_sequence(not_a_sequence) is None


def test_value_range_finds_nan_and_infinity_without_a_mask():
    assert V.value_range(np.array([[0.0, 0.5], [1.0, 0.25]]), "x") == (0.0, 1.0)
    assert V.value_range(np.zeros((0, 3)), "x") == (0.0, 0.0)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"x must contain finite numbers only; received 1 NaN or infinite"):
            V.value_range(np.array([0.0, bad, 1.0]), "x")
    with pytest.raises(TypeError, match=r"x must be an array of real numbers"):
        V.value_range(np.array(["a"]), "x")


def test_images_in_unit_range_refuses_nan_and_returns_float32_without_a_copy():
    images = np.full((2, 4, 4, 1), 0.5, dtype=np.float32)
    assert V.images_in_unit_range(images) is images
    images[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"images must contain finite numbers only; received 1 NaN"):
        V.images_in_unit_range(images)


def test_model_inputs_refuses_0_255_images_and_nan_but_not_signed_inputs():
    spectrograms = np.random.default_rng(0).normal(-4, 2, (3, 8, 8, 1)).astype(np.float32)  # log-mel: negative
    assert V.model_inputs(spectrograms) is spectrograms
    tokens = np.arange(12).reshape(3, 4)  # token ids: integers above 1, but not images
    assert V.model_inputs(tokens) is tokens
    brightened = np.full((2, 4, 4, 1), 1.9, np.float32)  # synthetic images with a +1 offset: not 0-255 data
    assert V.model_inputs(brightened) is brightened
    dataset = object()  # anything that is not an array (a tf.data.Dataset, a dict) passes to Keras as is
    assert V.model_inputs(dataset) is dataset
    with pytest.raises(TypeError, match=r"x must be an array of images .* or a dataset; received 'a dataset'"):
        V.model_inputs("a dataset")  # a string or a number is neither
    with pytest.raises(ValueError, match=r"x must be float images in \[0, 1\]; received an array of shape "
                                         r"\(2, 4, 4, 3\) and dtype uint8 with values up to 255.*divide it by 255"):
        V.model_inputs(np.full((2, 4, 4, 3), 255, np.uint8))
    with pytest.raises(ValueError, match=r"values from 0 to 255 \(0-255 data\? divide it by 255 first"):
        V.model_inputs(np.linspace(0, 255, 2 * 2 * 2 * 1 * 4).reshape(2, 4, 2, 1, 2).astype(np.float32))
    with pytest.raises(ValueError, match=r"x must contain finite numbers only"):
        V.model_inputs(np.array([[np.nan, 1.0]]))


def test_class_ids_accepts_whole_floats_only_when_asked_and_never_truncates():
    assert V.class_ids(np.array([0.0, 2.0]), 3, "y", whole_floats=True).tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"y must be integer class ids in \[0, 2\] \(whole numbers\); received an "
                                         r"array of shape \(2,\) and dtype float64 with 1 fractional values such as 2\.9"):
        V.class_ids(np.array([0.0, 2.9]), 3, "y", whole_floats=True)
    with pytest.raises(ValueError, match=r"finite numbers only"):
        V.class_ids(np.array([0.0, np.nan]), 3, "y", whole_floats=True)
    with pytest.raises(ValueError, match=r"received values from 0 to 3 \(num_classes=3\)\."):
        V.class_ids(np.array([0.0, 3.0]), 3, "y", whole_floats=True)
    with pytest.raises(TypeError, match=r"take the argmax"):
        V.class_ids(np.array([0.0, 2.0]), 3, "y")


def test_output_file(tmp_path):
    assert V.output_file(tmp_path / "new" / "m.keras", "--output", ".keras") == tmp_path / "new" / "m.keras"
    with pytest.raises(ValueError, match=r"--output must be a path ending in \.keras; received '.*m\.h5'\."):
        V.output_file(tmp_path / "m.h5", "--output", ".keras")
    existing = tmp_path / "old.keras"
    existing.write_bytes(b"a good model")
    with pytest.raises(ValueError, match=r"--output must be a path where no file exists yet \(pass overwrite"):
        V.output_file(existing, "--output", ".keras")
    assert V.output_file(existing, "--output", ".keras", overwrite=True) == existing
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(ValueError, match=r"not a folder"):
        V.output_file(tmp_path / "dir.keras", "--output", ".keras")
    with pytest.raises(TypeError, match=r"--output must be a path ending in \.keras; received 3"):
        V.output_file(3, "--output", ".keras")


def test_output_file_in_a_folder_that_cannot_be_written(tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    with pytest.raises(ValueError, match=r"--output must be a path in a writable folder \(.*a_file' is not writable"):
        V.output_file(a_file / "m.keras", "--output", ".keras")
    # A read-only folder (os.access is what the check asks; as root every folder is writable, so it is mocked)
    monkeypatch.setattr(V.os, "access", lambda path, mode: str(path) != str(tmp_path))
    with pytest.raises(ValueError, match=r"--output must be a path in a writable folder"):
        V.output_file(tmp_path / "missing" / "m.keras", "--output", ".keras")


def test_integer_array_refuses_fractions_instead_of_truncating():
    assert V.integer_array([1.0, -1.0], "classes").tolist() == [1, -1]
    assert V.integer_array(np.array([2], np.uint8), "classes").dtype == np.int64
    with pytest.raises(ValueError, match=r"classes must be integers \(whole numbers\); received .* 1 fractional "
                                         r"values such as 0\.7"):
        V.integer_array([0.7, 1.0], "classes")
    with pytest.raises(ValueError, match=r"finite numbers only"):
        V.integer_array([np.nan], "classes")
    with pytest.raises(TypeError, match=r"classes must be integers; received"):
        V.integer_array(["a"], "classes")


def test_box_targets():
    pad = [-1, -1, -1, -1]
    boxes, classes = V.box_targets([[[0, 0, 4, 4], pad]], [[1, -1]], num_classes=2)
    assert boxes.shape == (1, 2, 4) and classes.tolist() == [[1, -1]]
    V.box_targets([[[5, 5, 1, 1]]], [[-1]], num_classes=2)  # an inverted padding row is not a box
    cases = [
        (([[[0, 0, np.nan, 4]]], [[0]]), r"y\['boxes'\] must contain finite numbers only"),
        (([[[4, 0, 0, 4]]], [[0]]), r"y\['boxes'\] must be 'xyxy' boxes with x2 >= x1 and y2 >= y1; received 1 "
                                     r"inverted boxes such as \[4\.0, 0\.0, 0\.0, 4\.0\]"),
        (([[[0, 0, 4, 4]]], [[2]]), r"y\['classes'\] must be class ids in \[0, 1\] or -1 \(padding\); received "
                                     r"values from 2 to 2\."),
        (([[[0, 0, 4, 4]]], [[0.7]]), r"y\['classes'\] must be class ids .* \(whole numbers\)"),
        (([[[0, 0, 4, 4], pad]], [[0]]), r"one box per class id .* received boxes of shape \(1, 2, 4\) and "
                                          r"classes of shape \(1, 1\)"),
    ]
    for (b, c), pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            V.box_targets(b, c, num_classes=2)


def test_memory_refuses_an_allocation_estimate_above_the_limit():
    V.memory(10**6, "num_samples", 1000, "the images")
    with pytest.raises(ValueError, match=r"num_samples must be small enough for the images to fit in 4 GB; received "
                                         r"1000000000, which would need about 1\.2e\+04 GB\."):
        V.memory(12 * 10**12, "num_samples", 10**9, "the images")
