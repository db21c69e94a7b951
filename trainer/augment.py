"""Augmentations of MNIST training digits toward the images users give, in batched torch ops.

Each models something the external bench (benchmarks/accuracy.py) shows after `auto` has framed
a digit: the pen's or brush's stroke width, blur and low resolution, the slant, size and
wobble of other people's writing, and the ink's contrast profile. They work on pixels in
[0, 1] (white on black) and are applied to a share of each batch, so clean digits stay in the
mix. `trainer/config.py` names the ones a run uses; the shipped recipe keeps those that paid.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SHARE = 0.6  # of each batch that may be augmented
AFFINE = {"rotate": 15.0, "shear": 0.3, "scale": 0.15, "aspect": 0.15}  # degrees, shares
PROBABILITY = {
    "styles": 0.5,
    "affine": 0.6,
    "elastic": 0.5,
    "width": 0.4,
    "lowres": 0.3,
    "contrast": 0.3,
}


def augment(
    x: torch.Tensor, y: torch.Tensor, names: tuple[str, ...], gen: torch.Generator
) -> torch.Tensor:
    """Augment a share of the batch x (N, 1, 28, 28) in [0, 1] with labels y; the rest is left
    as it is.

    Within that share each augmentation is drawn on its own (PROBABILITY), so that most
    augmented digits carry one or two changes, not all of them at once.
    """
    out = x
    for name in names:
        chosen = torch.rand(x.shape[0], generator=gen) < SHARE * PROBABILITY[name]
        if name == "styles":
            chosen &= (y.cpu() == 1) | (y.cpu() == 7)
        if not chosen.any():
            continue
        if out is x:
            out = x.clone()
        idx = chosen.to(x.device)
        if name == "styles":
            out[idx] = styles(out[idx], y[idx], gen)
        else:
            out[idx] = STEPS[name](out[idx], gen)
    return out


def styles(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The other ways to write a 1 and a 7: a 1 with a flag (and sometimes a foot), as in
    typeset digits and European hands, and a 7 with a bar across its stem."""
    n = x.shape[0]
    ink = x[:, 0] > 0.5
    rows = ink.any(2)
    if not rows.any(1).all():
        return x
    top = rows.float().argmax(1)
    bottom = 27 - rows.flip(1).float().argmax(1)
    height = (bottom - top + 1).float()
    xs = torch.arange(28, dtype=torch.float32, device=x.device)

    def centre(row: torch.Tensor) -> torch.Tensor:
        line = x[torch.arange(n), 0, row]
        return (line * xs).sum(1) / line.sum(1).clamp_min(1e-6)

    width = (ink.sum((1, 2)).float() / height).clamp(1.2, 4.0)  # the stroke's, roughly
    segments = []
    one = (y == 1).cpu()
    if one.any():
        length = height * _uniform(n, 0.2, 0.38, gen).to(x.device)
        angle = _uniform(n, 0.45, 1.0, gen).to(x.device)  # radians below the horizontal
        x0, y0 = centre(top), top.float()
        flag = (x0, y0, x0 - length * torch.cos(angle), y0 + length * torch.sin(angle))
        foot = torch.rand(n, generator=gen) < 0.4
        half = height * _uniform(n, 0.18, 0.3, gen).to(x.device)
        xb, yb = centre(bottom), bottom.float()
        base = (xb - half, yb, xb + half, yb)
        segments += [(flag, one), (base, one & foot)]
    seven = (y == 7).cpu()
    if seven.any():
        row = (top.float() + 0.55 * height).round().long().clamp(0, 27)
        half = height * _uniform(n, 0.12, 0.22, gen).to(x.device)
        xc, yc = centre(row), row.float()
        segments.append(((xc - half, yc, xc + half, yc), seven))
    out = x.clone()
    for (ax, ay, bx, by), which in segments:
        stroke = _segment(ax, ay, bx, by, width, xs)
        mask = which.to(x.device).view(n, 1, 1)
        out[:, 0] = torch.where(mask, torch.maximum(out[:, 0], stroke), out[:, 0])
    return out


def _segment(ax, ay, bx, by, width, xs) -> torch.Tensor:
    """Anti-aliased segments (N, 28, 28) from (ax, ay) to (bx, by), `width` px wide."""
    gy, gx = xs.view(1, 28, 1), xs.view(1, 1, 28)
    ax, ay, bx, by, width = (t.view(-1, 1, 1) for t in (ax, ay, bx, by, width))
    dx, dy = bx - ax, by - ay
    t = (((gx - ax) * dx + (gy - ay) * dy) / (dx * dx + dy * dy).clamp_min(1e-6)).clamp(0, 1)
    distance = torch.hypot(gx - (ax + t * dx), gy - (ay + t * dy))
    return (width / 2 + 0.5 - distance).clamp(0, 1)


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen).mul_(hi - lo).add_(lo)


