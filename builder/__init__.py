"""gfsub builder: trained SplitterConvNN weights -> one verified, self-contained Kaggle main.py.

Pipeline, one module each: load -> validate -> render -> verify, run by `builder.pipeline.build_agent`.
"""

__version__ = "0.1.0"

from builder.pipeline import BuildResult, build_agent  # noqa: E402

build = build_agent

__all__ = ["BuildResult", "build", "build_agent", "__version__"]
