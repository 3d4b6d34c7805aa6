"""Training the desk-object model: the re-headed graph, the loss, synthesis, the command."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from deskwatch.arrays import Image, as_image
from deskwatch.cli import app
from deskwatch.perception.detectors.objects import ObjectDetector, ObjectDetectorOptions
from deskwatch.training import model as nets
from deskwatch.training import synth
from deskwatch.training.build import CLASSES
from deskwatch.training.dataset import Sample, read_labels, write_labels
from deskwatch.training.loss import YoloxLoss
from deskwatch.training.train import TrainSettings, augment, letterbox
from tests.conftest import shared_file

torch = pytest.importorskip("torch", reason="the train extra is not installed")


def coco() -> Path:
    return shared_file("models", "yolox-nano", "yolox_nano.onnx")


def picture(name: str = "person-looking-at-phone.jpg") -> Image:
    return as_image(cv2.imread(str(shared_file("data", "dev", "images", name))))


def test_the_reheaded_graph_scores_each_class_as_coco_did(tmp_path: Path) -> None:
    """Before training, "phone" is COCO's "cell phone" and "person" its "person"."""
    graph = nets.reheaded(coco(), CLASSES, 416)
    path = tmp_path / "start.onnx"
    nets.save(graph, path, CLASSES, "{}")
    labels = shared_file("models", "yolox-nano", "coco_classes.txt")
    teacher = ObjectDetector(ObjectDetectorOptions(coco(), labels, min_confidence=0.3))
    student = ObjectDetector(ObjectDetectorOptions(path, min_confidence=0.3))
    assert student.names == list(CLASSES) and student.layout == "yolox"
    image = picture()
    before = teacher.find(image, 1.0)
    after = student.find(image, 1.0)
    for coco_name, ours in (("cell phone", "phone"), ("person", "person")):
        want = before.with_label(coco_name).max_confidence()
        assert want > 0.5
        assert after.with_label(ours).max_confidence() == pytest.approx(want, abs=1e-4)


def test_trained_weights_written_back_compute_what_torch_computes(tmp_path: Path) -> None:
    graph = nets.reheaded(coco(), CLASSES, 320)
    net = nets.to_torch(graph)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1.02)
    path = tmp_path / "trained.onnx"
    nets.save(nets.write_back(net, graph), path, CLASSES, "{}")
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 320, 320)).astype(np.float32)
    ours = ort.InferenceSession(str(path)).run(None, {"images": x})[0]
    theirs = net(torch.from_numpy(x)).detach().numpy()
    assert ours.shape == (1, 2100, 10)
    assert np.abs(ours - theirs).max() < 1e-3


def test_simota_assigns_anchors_inside_the_box_and_a_few_steps_lower_the_loss() -> None:
    torch.manual_seed(0)
    net = nets.to_torch(nets.reheaded(coco(), CLASSES, 320))
    image, ratio = letterbox(picture(), 320)
    phone = torch.tensor([[0.0, 250 * ratio, 150 * ratio, 420 * ratio, 330 * ratio]])
    x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32).copy())
    loss_fn = YoloxLoss(320, len(CLASSES))
    raw = net(x)
    match, _ious = loss_fn.assign(loss_fn.decode(raw)[0], raw[0, :, 4], raw[0, :, 5:], phone)
    centres = loss_fn.centres[match >= 0]
    assert len(centres) >= 1
    box = phone[0, 1:]
    assert ((centres > box[:2] - 40) & (centres < box[2:] + 40)).all()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-4)
    losses = []
    for _ in range(4):
        loss, _ = loss_fn(net(x), [phone])
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        optimiser.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_labels_round_trip_and_augmenting_keeps_boxes_on_the_object(tmp_path: Path) -> None:
    boxes = np.array([[0, 10, 20, 110, 220], [2, 300, 100, 340, 160]], np.float32)
    write_labels(tmp_path / "a.txt", boxes, 640, 480)
    assert np.allclose(read_labels(tmp_path / "a.txt", 640, 480), boxes, atol=0.01)
    image = np.zeros((240, 320, 3), np.uint8)
    image[20:110, 10:60] = 255  # a white object where the first box is
    settings = TrainSettings(size=320)
    for seed in range(6):
        out, moved = augment(image, boxes[:1] / [1, 2, 2, 2, 2], settings, random.Random(seed))
        x1, y1, x2, y2 = (int(v) for v in moved[0, 1:])
        assert out[y1:y2, x1:x2].mean() > out.mean()


def test_a_pasted_phone_lies_inside_its_box_and_synthesis_repeats_from_its_seed() -> None:
    params = synth.SynthParams()
    piece = np.dstack([np.full((120, 60, 3), 30, np.uint8), np.full((120, 60), 255, np.uint8)])
    results = []
    for _ in range(2):
        canvas = np.full((480, 640, 3), 200, np.uint8)
        box = synth.paste(canvas, piece, (300, 240), 100, 20, params, np.random.default_rng(5))
        results.append(canvas)
        assert box is not None
        x1, y1, x2, y2 = (int(v) for v in box)
        changed = np.argwhere((canvas != 200).any(-1))
        edge = 3  # the box is where the phone is at least half opaque; its soft edge spills over
        assert changed[:, 0].min() >= y1 - edge and changed[:, 0].max() <= y2 + edge
        assert changed[:, 1].min() >= x1 - edge and changed[:, 1].max() <= x2 + edge
    assert np.array_equal(results[0], results[1])
    assert (
        synth.paste(
            np.zeros((100, 100, 3), np.uint8),
            piece,
            (-200, -200),
            50,
            0,
            params,
            np.random.default_rng(0),
        )
        is None
    )


def test_cutouts_come_from_the_labelled_boxes() -> None:
    path = shared_file("data", "dev", "images", "person-looking-at-phone.jpg")
    sample = Sample(path, "train", "test", "", np.array([[0, 250, 150, 420, 330]], np.float32))
    (piece,) = synth.cutouts([sample], synth.SynthParams())
    assert piece.shape[2] == 4 and max(piece.shape[:2]) <= synth.CUTOUT_MAX_PX
    assert piece[..., 3].mean() > 100


def test_the_command_says_what_is_missing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["train", "fit", "--work", str(tmp_path)])
    assert result.exit_code == 2
    assert "no built set" in result.output
    result = runner.invoke(
        app, ["train", "export", "--work", str(tmp_path), "--to", str(tmp_path / "m.onnx")]
    )
    assert result.exit_code == 2 and "no trained weights" in result.output


def test_int8_quantisation_gives_a_model_the_detector_loads(tmp_path: Path) -> None:
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    nets.save(nets.reheaded(coco(), CLASSES, 320), fp32, CLASSES, "{}")
    boxed = letterbox(picture(), 320)[0].transpose(2, 0, 1)[None].astype(np.float32)
    nets.quantize(fp32, int8, [boxed, boxed[:, :, ::-1].copy()])
    nets.save(onnx.load(str(int8)), int8, CLASSES, "{}")
    assert int8.stat().st_size < fp32.stat().st_size / 2
    detector = ObjectDetector(ObjectDetectorOptions(int8, min_confidence=0.3))
    assert detector.names == list(CLASSES)
    assert detector.find(picture(), 1.0).with_label("person").max_confidence() > 0.3
