"""The detectors: each module declares one ``DETECTOR`` spec (see ``perception.registry``)."""