def _dilate(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 3, stride=1, padding=1)


def _erode(x: torch.Tensor) -> torch.Tensor:
    return -F.max_pool2d(-x, 3, stride=1, padding=1)


def stroke_width(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Thinner or thicker strokes: one erosion, or one to four dilations, at twice the size.

    A thick brush framed into 20x20 has strokes up to twice MNIST's; a hairline font, thinner.
    """
    n = x.shape[0]
    big = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    steps = torch.randint(-1, 5, (n,), generator=gen)
    steps[steps == 0] = 1
    for k in steps.unique().tolist():
        idx = (steps == k).nonzero().flatten().to(x.device)
        part = big[idx]
        for _ in range(abs(k)):
            part = _dilate(part) if k > 0 else _erode(part)
        big[idx] = part
    return F.interpolate(big, size=x.shape[-2:], mode="area").clamp_(0, 1)


def warp(x: torch.Tensor, gen: torch.Generator, affine: bool, elastic: bool) -> torch.Tensor:
    """Rotation, shear, scale and shift (affine), and a smooth random wobble (elastic)."""
    n = x.shape[0]
    theta = torch.eye(2, 3).repeat(n, 1, 1)
    if affine:
        angle = _uniform(n, -AFFINE["rotate"], AFFINE["rotate"], gen) * math.pi / 180
        shear = _uniform(n, -AFFINE["shear"], AFFINE["shear"], gen)
        scale = _uniform(n, 1 - AFFINE["scale"], 1 + AFFINE["scale"], gen)
        aspect = _uniform(n, 1 - AFFINE["aspect"], 1 + AFFINE["aspect"], gen)
        cos, sin = torch.cos(angle), torch.sin(angle)
        sx, sy = 1 / (scale * aspect), aspect / scale
        theta[:, 0, 0], theta[:, 0, 1] = cos * sx, (-sin + shear * cos) * sx
        theta[:, 1, 0], theta[:, 1, 1] = sin * sy, (cos + shear * sin) * sy
        theta[:, :, 2] = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / 28)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    if elastic:
        coarse = (torch.rand(n, 2, 4, 4, generator=gen) * 2 - 1) * (2.0 / 28)
        field = F.interpolate(coarse, size=x.shape[-2:], mode="bicubic", align_corners=False)
        grid = grid + field.permute(0, 2, 3, 1).to(x.device)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def low_resolution(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Down to 11-17 px (the 20 px box at 8-12 px), grey levels sometimes quantised, back up."""
    n = x.shape[0]
    out = torch.empty_like(x)
    sizes = torch.randint(11, 18, (n,), generator=gen)
    levels = torch.randint(0, 4, (n,), generator=gen)  # 0: as is; else 2, 4 or 16 levels
    nearest = torch.rand(n, generator=gen) < 0.3
    for size in sizes.unique().tolist():
        idx = (sizes == size).nonzero().flatten()
        small = F.interpolate(x[idx], size=(size, size), mode="area")
        for level, count in ((1, 2), (2, 4), (3, 16)):
            q = (levels[idx] == level).to(x.device)
            peak = small[q].amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
            small[q] = torch.floor(small[q] / peak * (count - 1) + 0.7) / (count - 1)
        up = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
        blocky = F.interpolate(small, size=x.shape[-2:], mode="nearest")
        out[idx] = torch.where(nearest[idx].view(-1, 1, 1, 1).to(x.device), blocky, up)
    return out.clamp_(0, 1)


def contrast(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A different ink profile: gamma 0.5-2 on the strokes, then their peak brought back to 1."""
    n = x.shape[0]
    gamma = torch.exp(_uniform(n, math.log(0.5), math.log(2.0), gen)).view(n, 1, 1, 1)
    y = x.clamp_min(0) ** gamma.to(x.device)
    return y / y.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)


STEPS = {
    "affine": lambda x, gen: warp(x, gen, affine=True, elastic=False),
    "elastic": lambda x, gen: warp(x, gen, affine=False, elastic=True),
    "width": stroke_width,
    "lowres": low_resolution,
    "contrast": contrast,
}
