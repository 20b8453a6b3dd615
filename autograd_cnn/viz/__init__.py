"""See inside a CNN: convolution arithmetic, filters, feature maps, receptive fields, saliency,
SmoothGrad, Grad-CAM, training curves, and a one-page HTML report.

The computations need only NumPy and the engine, and live apart from the drawing:

* :mod:`.arithmetic` -- conv / pooling windows per output position (``conv_arithmetic``,
  ``pool_arithmetic``), sizes from the engine's ``_geometry``;
* :mod:`.capture` -- a layer by its ``named_modules()`` path, outputs via forward hooks,
  ``feature_maps``, ``filter_images``;
* :mod:`.receptive` -- theoretical (from ``summary``) and effective (Luo et al. 2016) fields;
* :mod:`.attribution` -- ``saliency``, ``smooth_grad``, ``grad_cam`` (Selvaraju et al. 2017);
* :mod:`.evaluation` -- ``predict_proba``, ``confusion_matrix``, ``confident_mistakes``.

The drawing needs matplotlib (``pip install ".[plot]"``), imported only when a figure is made:
:mod:`.draw_windows` (``plot_window``, ``plot_window_strip``, ``animate_window``),
:mod:`.figures` (``plot_filters``, ``plot_feature_maps``, ``plot_receptive_field``,
``plot_attribution``, ``plot_history``, ``plot_confusion_matrix``, ``plot_misclassified``) and
:mod:`.report` (``write_report``: one self-contained HTML page).
"""
from .arithmetic import WindowDiagram, conv_arithmetic, pool_arithmetic
from .attribution import grad_cam, resize_linear, saliency, smooth_grad
from .capture import capture, conv_layers, feature_maps, filter_images, get_layer
from .draw_windows import animate_window, plot_window, plot_window_strip
from .evaluation import confident_mistakes, confusion_matrix, predict_proba
from .figures import (plot_attribution, plot_confusion_matrix, plot_feature_maps, plot_filters,
                      plot_history, plot_misclassified, plot_receptive_field, show_sample)
from .receptive import (ReceptiveField, effective_receptive_field, layer_output_shape,
                        theoretical_receptive_field)

__all__ = ["WindowDiagram", "conv_arithmetic", "pool_arithmetic", "grad_cam", "resize_linear",
           "saliency", "smooth_grad", "capture", "conv_layers", "feature_maps", "filter_images",
           "get_layer", "animate_window", "plot_window", "plot_window_strip",
           "confident_mistakes", "confusion_matrix", "predict_proba", "plot_attribution",
           "plot_confusion_matrix", "plot_feature_maps", "plot_filters", "plot_history",
           "plot_misclassified", "plot_receptive_field", "show_sample", "ReceptiveField",
           "effective_receptive_field", "layer_output_shape", "theoretical_receptive_field"]
