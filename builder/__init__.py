"""gfsub builder: trained SplitterConvNN weights -> one verified, self-contained Kaggle main.py.

Pipeline, one module each: load -> validate -> render -> verify -> (package), run by `builder.build`.
"""

import os

# Every gfsub process imports this package first: TensorFlow's C++ INFO/WARNING lines are off from here on
# (the rest of the third-party chatter goes to a log file while a command runs: builder/quiet.py).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from builder.pipeline import BuildResult, build  # noqa: E402 - after the log level, since it imports TensorFlow

__all__ = ["BuildResult", "build", "__version__"]
