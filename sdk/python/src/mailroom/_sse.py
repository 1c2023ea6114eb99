"""A minimal Server-Sent Events decoder (the WHATWG event-stream rules the server uses:
``id``, ``event``, ``data`` lines, comments, a blank line dispatches)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class ServerSentEvent:
    id: Optional[str] = None
    event: Optional[str] = None
    data: str = ""
    retry: Optional[int] = None


@dataclass
class SseDecoder:
    _id: Optional[str] = None
    _event: Optional[str] = None
    _data: List[str] = field(default_factory=list)
    _has_id: bool = False

    def feed(self, line: str) -> List[ServerSentEvent]:
        """Takes one line (without its end of line); returns the events it completes. An event
        with an ``id`` but no data is returned too, so that the caller's cursor moves."""
        line = line.rstrip("\r\n")
        if line == "":
            if not self._data and not self._has_id:
                return []
            ev = ServerSentEvent(id=self._id if self._has_id else None, event=self._event, data="\n".join(self._data))
            self._event, self._data, self._has_id = None, [], False
            return [ev]
        if line.startswith(":"):
            return []
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id, self._has_id = value, True
        return []
