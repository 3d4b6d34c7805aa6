"""YOLOX's training loss with its SimOTA assignment, on the graph's own outputs.

The graph gives per anchor raw box offsets, then objectness and class scores already
through a sigmoid. Boxes decode as in ``deskwatch.perception.detectors.objects``. Each
ground-truth box takes the ``k`` cheapest anchors around its centre (``k`` from the IoUs
it reaches, the dynamic-k of SimOTA); objectness learns which anchors hold an object,
classes learn IoU-weighted targets on assigned anchors, boxes learn IoU. As in YOLOX,
the cost uses the predictions but is not trained through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskwatch.perception.detectors.objects import yolox_grid

if TYPE_CHECKING:
    import torch

CENTRE_RADIUS = 2.5  # strides around a box's centre where anchors may be assigned
TOP_IOUS_FOR_K = 10
BOX_WEIGHT = 5.0
EPS = 1e-7


class YoloxLoss:
    """Callable: ``loss(raw [B, A, 5+nc], targets list of [n, 5] class+xyxy) -> scalar``."""

    def __init__(self, size: int, classes: int) -> None:
        import torch

        grid, strides = yolox_grid((size, size))
        self.grid = torch.from_numpy(grid)
        self.strides = torch.from_numpy(strides)
        self.classes = classes
        self.centres = (self.grid + 0.5) * self.strides

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        """Boxes as x1, y1, x2, y2 in input pixels, [B, A, 4]."""
        import torch

        xy = (raw[..., :2] + self.grid) * self.strides
        wh = torch.exp(raw[..., 2:4].clamp(max=10)) * self.strides
        return torch.cat([xy - wh / 2, xy + wh / 2], dim=-1)

    def __call__(
        self, raw: torch.Tensor, targets: list[torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        import torch
        from torch.nn import functional

        boxes = self.decode(raw)
        obj = raw[..., 4].clamp(EPS, 1 - EPS)
        cls = raw[..., 5:].clamp(EPS, 1 - EPS)
        obj_target = torch.zeros_like(obj)
        box_loss = cls_loss = raw.new_zeros(())
        positives = 0
        for b, gt in enumerate(targets):
            if not len(gt):
                continue
            with torch.no_grad():
                match, ious = self.assign(boxes[b], obj[b], cls[b], gt)
            fg = match >= 0
            if not fg.any():
                continue
            picked = gt[match[fg]]
            obj_target[b, fg] = 1.0
            iou = _iou(boxes[b, fg], picked[:, 1:])
            box_loss = box_loss + (1 - iou**2).sum()
            onehot = functional.one_hot(picked[:, 0].long(), self.classes).float() * ious[fg, None]
            cls_loss = cls_loss + functional.binary_cross_entropy(
                cls[b, fg], onehot, reduction="sum"
            )
            positives += int(fg.sum())
        norm = max(positives, 1)
        obj_loss = functional.binary_cross_entropy(obj, obj_target, reduction="sum")
        total = (BOX_WEIGHT * box_loss + obj_loss + cls_loss) / norm
        parts = {
            k: float(v.detach()) / norm
            for k, v in (("box", box_loss), ("obj", obj_loss), ("cls", cls_loss))
        }
        return total, parts

    def assign(
        self, boxes: torch.Tensor, obj: torch.Tensor, cls: torch.Tensor, gt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SimOTA: for each anchor the index of its ground truth (-1: background) and IoU."""
        import torch

        candidate, centred = self._candidates(gt[:, 1:])
        ious = _iou(gt[:, None, 1:], boxes[None]).nan_to_num(0.0)  # [G, A]
        scores = (cls[:, gt[:, 0].long()].T * obj[None]).sqrt().clamp(EPS, 1 - EPS)  # [G, A]
        cost = -torch.log(scores) + 3.0 * -torch.log(ious + EPS) + 1e5 * (~centred)
        cost = cost + 1e6 * (~candidate[None])
        match = torch.full((boxes.shape[0],), -1, dtype=torch.long)
        best = torch.full((boxes.shape[0],), float("inf"))
        for g in range(len(gt)):
            k = int(ious[g].topk(min(TOP_IOUS_FOR_K, ious.shape[1])).values.sum().clamp(min=1))
            chosen = cost[g].topk(k, largest=False).indices
            chosen = chosen[candidate[chosen] & (cost[g, chosen] < best[chosen])]
            match[chosen], best[chosen] = g, cost[g, chosen]
        matched_iou = torch.zeros(boxes.shape[0])
        fg = match >= 0
        matched_iou[fg] = ious[match[fg], fg.nonzero().squeeze(1)]
        return match, matched_iou

    def _candidates(self, xyxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Anchors inside a box or near its centre (any box), and inside-and-near (per box)."""
        c = self.centres[None]  # [1, A, 2]
        inside = ((c > xyxy[:, None, :2]) & (c < xyxy[:, None, 2:])).all(-1)
        middle = (xyxy[:, :2] + xyxy[:, 2:]) / 2
        reach = CENTRE_RADIUS * self.strides[None, :, 0:1]
        near = ((c - middle[:, None]).abs() < reach).all(-1)
        return (inside | near).any(0), inside & near


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes (x1, y1, x2, y2 on the last axis), broadcast: paired boxes give one
    value each, ``a[:, None]`` against ``b[None]`` every pair (differentiable)."""
    import torch

    lt, rb = torch.max(a[..., :2], b[..., :2]), torch.min(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a + area_b - inter + EPS)
