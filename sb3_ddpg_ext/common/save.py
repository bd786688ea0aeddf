"""Atomic file writes and model-file checks, so that nothing a user saved is ever lost or half-written."""

import contextlib
import os
import pathlib
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import IO


def with_default_suffix(path: str | pathlib.Path, suffix: str) -> pathlib.Path:
    """
    Apply SB3's naming rule: a path without suffix gets ``.{suffix}`` appended.

    :param path: Path given by the user
    :param suffix: Default suffix without dot (``zip`` for models, ``pkl`` for replay buffers)
    :return: The path SB3 would write to
    """
    path = pathlib.Path(path)
    return pathlib.Path(f"{path}.{suffix}") if path.suffix == "" else path


def _file_mode() -> int:
    """The permissions ``open()`` gives a new file: ``0o666`` less the process's umask (read once, at import)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


@contextlib.contextmanager
def atomic_path(path: str | pathlib.Path) -> Iterator[pathlib.Path]:
    """
    Yield a unique temporary path beside ``path`` and move it onto ``path`` only when the block succeeds;
    otherwise remove it. For writers that take a path (``figure.savefig(tmp)``, ``frame.to_csv(tmp)``,
    ``model.save(tmp)``); :func:`atomic_open` and :func:`atomic_write` are built on it.

    The temporary file is made by ``tempfile.mkstemp`` in the target's folder (so the final ``os.replace``
    is atomic), named ``.{name}.<random>.tmp{suffix}``: it keeps the target's suffix for writers that infer
    the format from it, and threads or processes writing the same target never share it. It exists (empty)
    when the block starts, has the permissions ``open()`` would give, and is flushed to disk before the move.
    Readers never see a half-written file, and a crash or Ctrl-C leaves the previous file intact.

    :param path: Final destination (its folder is created if needed)
    :return: A context manager yielding the temporary path
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    tmp = pathlib.Path(name)
    os.close(handle)
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes the file private (0o600)
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | pathlib.Path, mode: str = "wb") -> Iterator[IO]:
    """
    Open a temporary file beside ``path`` and move it onto ``path`` only when the block succeeds,
    so a crash or Ctrl-C mid-write leaves the previous file intact (see :func:`atomic_path`).

    :param path: Final destination (its folder is created if needed)
    :param mode: ``"wb"`` or ``"w"``
    """
    with atomic_path(path) as tmp, open(tmp, mode) as file:
        yield file


def atomic_write(path: str | pathlib.Path, writer: Callable[[IO], object], mode: str = "wb") -> pathlib.Path:
    """
    Write a file atomically with ``writer(file)``.

    :param path: Final destination
    :param writer: Function that writes the content into the open file (its return value is ignored)
    :param mode: ``"wb"`` or ``"w"``
    :return: The destination path
    """
    with atomic_open(path, mode) as file:
        writer(file)
    return pathlib.Path(path)


def check_model_file(path: str | pathlib.Path) -> pathlib.Path:
    """
    Check that ``path`` (or ``path.zip``, as SB3 tries) is a complete model archive written by ``save()``.

    :param path: Path given to ``load()``
    :return: The resolved file
    :raises FileNotFoundError: when neither file exists
    :raises ValueError: when the file is truncated or not a model archive (SB3 raises ValueError for bad zips)
    """
    path = pathlib.Path(path)
    candidates = [path] if path.suffix else [path, pathlib.Path(f"{path}.zip")]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        tried = " nor ".join(f"'{p}'" for p in candidates)
        raise FileNotFoundError(f"No model file at {tried}. Check the path; models are written by model.save(path).")
    problem = None
    if not zipfile.is_zipfile(found):
        problem = "it is not a zip archive (truncated, or not written by model.save())"
    else:
        try:
            with zipfile.ZipFile(found) as archive:
                if archive.testzip() is not None or "data" not in archive.namelist():
                    problem = "the archive is damaged or lacks the 'data' entry that model.save() writes"
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            problem = f"the archive cannot be read ({error})"
    if problem is not None:
        raise ValueError(f"Cannot load model file '{found}': {problem}. Save the model again or use an intact copy.")
    return found
