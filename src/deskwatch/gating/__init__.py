"""Gating: decide which perception stages run on a frame before running them."""

from deskwatch.gating.gate import Gate

__all__ = ["Gate"]
