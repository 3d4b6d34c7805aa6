"""The worker's desktop side: a system-tray icon for the agent running on this PC (the
``desktop`` extra, PySide6). It talks only to the agent's local page on 127.0.0.1."""
