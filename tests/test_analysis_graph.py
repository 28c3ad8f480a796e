"""The graph walker behind receptive_field and summary_table: repeatable answers."""

import collections

import keras
import pytest

from cnnkit import analysis
from cnnkit.layers import ConvBNAct, StochasticDepth


def identity_then_traced_blocks(blocks=8):
    """Custom layers the walker traces: StochasticDepth (at inference it returns its input unchanged,
    so its traced graph has no node holding its input) before ConvBNAct (traced into conv, bn, act)."""
    inputs = keras.Input((64, 64, 1))
    x = inputs
    for _ in range(blocks):
        x = ConvBNAct(2, 3)(StochasticDepth(0.1)(x))
    return keras.Model(inputs, x)


def test_receptive_field_is_repeatable_after_identity_custom_layers():
    # Eight 3x3 convolutions: 1 + 8 * 2 = 17. Before the fix, 13 of 30 calls gave 13, 15, 11, 9 or 1.
    model = identity_then_traced_blocks()
    sizes = collections.Counter(analysis.receptive_field(model).size for _ in range(30))
    assert sizes == {(17, 17): 30}


def test_analysis_leaves_no_graph_nodes_on_traced_sublayers():
    # Tracing a custom layer calls its sublayers symbolically, which appends a node to each; the
    # walker removes them again (before: one more node per call on every traced sublayer).
    model = identity_then_traced_blocks(blocks=2)
    sublayers = [sub for layer in model.layers for sub in layer._flatten_layers(include_self=False)]
    before = [(len(s._inbound_nodes), len(s._outbound_nodes)) for s in sublayers]
    for _ in range(3):
        analysis.receptive_field(model)
        analysis.summary_table(model)
    assert [(len(s._inbound_nodes), len(s._outbound_nodes)) for s in sublayers] == before
