#!/usr/bin/env bash
# The GPU checks, run once on a machine with an NVIDIA GPU, PyTorch and the project's other
# packages, and onnxruntime-gpu on PYTHONPATH (how the README's CUDA figures were made):
#   bash benchmarks/gpu_check.sh OUTDIR DATADIR
# 1. mnist-train on CUDA; 2. the float16 variant verified on the CUDA provider;
# 3. the whole-test-set parity suite on CPU and CUDA; 4. mnist-infer --provider cuda;
# 5. benchmarks/latency.py with CUDA rows.
set -uo pipefail
out=${1:?OUTDIR}
data=${2:?DATADIR}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MNIST_DATA_DIR="$data"
step() { echo; echo "=== $* ($(date +%T))"; }

step machine
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch, onnxruntime as o; print('torch', torch.__version__, torch.cuda.get_device_name(0)); print('onnxruntime', o.__version__, o.get_available_providers())"

step "mnist-train --device cuda"
python3 -c "from trainer.cli import train_app; train_app()" --device cuda --out "$out/gpu/digit.pth" 2>&1 | grep -v '^  epoch'

step "mnist-export --fp16, verified on CUDA"
python3 -c "from trainer.cli import export_app; export_app()" --checkpoint exported/digit.pth --out "$out/gpu/digit.onnx" --fp16
python3 -c "import json; print(json.dumps(json.load(open('$out/gpu/digit.float16.card.json'))['verification'], indent=1))"

step "parity suite (whole test set, cpu and cuda)"
python3 -m pytest tests/test_parity.py -q -rs -p no:cacheprovider 2>&1 | tail -5
python3 - <<'PY'
import numpy as np, torch
from runtime.session import create_session
from trainer.checkpoint import load_checkpoint, model_from_checkpoint
from trainer.data import load_split
from trainer.train import normalize
import os
x = normalize(load_split(os.environ["MNIST_DATA_DIR"], train=False)[0]).numpy()
ref = model_from_checkpoint(load_checkpoint("exported/digit.pth"))(torch.from_numpy(x)).detach().numpy()
for p in ("cpu", "cuda"):
    s = create_session("exported/digit.onnx", p)[0]
    got = np.concatenate([s.run(None, {"input": x[i:i+1000]})[0] for i in range(0, 10000, 1000)])
    d = np.abs(got - ref)
    print(p, "max |diff|", d.max(), "where log p > -10:", d[ref > -10].max(), "argmax agreement", (got.argmax(1) == ref.argmax(1)).mean())
PY

step "mnist-infer --provider cuda"
python3 -m runtime.cli exported/samples --provider cuda --top-k 2

step "benchmarks/latency.py --providers cpu,cuda"
python3 benchmarks/latency.py --classic --providers cpu,cuda --rounds 1 --json "$out/bench-gpu.json" --plot "$out/bench-gpu.png"
