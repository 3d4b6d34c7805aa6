"""Training the shipped desk-object model (the ``train`` extra; never needed to run).

``deskwatch train all`` (or ``python -m deskwatch.training all``) rebuilds
``perception/models/desk_objects.onnx`` from ``../shared/data/train/phone`` and the COCO
YOLOX-nano: relabel and synthesise (``build``, ``synth``, ``lookalikes``), fine-tune on the
CPU (``model``, ``loss``, ``train``), export (``run``).
"""
