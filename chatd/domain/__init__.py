"""The domain's vocabulary: plain types that the core, the store and the edges all speak.

- ``models.py``  the records the store returns and the core hands to the faces (users, channels, messages …).
- ``events.py``  the event envelope stored in a channel's log and published after commit.
- ``errors.py``  the one error tree (code, HTTP status hint, fields); ``codes.py`` every error code.
- ``probes.py``  the metrics hooks the store, the core and the bus call (``chatd/metrics.py`` implements them).

They sit below both the core and the store so that each may use them without a package cycle: the core
imports the store, and the store returns these records and raises these errors (a taken name is a
``Conflict``). Nothing here imports another chatd package, and nothing here holds a rule
(``tests/test_layers.py`` checks both).
"""
