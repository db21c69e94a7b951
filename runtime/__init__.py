"""A torch-free runtime for the Digit ONNX model: NumPy preprocessing and ONNX Runtime."""

__version__ = "0.1.0"
