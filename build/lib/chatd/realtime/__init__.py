"""Live delivery: events committed by the core reach every websocket that may see them.

- ``bus.py``       carries committed events between processes: in-process by default, Redis pub/sub by URL.
- ``hub.py``       this process's connections, their subscriptions and bounded queues.
- ``protocol.py``  frame types and close codes; ``endpoint.py`` the thin ``/websocket/client`` route.
"""
