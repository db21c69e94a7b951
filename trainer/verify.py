"""The export's verification: an exported model against PyTorch, the gates it must pass.

Kept apart from the exporting so that it can be read, tested and mutation-tested on its own
(`make mutants`): every comparison is written so that NaN fails it.
"""

from __future__ import annotations

import numpy as np

from runtime.session import INPUT_NAME

MAX_TOLERANCE = 1e-4  # float32 export against the PyTorch log-softmax
MAX_ACCURACY_DROP = 0.003  # int8 and float16 variants, in accuracy (0.3 points)
BATCHES = (1, 7, 300)  # batch sizes run to prove the batch axis is dynamic


def ort_log_probs(session, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    chunks = [session.run(None, {INPUT_NAME: x[i : i + batch]})[0] for i in range(0, len(x), batch)]
    return np.concatenate(chunks)


def parity_report(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray) -> dict:
    """Compare two sets of log-probabilities on the same labelled images."""
    ref_pred, cand_pred = reference.argmax(1), candidate.argmax(1)
    disagree = np.flatnonzero(ref_pred != cand_pred)
    return {
        "images": int(len(labels)),
        "max_abs_diff": float(np.max(np.abs(reference - candidate))),
        "argmax_agreement": float(1 - len(disagree) / len(labels)),
        "disagreeing_indices": disagree[:50].tolist(),
        "accuracy_torch": float((ref_pred == labels).mean()),
        "accuracy_onnx": float((cand_pred == labels).mean()),
    }


def check_batches(session) -> list[int]:
    """Prove the batch axis is dynamic: batches of 1 and several hundred both run."""
    for n in BATCHES:
        out = session.run(None, {INPUT_NAME: np.zeros((n, 1, 28, 28), np.float32)})[0]
        if out.shape != (n, 10):
            raise ValueError(f"batch {n} gave output shape {out.shape}, expected ({n}, 10)")
    return list(BATCHES)


def parity_problem(parity: dict) -> str | None:
    """Why a float32 export fails its gates (every answer the same, |diff| within
    MAX_TOLERANCE), or None."""
    if not parity["argmax_agreement"] >= 1.0:
        return f"ONNX Runtime and PyTorch disagree on test images {parity['disagreeing_indices']}"
    if not parity["max_abs_diff"] <= MAX_TOLERANCE:
        return f"max |diff| {parity['max_abs_diff']:.2e} exceeds {MAX_TOLERANCE:g}"
    return None


def accuracy_drop_problem(report: dict, precision: str) -> str | None:
    """Why a reduced-precision variant fails (it loses more than MAX_ACCURACY_DROP), or None."""
    drop = report["accuracy_torch"] - report["accuracy_onnx"]
    if not drop <= MAX_ACCURACY_DROP:
        return (
            f"the {precision} model loses {100 * drop:.2f} points of accuracy "
            f"(limit {100 * MAX_ACCURACY_DROP:.1f})"
        )
    return None
