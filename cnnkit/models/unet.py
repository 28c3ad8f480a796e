"""Deprecated: the segmentation models moved to :mod:`cnnkit.models.segmentation` (one file per task).

``from cnnkit.models.unet import unet_small`` keeps working for one release, with
a ``DeprecationWarning``; use ``create_model("unet_small", ...)`` or
``cnnkit.models.segmentation``.
"""

from cnnkit._deprecated import moved

__getattr__ = moved(__name__, {name: "cnnkit.models.segmentation" for name in ("UPSAMPLING", "fpn_seg", "unet_small",
                                                                              "upsample")})
