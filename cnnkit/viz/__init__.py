"""Every plot of the course, importable as ``cnnkit.viz.<function>``.

Conventions, the same for every function here:

* a single-panel plot takes ``ax=None`` (draw into a new figure) or an
  existing Matplotlib ``Axes``; a multi-panel plot takes ``axes=None`` or a
  sequence of ``Axes``;
* every function returns the ``Figure`` it drew on;
* nothing changes Matplotlib's global settings (rcParams).

In a notebook, end the plotting line with ``;`` (or assign the figure) so
Jupyter shows the figure once.

The functions live in topic modules, and this package re-exports them all:

================  ===========================================================
module            plots
================  ===========================================================
``core``          images, kernels, bar and line charts; ``new_axes`` / ``grid_axes``
``training``      training curves, the confusion matrix, predictions
``inspect``       inside a CNN: filters, feature maps, Grad-CAM, receptive fields, patches
``backbones``     gradient norms through depth, trade-off charts, pyramid levels
``detection``     boxes, keypoints, anchors, precision-recall and AP-vs-IoU curves
``segmentation``  masks, overlays, per-class IoU
``video``         filmstrips, space-time slices, temporal filters and saliency
``audio``         waveforms, spectrograms, the mel filterbank
================  ===========================================================
"""

from cnnkit.viz.audio import show_filterbank, show_sounds, show_spectrogram, show_waveform
from cnnkit.viz.backbones import plot_gradient_norms, plot_tradeoff, show_pyramid
from cnnkit.viz.core import (
    DPI,
    bar_chart,
    grid_axes,
    line_plot,
    new_axes,
    show_image,
    show_images,
    show_kernel,
)
from cnnkit.viz.detection import (
    draw_boxes,
    draw_keypoints,
    plot_ap_vs_iou,
    plot_pr_curves,
    show_anchors,
    show_detection_grid,
    show_detections,
)
from cnnkit.viz.experiments import plot_repeats
from cnnkit.viz.inspect import (
    draw_receptive_fields,
    show_feature_maps,
    show_filters,
    show_grad_cam,
    show_patches,
)
from cnnkit.viz.segmentation import (
    class_colors,
    colorize_mask,
    overlay_mask,
    plot_class_iou,
    show_mask,
    show_segmentation,
)
from cnnkit.viz.training import (
    plot_confusion_matrix,
    plot_histories,
    plot_history,
    show_predictions,
)
from cnnkit.viz.video import (
    animate_clips,
    clip_to_gif,
    plot_temporal_saliency,
    show_filmstrip,
    show_space_time,
    show_temporal_filters,
    space_time_slice,
)

__all__ = [
    "plot_gradient_norms",
    "plot_tradeoff",
    "show_pyramid",
    "draw_boxes",
    "draw_keypoints",
    "plot_ap_vs_iou",
    "plot_pr_curves",
    "show_anchors",
    "show_detection_grid",
    "show_detections",
    "class_colors",
    "colorize_mask",
    "overlay_mask",
    "plot_class_iou",
    "show_mask",
    "show_segmentation",
    "animate_clips",
    "clip_to_gif",
    "plot_temporal_saliency",
    "show_filmstrip",
    "show_space_time",
    "show_temporal_filters",
    "space_time_slice",
    "DPI",
    "bar_chart",
    "draw_receptive_fields",
    "grid_axes",
    "line_plot",
    "new_axes",
    "plot_confusion_matrix",
    "plot_repeats",
    "plot_histories",
    "plot_history",
    "show_feature_maps",
    "show_filters",
    "show_grad_cam",
    "show_image",
    "show_images",
    "show_kernel",
    "show_predictions",
    "show_filterbank",
    "show_patches",
    "show_sounds",
    "show_spectrogram",
    "show_waveform",
]
