"""PyTorch policy families of GRF agents, exported to ONNX by real torch exporters (make.py), and their encoders.

Each encoder is features.py (the engineered features) followed by one variant file: `encoder_source(variant)`.
"""

from pathlib import Path

HERE = Path(__file__).parent
FILES = HERE / "files"  # what make.py wrote: NAME.onnx (and NAME.onnx.data), made.json


def encoder_source(variant: str) -> str:
    """One self-contained encoder file: the shared features, then the variant's encode / decide / reset."""
    variant_code = (HERE / f"{variant}.py").read_text().split('"""', 2)[2].strip()
    return (HERE / "features.py").read_text().rstrip() + "\n\n\n" + variant_code + "\n"


def write_encoder(folder: Path, variant: str) -> Path:
    path = folder / f"{variant}.py"
    path.write_text(encoder_source(variant))
    return path
