"""The console's static files: a name no file can have is answered as a missing file (404).

Litestar's local file system lets ``os.stat`` errors other than "not found" escape as a 500: a
NUL in the name (``ValueError``), a name longer than the file system allows, a path through a
file (``console.css/x``). Those are names a client chose, not faults of the server.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from litestar import Router
from litestar.file_system import BaseLocalFileSystem
from litestar.static_files import create_static_files_router
from litestar.types import PathType

STATIC = Path(__file__).parent / "static"
#: What ``stat`` answers for a name that cannot exist, as opposed to a fault of the disk.
_NO_SUCH_NAME = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.EINVAL, errno.EILSEQ, errno.ELOOP})


class _StaticFileSystem(BaseLocalFileSystem):
    async def info(self, path: PathType, **kwargs: Any) -> Any:
        try:
            return await super().info(path, **kwargs)
        except ValueError:  # "embedded null byte"
            raise FileNotFoundError(errno.ENOENT, "No such file") from None
        except OSError as exc:
            if exc.errno in _NO_SUCH_NAME:
                raise FileNotFoundError(errno.ENOENT, "No such file") from None
            raise


def static_router() -> Router:
    return create_static_files_router(
        path="/static", directories=[STATIC], file_system=_StaticFileSystem(), include_in_schema=False
    )
