"""The seed's picture, drawn with Pillow: input, model input, prediction and the ten bars."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from runtime.predict import Prediction
from runtime.preprocess import ModelInput, convert, upright

PANEL, TITLE, PAD = 196, 36, 12


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def render(source: Image.Image, prediction: Prediction, model: ModelInput) -> Image.Image:
    width = 3 * PANEL + 4 * PAD
    canvas = Image.new("RGB", (width, PANEL + TITLE + 2 * PAD + 16), "white")
    draw = ImageDraw.Draw(canvas)
    if prediction.found:
        title = f"prediction: {prediction.digit}   confidence {prediction.confidence:.1%}"
        if prediction.low_confidence:
            title += "   (low confidence)"
    else:
        title = "no digit found"
    draw.text((PAD, PAD), title, fill="black", font=_font(20))
    top = TITLE + PAD

    shown = convert(upright(source), "RGBA")
    shown.thumbnail((PANEL, PANEL))
    backdrop = Image.new("RGBA", shown.size, "white")
    canvas.paste(Image.alpha_composite(backdrop, shown).convert("RGB"), (PAD, top))
    labels = _font(12)
    draw.text((PAD, top + PANEL + 2), "input", fill="gray", font=labels)

    if prediction.model_input is not None:
        pixels = model.pixels(prediction.model_input)
        small = Image.fromarray((pixels * 255).astype(np.uint8))
        canvas.paste(small.resize((PANEL, PANEL), Image.Resampling.NEAREST), (2 * PAD + PANEL, top))
    draw.text((2 * PAD + PANEL, top + PANEL + 2), "model input (28x28)", fill="gray", font=labels)

    _bars(draw, prediction, (3 * PAD + 2 * PANEL, top), labels)
    return canvas


def _bars(draw: ImageDraw.ImageDraw, prediction: Prediction, origin, font) -> None:
    x0, y0 = origin
    draw.rectangle([x0, y0, x0 + PANEL, y0 + PANEL], outline="lightgray")
    if prediction.probabilities is None:
        return
    slot = PANEL / 10
    for d, p in enumerate(prediction.probabilities):
        h = (PANEL - 20) * float(p)
        fill = (255, 127, 14) if d == prediction.digit else (31, 119, 180)
        left = x0 + d * slot + 3
        draw.rectangle([left, y0 + PANEL - 16 - h, left + slot - 6, y0 + PANEL - 16], fill=fill)
        draw.text((left + 3, y0 + PANEL - 14), str(d), fill="black", font=font)
    draw.text((x0 + PANEL - 80, y0 + PANEL + 2), "probabilities", fill="gray", font=font)
