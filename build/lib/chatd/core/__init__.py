"""The domain core: every rule of chatd, called alike by every face.

- ``errors.py``    the one error tree (code, HTTP status hint, fields).
- ``ids.py``       64-bit time-ordered ids; ``clock.py`` the injectable clock.
- ``context.py``   ``Core`` (what an action needs) and ``Tx`` (one transaction plus the events it emits).
- ``models.py``    domain records returned to the faces.
- ``events.py``    the event envelope stored in the channel log and published after commit.
- ``auth.py``      login, sessions, tokens, authentication of a request; ``passwords.py`` hashing.
- ``users.py``, ``orgs.py``, ``teams.py``, ``channels.py``, ``messages.py`` …: one module per aggregate,
  functions named ``access_*`` (fetch and check), ``check_*`` (validate), ``do_*`` (change and record).
"""
