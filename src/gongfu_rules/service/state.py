"""The standards set in use, and its reload.

A request reads :attr:`Standards.current` once, at its start, and uses that set to the end; a
reload builds the new set completely and then rebinds the one attribute, so a request sees
either the old set or the new one, never a mixture. A set that does not load is logged and
the old one stays in service.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..errors import StandardsError
from ..load.loader import load_standards
from ..model import StandardsSet

log = logging.getLogger("gongfu_rules.service")


class Standards:
    """Holds the current :class:`StandardsSet` and the directory it is reloaded from."""

    def __init__(self, current: StandardsSet, path: str | Path | None):
        self.current = current
        self.path = path
        self._lock = threading.Lock()  # one reload at a time

    @classmethod
    def load(cls, standards: StandardsSet | str | Path | None) -> "Standards":
        if isinstance(standards, StandardsSet):
            return cls(standards, standards.root)
        return cls(load_standards(standards), standards)

    def reload(self) -> bool:
        """Load the set again from its directory and swap it in; False (logged) if it fails."""
        with self._lock:
            old = self.current
            try:
                new = load_standards(self.path)
            except StandardsError as e:
                log.error("standards reload failed (%d problems; still serving %s %s):\n%s",
                          len(e.details), old.version, old.digest, e)
                return False
            except OSError as e:
                log.error("standards reload failed (%s; still serving %s %s)",
                          e.__class__.__name__, old.version, old.digest)
                return False
            self.current = new
            log.info("standards reloaded: %s %s (was %s %s)", new.version, new.digest,
                     old.version, old.digest)
            return True
