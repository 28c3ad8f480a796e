"""Look inside a Keras model: receptive fields, parameters and MACs per layer, feature maps, Grad-CAM, gradients.

Two tables describe any functional or ``Sequential`` model built from
convolution, pooling and dense layers (1D, 2D or 3D; nested models, branches
that merge, and custom layers too):

* :func:`receptive_field` (:mod:`~cnnkit.analysis.receptive_fields`) — for every
  layer, how large a region of the input one output unit sees, the effective
  stride and where the first unit's region starts;
* :func:`summary_table` (:mod:`~cnnkit.analysis.summary`) — for every layer, its
  output shape, parameters and multiply-accumulates (MACs), with totals.

Both print as tables, look rows up by layer name (``table["conv1"]``) and give
plain dicts with ``to_rows()``. What a model computes on an image
(:mod:`~cnnkit.analysis.inspect`): :func:`feature_maps`, :func:`grad_cam`,
:func:`occlusion_map`, :func:`last_conv_layer`,
:func:`visualize_filters`. Gradients on every backend
(:mod:`~cnnkit.analysis.autodiff`): :func:`gradients` of a function written
with ``keras.ops``, :func:`weight_gradients` of a loss with respect to a
model's weights. :func:`flatten_layers` lists a model's layers including the
ones nested in custom layers.

The tables come from one graph walker (``cnnkit/analysis/_graph.py``), the
only code here that reads Keras internals.
"""

from cnnkit.analysis._graph import flatten_layers
from cnnkit.analysis.autodiff import gradients, weight_gradients
from cnnkit.analysis.inspect import (
    feature_maps,
    grad_cam,
    last_conv_layer,
    occlusion_map,
    visualize_filters,
)
from cnnkit.analysis.receptive_fields import FieldRow, ReceptiveField, receptive_field
from cnnkit.analysis.summary import SummaryRow, SummaryTable, summary_table

__all__ = [
    "FieldRow",
    "ReceptiveField",
    "SummaryRow",
    "SummaryTable",
    "feature_maps",
    "flatten_layers",
    "grad_cam",
    "gradients",
    "last_conv_layer",
    "occlusion_map",
    "receptive_field",
    "summary_table",
    "visualize_filters",
    "weight_gradients",
]
