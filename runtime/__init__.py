"""A torch-free runtime for the Digit ONNX model: NumPy preprocessing and ONNX Runtime."""

__version__ = "0.1.0"

from runtime.predict import Prediction, Predictor  # noqa: E402

__all__ = ["Prediction", "Predictor", "__version__"]
