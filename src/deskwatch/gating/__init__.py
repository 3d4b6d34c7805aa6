"""Gating: decide which perception stages run on a frame before running them.

``config`` (the policy's ``[analysis]`` section) and ``view`` (what gating conditions
read) are plain; ``gate.Gate`` measures motion with OpenCV.
"""
