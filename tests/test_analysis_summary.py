"""cnnkit.analysis.summary_table: multiply-accumulates counted by hand and published in the papers."""

import keras
import pytest
from analysis_models import chain_2d, custom_layer, time_distributed

from cnnkit import analysis

L = keras.layers


def test_macs_by_hand():
    inputs = keras.Input((8, 8, 4))
    x = L.Conv2D(6, 3, name="conv")(inputs)                             # 6x6 out
    g = L.Conv2D(6, 3, padding="same", groups=2, name="grouped")(x)     # 6x6 out, 3 inputs per group
    d = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, name="dw")(g)  # 3x3 out, 12 ch
    s = L.SeparableConv2D(5, 3, padding="same", name="sep")(d)          # 3x3 out
    t = L.Conv2DTranspose(2, 2, strides=2, name="up")(s)                # from 3x3 to 6x6
    dense = L.Dense(7, name="dense")(t)                                  # per pixel: 36 * 2 * 7
    out = L.Dense(3, name="head")(L.GlobalAveragePooling2D()(dense))
    model = keras.Model(inputs, out)
    table = analysis.summary_table(model)
    expected = {
        "conv": 36 * 9 * 4 * 6,
        "grouped": 36 * 9 * 3 * 6,
        "dw": 9 * 9 * 6 * 2,
        "sep": 9 * 9 * 12 + 9 * 12 * 5,
        "up": 9 * 4 * 5 * 2,
        "dense": 36 * 2 * 7,
        "head": 7 * 3,
    }
    assert {name: table[name].macs for name in expected} == expected
    assert table.macs == sum(expected.values()) and table.flops == 2 * table.macs
    assert table["conv"].params == 9 * 4 * 6 + 6 and table["dw"].params == 9 * 6 * 2 + 12
    assert table.params == model.count_params()
    assert "total:" in str(table) and table.to_rows()[0]["name"] == "conv"


def test_macs_of_a_traced_custom_layer_and_of_time_distributed():
    table = analysis.summary_table(custom_layer())
    # first conv: 24*24 * 9 * 1 * 2; ResidualPair at 12x12: conv_a 9*2*2, conv_b 9*2*2, shortcut 1*2*2
    assert table.rows[0].macs == 24 * 24 * 9 * 2
    assert table["pair"].macs == 144 * (36 + 36 + 4)
    assert table["pair"].params == (9 * 2 * 2 + 2) * 2 + (1 * 2 * 2 + 2)  # its three convs
    td = analysis.summary_table(time_distributed())
    assert td.rows[0].macs == 6 * 8 * 8 * 9 * 1 * 2  # per frame, six frames


# Published counts: MobileNet (Howard et al. 2017, Table 8): 569 M mult-adds, 4.2 M parameters;
# MobileNetV2 (Sandler et al. 2018, Table 4): 300 M multiply-adds, 3.4 M parameters;
# ResNet-50 (He et al. 2016, Table 1): 3.8 x 10^9 FLOPs, counted as multiply-adds.
@pytest.mark.parametrize(
    "name, macs, params, params_tolerance",
    [("MobileNet", 569e6, 4.2e6, 0.02), ("MobileNetV2", 300e6, 3.4e6, 0.05), ("ResNet50", 3.8e9, 25.6e6, 0.01)],
)
def test_published_multiply_adds(name, macs, params, params_tolerance):
    model = getattr(keras.applications, name)(weights=None, input_shape=(224, 224, 3))
    table = analysis.summary_table(model)
    assert table.macs == pytest.approx(macs, rel=0.02)
    # Keras also counts batch-norm moving statistics, which the papers' counts leave out.
    assert table.trainable_params == pytest.approx(params, rel=params_tolerance)
    assert table.params == model.count_params() and not table.unknown


def test_macs_need_an_input_shape_when_the_size_is_unknown():
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(None, None, 3))
    table = analysis.summary_table(model, input_shape=(224, 224, 3))
    fixed = analysis.summary_table(keras.applications.VGG16(weights=None, include_top=False, input_shape=(224, 224, 3)))
    assert table.macs == fixed.macs and table.params == model.count_params()
    assert analysis.summary_table(model).unknown  # without input_shape the MACs cannot be counted


def test_errors_say_what_was_expected():
    with pytest.raises(ValueError, match=r"has no known input shape yet"):
        analysis.summary_table(keras.Sequential([L.Dense(2)]))
    with pytest.raises(ValueError, match=r"input_shape must give one shape .* received \(32, 32\)"):
        analysis.summary_table(chain_2d(), input_shape=(32, 32))
    with pytest.raises(ValueError, match=r"input_shape must agree with the model's fixed input shape"):
        analysis.summary_table(chain_2d(), input_shape=(40, 36, 1))
    with pytest.raises(ValueError, match=r"model must be a keras.Model; received str"):
        analysis.summary_table("vgg")
    with pytest.raises(KeyError, match=r"No layer named 'nope'"):
        analysis.summary_table(chain_2d())["nope"]


def test_the_table_as_rows_and_text():
    table = analysis.summary_table(custom_layer())
    assert len(table) == 2 and [r.name for r in table] == [r["name"] for r in table.to_rows()]
    assert table.to_rows()[1] == {"name": "pair", "kind": "ResidualPair", "output_shape": (12, 12, 2),
                                  "params": 82, "trainable_params": 82, "macs": 144 * 76}
    assert str(table).splitlines()[-1].startswith("total: 102 parameters (102 trainable), 21,312 MACs per sample")
    assert repr(table) == str(table)
