"""Compliance events: the only thing about a worker that leaves the PC."""

from deskwatch.events.event import EVENT_TYPES, Event, EventType

__all__ = ["EVENT_TYPES", "Event", "EventType"]
