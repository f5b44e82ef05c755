"""gfsub builder: a trained model -> one verified, self-contained Kaggle main.py.

The pipeline, one module a step: load -> validate -> render -> verify, run by `builder.build`.
"""

import common  # noqa: F401 - the third-party log levels, before TensorFlow is imported anywhere
from builder.pipeline import BuildResult, build

__all__ = ["BuildResult", "build"]
