"""The trained candidate scorer ("student"): features, the model on disk, and the registered scorer ``student``.

Training lives in :mod:`evidex.distill`; everything needed at extraction time lives here.
"""

from evidex.extract.student.features import FEATURE_SET_VERSION
from evidex.extract.student.model import Calibration, StudentModel, load_student

__all__ = ["FEATURE_SET_VERSION", "Calibration", "StudentModel", "load_student"]
