"""The seed's picture, drawn with Pillow: input, model input, prediction and the ten bars."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from runtime.preprocess import ModelInput, convert, upright
from runtime.results import Prediction

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


def render_number(source: Image.Image, result, model: ModelInput) -> Image.Image:
    """The picture with each digit's box, digit and confidence; the model's inputs below."""
    shown = convert(upright(source), "RGBA")
    full_w, full_h = source.info.get("mnist_digit.full_size", source.size)
    if shown.width != source.width and shown.width == source.height:  # a quarter turn
        full_w, full_h = full_h, full_w
    shown.thumbnail((900, 500))
    sx, sy = shown.width / full_w, shown.height / full_h
    cell = 3 * model.size[1] + PAD
    width = max(shown.width, len(result.digits) * cell) + 2 * PAD
    strip = 3 * model.size[0] + 24
    canvas = Image.new("RGB", (width, TITLE + shown.height + strip + 3 * PAD), "white")
    draw = ImageDraw.Draw(canvas)
    title = f"number: {result.text}" if result.found else "no digit found"
    if result.found:
        title += f"   weakest digit {result.confidence:.1%}"
        title += "   (low confidence)" if result.low_confidence else ""
    draw.text((PAD, PAD), title, fill="black", font=_font(20))
    top = TITLE + PAD
    backdrop = Image.new("RGBA", shown.size, "white")
    canvas.paste(Image.alpha_composite(backdrop, shown).convert("RGB"), (PAD, top))
    labels = _font(14)
    for reading in result.digits:
        x0, y0, x1, y1 = reading.box
        box = [PAD + x0 * sx, top + y0 * sy, PAD + x1 * sx, top + y1 * sy]
        draw.rectangle(box, outline=(255, 127, 14), width=2)
        draw.text((box[0], max(top, box[1] - 16)), f"{reading.digit} {reading.confidence:.0%}",
                  fill=(214, 39, 40), font=labels)  # fmt: skip
    below = top + shown.height + PAD
    for n, reading in enumerate(result.digits):
        pixels = model.pixels(reading.model_input)
        small = Image.fromarray((pixels * 255).astype(np.uint8)).resize(
            (3 * model.size[1], 3 * model.size[0]), Image.Resampling.NEAREST
        )
        canvas.paste(small, (PAD + n * cell, below))
        draw.text((PAD + n * cell, below + 3 * model.size[0] + 2), str(reading.digit),
                  fill="black", font=labels)  # fmt: skip
    return canvas
