"""``deskwatch demo``: above the server and the agent, it runs both on one machine.

``clip`` makes the built-in demo clip, ``seed`` the demo organisation, ``devices`` the
simulated agent PCs, ``real_agent`` the one PC that runs the real agent, and ``site``
puts them together behind the real server.
"""
