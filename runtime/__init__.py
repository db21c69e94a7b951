"""A torch-free runtime for the Digit ONNX model: NumPy preprocessing and ONNX Runtime."""

__version__ = "0.1.0"

from runtime.predict import Predictor  # noqa: E402
from runtime.results import NumberResult, Prediction  # noqa: E402

__all__ = ["NumberResult", "Prediction", "Predictor", "__version__"]
