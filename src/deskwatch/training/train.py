"""Fine-tune the re-headed YOLOX-nano on the built set, on the CPU.

Images are letterboxed into the top-left corner exactly as the detector does at run time
(BGR, 0-255), with a random extra shrink, flip and light change. The first layers (stem
and first stage) stay as trained on COCO; the rest learns. Seeds are fixed so a run on
the same set and settings repeats.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deskwatch.training.dataset import Boxes, Sample, load, read_image
from deskwatch.training.loss import YoloxLoss

if TYPE_CHECKING:
    import torch

    from deskwatch.arrays import Image

PAD = 114


@dataclass(frozen=True)
class TrainSettings:
    """The knobs of one training run (the shipped model's are the defaults)."""

    size: int = 320
    epochs: int = 12
    batch: int = 16
    lr: float = 1e-3
    weight_decay: float = 5e-4
    frozen_convs: int = 8  # stem and first stage keep COCO's weights
    min_shrink: float = 0.6
    seed: int = 13
    threads: int = 2


def letterbox(image: Image, size: int, shrink: float = 1.0) -> tuple[Image, float]:
    """Top-left letterbox as at run time; ``shrink`` < 1 makes the picture smaller."""
    import cv2

    h, w = image.shape[:2]
    ratio = min(size / h, size / w) * shrink
    nh, nw = max(1, round(h * ratio)), max(1, round(w * ratio))
    canvas = np.full((size, size, 3), PAD, np.uint8)
    canvas[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas, ratio


class Batches:
    """The set held in memory at training size, served as augmented batches."""

    def __init__(self, samples: list[Sample], settings: TrainSettings) -> None:

        self.settings = settings
        self.items: list[tuple[Image, Boxes]] = []
        for s in samples:
            image = read_image(s.image)
            canvas, ratio = letterbox(image, settings.size)
            h, w = round(image.shape[0] * ratio), round(image.shape[1] * ratio)
            boxes = s.boxes.copy()
            boxes[:, 1:] *= ratio
            self.items.append((canvas[:h, :w].copy(), boxes))

    def __len__(self) -> int:
        return math.ceil(len(self.items) / self.settings.batch)

    def epoch(self, rng: random.Random) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        order = list(range(len(self.items)))
        rng.shuffle(order)
        b = self.settings.batch
        return [
            self._batch([self.items[i] for i in order[j : j + b]], rng)
            for j in range(0, len(order), b)
        ]

    def _batch(
        self, items: list[tuple[Image, Boxes]], rng: random.Random
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        import torch

        images, targets = [], []
        for image, boxes in items:
            picture, found = augment(image, boxes, self.settings, rng)
            images.append(picture)
            targets.append(torch.from_numpy(found))
        stacked = np.stack(images).transpose(0, 3, 1, 2).astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(stacked)), targets


def augment(
    image: Image, boxes: Boxes, settings: TrainSettings, rng: random.Random
) -> tuple[Image, Boxes]:
    """Shrink, flip and relight one picture; boxes follow (and tiny ones are dropped)."""
    import cv2

    shrink = rng.uniform(settings.min_shrink, 1.0)
    h, w = image.shape[:2]
    nh, nw = max(1, round(h * shrink)), max(1, round(w * shrink))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    boxes = boxes.copy()
    boxes[:, 1:] *= shrink
    if rng.random() < 0.5:
        small = small[:, ::-1]
        boxes[:, [1, 3]] = nw - boxes[:, [3, 1]]
    gain, bias = rng.uniform(0.7, 1.3), rng.uniform(-20, 20)
    small = np.clip(small.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)
    canvas = np.full((settings.size, settings.size, 3), PAD, np.uint8)
    canvas[:nh, :nw] = small
    keep = ((boxes[:, 3] - boxes[:, 1]) >= 3) & ((boxes[:, 4] - boxes[:, 2]) >= 3)
    return canvas, boxes[keep]


def freeze_first(net: torch.nn.Module, count: int) -> None:
    """Keep the first ``count`` convolutions (in graph order) as they are."""
    import torch

    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs[:count]:
        for p in conv.parameters():
            p.requires_grad_(False)


def fit(
    net: torch.nn.Module,
    data: Path,
    settings: TrainSettings,
    report: Callable[[int, int, dict[str, float]], None] | None = None,
    checkpoint: Path | None = None,
) -> None:
    """Train ``net`` in place on ``data``'s train split (weights saved after each epoch);
    ``report(steps done, steps in all, losses)`` after each step."""
    import torch

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = random.Random(settings.seed)
    batches = Batches(load(data, "train"), settings)
    loss_fn = YoloxLoss(
        settings.size, int(net(torch.zeros(1, 3, settings.size, settings.size)).shape[-1]) - 5
    )
    freeze_first(net, settings.frozen_convs)
    params = [p for p in net.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    steps = settings.epochs * len(batches)
    warmup = len(batches)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: _lr_factor(s, warmup, steps))
    net.train()
    done = 0
    for _ in range(settings.epochs):
        for images, targets in batches.epoch(rng):
            loss, parts = loss_fn(net(images), targets)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params, 10.0)
            optimiser.step()
            schedule.step()
            done += 1
            if report:
                report(done, steps, {"loss": float(loss.detach()), **parts})
        if checkpoint is not None:
            torch.save(net.state_dict(), checkpoint)
    net.eval()


def _lr_factor(step: int, warmup: int, steps: int) -> float:
    """Linear warm-up over the first epoch, then cosine down to 5%."""
    if step < warmup:
        return (step + 1) / warmup
    done = (step - warmup) / max(1, steps - warmup)
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done))
