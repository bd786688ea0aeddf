"""
Fetch SB3's test files for the installed ``stable_baselines3`` version and cache them.

SB3's wheel has no tests; its sdist on PyPI has them (``stable_baselines3-<version>/tests/*.py``). This downloads the
sdist with pip (``pip download --no-binary :all: --no-deps``), unpacks its ``tests/*.py`` into
``<cache>/<version>/tests/`` and prints that folder. A second run finds the cache and downloads nothing.

The cache is ``.cache/sb3-tests/`` at the repository root (gitignored), or ``$SB3_TESTS_CACHE``.

Usage: ``python -m tests.sb3_oracle.fetch`` (prints the tests folder on stdout, progress on stderr).
"""

import contextlib
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

import stable_baselines3

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / ".cache" / "sb3-tests"
# Written last: a folder without it is an interrupted unpack and is fetched again
COMPLETE = "SOURCE.txt"


def cache_root() -> pathlib.Path:
    """The cache folder: ``$SB3_TESTS_CACHE`` or ``.cache/sb3-tests`` at the repository root."""
    return pathlib.Path(os.environ.get("SB3_TESTS_CACHE") or DEFAULT_CACHE).resolve()


def _log(message: str) -> None:
    print(f"[sb3-oracle] {message}", file=sys.stderr, flush=True)


def _download_sdist(version: str, into: pathlib.Path) -> pathlib.Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-binary",
        ":all:",
        "--no-deps",
        f"stable-baselines3=={version}",
        "-d",
        str(into),
    ]
    _log(f"downloading the stable-baselines3 {version} sdist: {' '.join(command[2:])}")
    # pip's output goes to stderr, so that stdout carries only the folder
    subprocess.run(command, check=True, stdout=sys.stderr)
    archives = sorted(into.glob("*.tar.gz"))
    if len(archives) != 1:
        raise RuntimeError(f"pip download left {[a.name for a in archives]} in {into}, expected one .tar.gz sdist")
    return archives[0]


def _unpack_tests(archive: pathlib.Path, version: str, into: pathlib.Path) -> list[str]:
    prefix = f"stable_baselines3-{version}/tests/"
    names = []
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            relative = member.name.removeprefix(prefix)
            # Only the flat tests/*.py files: nothing outside tests/, no links, no sub-folders
            if member.name.startswith(prefix) and member.isfile() and "/" not in relative and relative.endswith(".py"):
                source = tar.extractfile(member)
                assert source is not None
                (into / relative).write_bytes(source.read())
                names.append(relative)
    if not names:
        raise RuntimeError(f"{archive.name} has no {prefix}*.py files")
    return sorted(names)


def sb3_tests_dir(version: str | None = None) -> pathlib.Path:
    """
    The folder holding SB3's test files for ``version`` (the installed SB3 by default), downloading them if needed.

    :param version: SB3 version; ``None``: ``stable_baselines3.__version__``
    :return: ``<cache>/<version>/tests``
    """
    version = version or stable_baselines3.__version__
    target = cache_root() / version
    if (target / COMPLETE).is_file():
        return target / "tests"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}."))
    try:
        archive = _download_sdist(version, staging / "download")
        (staging / "tests").mkdir()
        names = _unpack_tests(archive, version, staging / "tests")
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        shutil.rmtree(staging / "download")
        listing = "".join(f"{name}\n" for name in names)
        (staging / COMPLETE).write_text(f"{archive.name} sha256={digest}\n{len(names)} files from its tests/:\n{listing}")
        if target.exists():  # an interrupted earlier unpack (no COMPLETE file)
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / COMPLETE).is_file():  # not another run finishing first
                raise
        _log(f"cached {len(names)} test files of stable-baselines3 {version} in {target / 'tests'}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)
    return target / "tests"


if __name__ == "__main__":
    print(sb3_tests_dir())
