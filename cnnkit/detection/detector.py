"""Deprecated: the :class:`Detector` model moved to :mod:`cnnkit.models.detection` (every model lives in ``models/``).

``from cnnkit.detection.detector import Detector`` keeps working for one release,
with a ``DeprecationWarning``; use ``from cnnkit.models import Detector`` or
``create_model("detector", ...)``.
"""

from cnnkit._deprecated import moved

__getattr__ = moved(__name__, {name: "cnnkit.models.detection" for name in ("Detector", "HEAD_NORMS", "PRE_NMS_TOP_K")})
