"""The trainable network: YOLOX-nano's ONNX graph re-headed for deskwatch's classes.

The COCO model is edited as ONNX (class convolutions cut to our classes, each started
from the COCO row that means the same, reshapes made batch-agnostic, input resized),
converted to PyTorch with ``onnx2torch``, trained, and its weights written back into the
same ONNX graph by initializer name, so the shipped file is the graph deskwatch already
decodes (``layout="yolox"``) with no exporter in between.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from deskwatch.errors import DeskwatchError

if TYPE_CHECKING:
    import onnx
    import torch

# Each deskwatch class starts from the COCO class that means the same (ids in coco_classes.txt).
COCO_ROW_OF = {"phone": 67, "person": 0, "drink": 41, "food": 48, "paper": 73}
COCO_CLASSES = 80


def _stub_torchvision() -> None:
    """onnx2torch imports torchvision only for its NMS and RoIAlign converters, which the
    YOLOX graph does not use; PyPI's torchvision is a CUDA build that fails to load beside
    the CPU torch, so a stand-in takes its place when the real one cannot be imported."""
    try:
        import torchvision  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        stub, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")

        def unavailable(*_args: object, **_kwargs: object) -> None:
            raise NotImplementedError("torchvision ops are not available in deskwatch training")

        ops.nms = ops.roi_align = unavailable  # type: ignore[attr-defined]
        stub.ops = ops  # type: ignore[attr-defined]
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stub, ops


def reheaded(base: Path, classes: tuple[str, ...], size: int) -> onnx.ModelProto:
    """``base`` (COCO YOLOX) with a ``len(classes)``-class head and a ``size``² input."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(base))
    inits = {i.name: i for i in model.graph.initializer}
    rows = [COCO_ROW_OF[c] for c in classes]
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if ".cls_preds." in init.name and array.shape[0] == COCO_CLASSES:
            init.CopyFrom(numpy_helper.from_array(array[rows].copy(), init.name))
    for node in model.graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            if list(shape) == [1, 5 + COCO_CLASSES, -1]:
                fixed = np.array([0, 5 + len(classes), -1], dtype=np.int64)
                inits[node.input[1]].CopyFrom(numpy_helper.from_array(fixed, node.input[1]))
    del model.graph.value_info[:]  # shapes recorded for the old head and input
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = size
    out = model.graph.output[0].type.tensor_type.shape.dim
    out[0].dim_param, out[1].dim_param, out[2].dim_value = "batch", "anchors", 5 + len(classes)
    _check_head(model, len(classes))
    return model


def _check_head(model: onnx.ModelProto, classes: int) -> None:
    from onnx import numpy_helper

    heads = [i for i in model.graph.initializer if ".cls_preds." in i.name]
    if len(heads) != 6 or any(numpy_helper.to_array(h).shape[0] != classes for h in heads):
        raise DeskwatchError("base model is not a YOLOX graph with three class heads")


def to_torch(model: onnx.ModelProto) -> torch.fx.GraphModule:
    """A trainable PyTorch module computing exactly what ``model`` computes."""
    _stub_torchvision()
    import onnx2torch

    net: torch.fx.GraphModule = onnx2torch.convert(model)
    return net


def write_back(net: torch.nn.Module, model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every convolution's weights replaced by ``net``'s trained ones."""
    import onnx
    from onnx import numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    inits = {i.name: i for i in out.graph.initializer}
    modules = dict(net.named_modules())
    for node in out.graph.node:
        if node.op_type != "Conv":
            continue
        conv = modules[node.name.replace("/", "_")]
        for name, value in zip(node.input[1:], (conv.weight, conv.bias), strict=False):
            array = value.detach().cpu().numpy().astype(np.float32)
            inits[name].CopyFrom(numpy_helper.from_array(array, name))
    return out


def save(model: onnx.ModelProto, path: Path, classes: tuple[str, ...], card: str) -> None:
    """Write the model with its class names (read by the detector) and a short card."""
    import onnx

    del model.metadata_props[:]
    for key, value in (("names", repr(list(classes))), ("layout", "yolox"), ("card", card)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def quantize(source: Path, target: Path, images: list[NDArray[np.float32]]) -> None:
    """int8 weights and activations (static, QDQ) calibrated on ``images`` (model inputs).

    Per-channel weights need opset 13 (YOLOX's export is opset 11), so the graph is
    converted first."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    opset13 = target.with_suffix(".opset13.onnx")
    onnx.save(version_converter.convert_version(onnx.load(str(source)), 13), str(opset13))

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it = iter(images)

        def get_next(self) -> dict[str, NDArray[np.float32]] | None:
            batch = next(self._it, None)
            return None if batch is None else {"images": batch}

    try:
        quantize_static(
            str(opset13), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True
        )
    finally:
        opset13.unlink(missing_ok=True)
