"""The one way benchbox writes an output file: whole or not at all, with the mode `open()` gives.

Why atomic: a CI artifact upload, a browser or a second benchbox reading result.json must never
see half a file, so the text goes to a temporary file beside the target, is flushed to disk, then
renamed over it (a rename within one directory is atomic on POSIX).

Why this mode: result.json, the reports, compare.json and accept files are artifacts meant to be
read by someone else (an upload step running as another user, a web server, a colleague), and
secrets are scrubbed from them before they are written. `tempfile.mkstemp` creates 0600, which
hid result.json from those readers while the reports were forced to 0644. Here the temporary
file is created with 0666 and the kernel applies the umask, so every output gets what any other
file the user creates gets: 0644 under the usual umask 022, 0600 for a user whose umask (077)
says outputs are private. No umask is read or changed (that would race with other threads).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def write_atomic(path: Path | str, text: str) -> Path:
    """Write `text` (UTF-8, bytes exactly as given: the same document on every platform) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}-{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, _CREATE, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
