"""The steps ``deskwatch train`` runs: fit the re-headed model, export it as ONNX."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deskwatch.errors import DeskwatchError
from deskwatch.training import model as nets
from deskwatch.training.build import CLASSES
from deskwatch.training.dataset import load, read_image
from deskwatch.training.synth import SynthParams
from deskwatch.training.train import TrainSettings, fit, letterbox

CALIBRATION_IMAGES = 64


def fit_model(
    base: Path,
    work: Path,
    step: Callable[[int, int, float], None] | None = None,
    settings: TrainSettings | None = None,
) -> Path:
    """Train from ``base`` on ``<work>/data``; the weights go to ``<work>/weights.pt``."""

    settings = settings or TrainSettings()
    if not (work / "data" / "images" / "train").is_dir():
        raise DeskwatchError(f"{work / 'data'}: no built set (run `deskwatch train data` first)")
    net = nets.to_torch(nets.reheaded(base, CLASSES, settings.size))

    def report(done: int, total: int, parts: dict[str, float]) -> None:
        if step:
            step(done, total, parts["loss"])

    weights = work / "weights.pt"
    fit(net, work / "data", settings, report, weights)
    (work / "settings.json").write_text(json.dumps(asdict(settings)), encoding="utf-8")
    return weights


def card(settings: TrainSettings) -> str:
    """What the shipped file says about itself (ONNX metadata ``card``)."""
    return json.dumps(
        {
            "name": "deskwatch desk objects",
            "classes": list(CLASSES),
            "base": "YOLOX-nano (COCO), Apache-2.0, Megvii",
            "data": "../shared/data/train/phone train split (see ATTRIBUTIONS.md) + synthesis",
            "train_settings": asdict(settings),
            "synth_params": asdict(SynthParams()),
            "trained": time.strftime("%Y-%m-%d"),
        }
    )


def export_model(base: Path, work: Path, to: Path, *, int8: bool = False) -> int:
    """Write ``<work>/weights.pt`` into the re-headed graph at ``to``; its size in bytes."""
    import torch

    weights = work / "weights.pt"
    if not weights.is_file():
        raise DeskwatchError(f"{weights}: no trained weights (run `deskwatch train fit` first)")
    saved = work / "settings.json"
    settings = (
        TrainSettings(**json.loads(saved.read_text())) if saved.is_file() else TrainSettings()
    )
    graph = nets.reheaded(base, CLASSES, settings.size)
    net = nets.to_torch(graph)
    net.load_state_dict(torch.load(weights, weights_only=True))
    trained = nets.write_back(net, graph)
    if not int8:
        nets.save(trained, to, CLASSES, card(settings))
        return to.stat().st_size
    fp32 = work / "fp32.onnx"
    nets.save(trained, fp32, CLASSES, card(settings))
    nets.quantize(fp32, to, _calibration(work / "data", settings.size))
    _copy_metadata(fp32, to)
    return to.stat().st_size


def _calibration(data: Path, size: int) -> list[NDArray[np.float32]]:

    train = load(data, "train")
    samples = train[:: max(1, len(train) // CALIBRATION_IMAGES)]
    inputs = []
    for s in samples[:CALIBRATION_IMAGES]:
        boxed = letterbox(read_image(s.image), size)[0]
        inputs.append(boxed.transpose(2, 0, 1)[None].astype(np.float32))
    return inputs


def _copy_metadata(source: Path, target: Path) -> None:
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(source)).metadata_props}
    model = onnx.load(str(target))
    nets.save(model, target, tuple(json.loads(meta["card"])["classes"]), meta["card"])
