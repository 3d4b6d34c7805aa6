"""Identity check (opt-in): face verification against an encrypted on-device template, with a
face-mesh liveness challenge, or a password re-confirmation for workers who decline.

Importing this package imports neither dlib nor a model: ``encoder`` loads dlib lazily and
only when a team's policy enables identity checks and the worker has enrolled.
"""
