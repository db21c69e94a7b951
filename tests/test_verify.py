"""The export's gates, on numbers made for them: every boundary and NaN."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.verify import (
    MAX_ACCURACY_DROP,
    MAX_TOLERANCE,
    accuracy_drop_problem,
    check_batches,
    parity_problem,
    parity_report,
)


def report(diff=0.0, agreement=1.0, torch_acc=0.99, onnx_acc=0.99):
    return {"max_abs_diff": diff, "argmax_agreement": agreement, "disagreeing_indices": [3],
            "accuracy_torch": torch_acc, "accuracy_onnx": onnx_acc}  # fmt: skip


@pytest.mark.parametrize(
    "diff, agreement, passes",
    [(0.0, 1.0, True), (MAX_TOLERANCE, 1.0, True), (MAX_TOLERANCE * 1.01, 1.0, False),
     (float("nan"), 1.0, False), (0.0, 0.9999, False), (0.0, float("nan"), False)],
)  # fmt: skip
def test_parity_gate_boundaries(diff, agreement, passes):
    """|diff| up to 1e-4 and full agreement pass; a hair over, or NaN, fails."""
    problem = parity_problem(report(diff, agreement))
    assert (problem is None) == passes, problem


def test_accuracy_gate_at_exactly_the_limit_and_its_message():
    """A drop of exactly 0.3 points passes; 0.4 fails, and the message gives both figures."""
    assert accuracy_drop_problem(report(torch_acc=0.003, onnx_acc=0.0), "int8") is None
    problem = accuracy_drop_problem(report(torch_acc=0.5, onnx_acc=0.496), "float16")
    assert problem == "the float16 model loses 0.40 points of accuracy (limit 0.3)"


def test_parity_gate_names_what_failed():
    assert "disagree on test images [3]" in parity_problem(report(agreement=0.5))
    assert "exceeds 0.0001" in parity_problem(report(diff=1.0))


@pytest.mark.parametrize(
    "torch_acc, onnx_acc, passes",
    [(0.99, 0.99, True), (0.99, 0.99 - MAX_ACCURACY_DROP + 1e-9, True),
     (0.99, 0.99 - MAX_ACCURACY_DROP - 1e-4, False), (0.99, float("nan"), False),
     (0.98, 0.99, True)],
)  # fmt: skip
def test_variant_accuracy_gate_boundaries(torch_acc, onnx_acc, passes):
    """A variant may lose 0.3 points of accuracy, not more; NaN fails."""
    problem = accuracy_drop_problem(report(torch_acc=torch_acc, onnx_acc=onnx_acc), "int8")
    assert (problem is None) == passes, problem
    if problem:
        assert problem.startswith("the int8 model loses")


def test_parity_report_counts():
    """The report's figures, on three images whose answers are known."""
    reference = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    candidate = reference.copy()
    candidate[2] = np.log([0.3, 0.7])  # the third image's answer changes
    result = parity_report(reference, candidate, np.array([0, 1, 1]))
    assert result["images"] == 3 and result["disagreeing_indices"] == [2]
    assert result["argmax_agreement"] == pytest.approx(2 / 3)
    assert result["accuracy_torch"] == pytest.approx(2 / 3) and result["accuracy_onnx"] == 1.0
    assert result["max_abs_diff"] == pytest.approx(abs(np.log(0.3) - np.log(0.6)))


def test_batch_axis_check_runs_every_size(shipped_model):
    """The shipped model runs batches of 1, 7 and 300; a fixed-batch model fails the check."""
    import onnx

    from runtime.session import create_session

    assert check_batches(create_session(shipped_model, "cpu")[0]) == [1, 7, 300]
    model = onnx.load(shipped_model)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_value = 1
    fixed = create_session(model.SerializeToString(), "cpu")[0]
    with pytest.raises(Exception):  # noqa: B017 - ONNX Runtime's own error for the wrong batch
        check_batches(fixed)
