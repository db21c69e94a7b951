"""The torch-based way to read one image, as the seed did it: the end-to-end comparison's baseline.

python benchmarks/torch_infer.py IMAGE
"""

import sys
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from trainer.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402

CHECKPOINT = Path(__file__).resolve().parents[1] / "exported" / "digit.pth"

model = model_from_checkpoint(load_checkpoint(CHECKPOINT))
to_input = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
image = Image.open(sys.argv[1]).convert("L").resize((28, 28))
with torch.no_grad():
    probs = model(to_input(image).unsqueeze(0)).exp()[0]
print(f"{sys.argv[1]}: {int(probs.argmax())} ({float(probs.max()):.1%})")
