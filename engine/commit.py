"""A run's outputs commit together or not at all, and a killed run's leftovers are finished or removed.

While a commit is open, every file or folder written through `engine.atomic` is staged beside its
target, as `.NAME.hookyard-ID.stage`, and stays there until the whole run (its report included) has
succeeded. Then, in this order:

1. the journal `.hookyard-commit-ID.json`, naming every staged output and its target, is written into
   each folder that receives an output; the "home" folder (the first, sorted) gets it last, and that
   write is the commit point;
2. each output is renamed onto its target, in the order the run wrote them (so the report comes last).
   A folder being replaced is swapped with its successor in one step on Linux (`renameat2`), else
   first moved aside (`.NAME.hookyard-ID.old`); the old one is removed once its successor is in place;
3. the journals are removed, the home's last.

Before a commit stages anything in a folder it locks the folder (`.hookyard.lock`, held until it
ends): a second run writing there fails at once, naming the first. Holding the lock, it finishes what a
killed run left there: a journal whose home copy exists is rolled forward (the renames completed), any
other journal and staged output is removed, and it warns saying which. Only names of these forms are
ever removed, so the engine never deletes a file or folder it did not create.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import json
import os
import re
import secrets
import shutil
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from engine.errors import ConfigError

LOCK = ".hookyard.lock"
LEFTOVER = re.compile(r"^\.(?P<name>.+)\.hookyard-(?P<id>[0-9a-f]{12})\.(?:stage|old)$")
JOURNAL = re.compile(r"^\.hookyard-commit-(?P<id>[0-9a-f]{12})\.json(?P<tmp>\.tmp)?$")

_current: contextvars.ContextVar[Commit | None] = contextvars.ContextVar("hookyard_commit", default=None)


class RecoveryWarning(UserWarning):
    """A run found what a killed run left in one of its folders, and finished or removed it."""


@attrs.frozen
class Output:
    """One staged output: where it is written, where it goes, and whether it is a folder."""

    target: Path
    staged: Path
    folder: bool
    inode: int | None = None
    """The staged file's inode, recorded in the journal: it tells whether a rename has been done."""

    def aside(self, commit_id: str) -> Path:
        """Where a folder being replaced waits until its successor is in place."""
        return self.target.parent / f".{self.target.name}.hookyard-{commit_id}.old"


class FolderLock:
    """An exclusive lock on a folder the run writes into: a `.hookyard.lock` file, flocked, naming its
    holder, and removed when released."""

    def __init__(self, folder: Path, holder: str) -> None:
        import fcntl

        path = folder / LOCK
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                raise ConfigError(f"another Hookyard run ({other}) is writing outputs in {str(folder)!r}; wait "
                                  "for it to finish, or give this run's outputs another folder") from None
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, holder.encode())
        self.path, self.fd = path, fd

    def release(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


class Commit:
    """The outputs of one run, staged until `commit()` moves them all into place (see the module docstring)."""

    def __init__(self) -> None:
        self.id = secrets.token_hex(6)
        self.outputs: list[Output] = []
        self.locks: dict[Path, FolderLock] = {}
        self.recovered: set[Path] = set()

    def stage(self, target: str | os.PathLike[str], *, folder: bool) -> Path:
        """A new empty file (or folder) beside `target`, to write its content in; it takes the
        target's place when the commit does."""
        target = absolute(target)
        if any(o.target == target for o in self.outputs):
            raise ConfigError(f"two outputs of this run are written to {str(target)!r}; give each its own path")
        if not folder and target.is_dir() and not target.is_symlink():
            raise ConfigError(f"{str(target)!r} is a folder; give the output a file's path")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.private(target):
            self.take(target.parent)
        staged = target.parent / f".{target.name}.hookyard-{self.id}.stage"
        if folder:
            staged.mkdir(mode=0o777)
        else:
            os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        self.outputs.append(Output(target, staged, folder))
        return staged

    def private(self, target: Path) -> bool:
        """Whether `target` lies inside a folder this commit stages: no one else can see it, so it needs
        no lock or journal, and takes its place as soon as it is written."""
        return any(o.folder and o.staged in target.parents for o in self.outputs)

    def settle(self, staged: Path) -> None:
        """Move a private output into place at once (what it replaces was written by this commit)."""
        output = next(o for o in self.outputs if o.staged == staged)
        self.outputs.remove(output)
        _remove(output.target)
        os.replace(output.staged, output.target)

    def discard(self, staged: Path) -> None:
        """Forget a staged output whose writing failed, and remove it."""
        self.outputs = [o for o in self.outputs if o.staged != staged]
        _remove(staged)

    def take(self, folder: Path) -> None:
        """Lock `folder` for this commit (once), and finish what a killed run left there."""
        self._lock(folder)
        if folder not in self.recovered:
            self.recovered.add(folder)
            recover(folder, self)

    def take_existing(self, folders: Iterable[str | os.PathLike[str]]) -> None:
        """`take` those of `folders` that exist now (the others are taken when an output is staged there)."""
        for folder in map(absolute, folders):
            if folder.is_dir():
                self.take(folder)

    def _lock(self, folder: Path) -> None:
        if folder not in self.locks:
            self.locks[folder] = FolderLock(folder, f"pid {os.getpid()}, commit {self.id}")

    def commit(self) -> None:
        """Journal the staged outputs, rename each onto its target, then drop the journals. Once the
        home journal is written the commit stands: a rename that fails then is left for the next run
        in that folder to complete."""
        if not self.outputs:
            return
        journal = Journal(self.id, tuple(attrs.evolve(o, inode=os.lstat(o.staged).st_ino) for o in self.outputs))
        try:
            journal.write()
        except BaseException:
            journal.roll_back()
            raise
        self.outputs = []
        try:
            journal.roll_forward()
        except OSError as exc:
            raise ConfigError(f"the run committed its outputs, but moving them into place failed ({exc}); the "
                              f"next run writing in {str(journal.folders[0])!r} completes it") from exc

    def abort(self) -> None:
        """Remove every staged output not yet committed; the targets stay as they were."""
        for output in self.outputs:
            _remove(output.staged)
        self.outputs = []

    def release(self) -> None:
        for lock in self.locks.values():
            lock.release()
        self.locks = {}


@attrs.frozen
class Journal:
    """What one commit moves into place: written before the first rename, removed after the last."""

    id: str
    outputs: tuple[Output, ...]

    @property
    def folders(self) -> list[Path]:
        """The folders receiving an output; the first is the home, whose journal is the commit point."""
        return sorted({o.target.parent for o in self.outputs})

    @property
    def name(self) -> str:
        return f".hookyard-commit-{self.id}.json"

    def write(self) -> None:
        document = {"commit": self.id, "home": str(self.folders[0]),
                    "outputs": [{"target": str(o.target), "staged": str(o.staged), "folder": o.folder,
                                 "inode": o.inode} for o in self.outputs]}
        text = json.dumps(document, indent=1)
        for folder in [*self.folders[1:], self.folders[0]]:
            tmp = folder / f"{self.name}.tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, folder / self.name)
            _sync(folder)

    @classmethod
    def read(cls, path: Path) -> Journal:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            outputs = tuple(Output(Path(o["target"]), Path(o["staged"]), bool(o["folder"]), int(o["inode"]))
                            for o in document["outputs"])
            journal = cls(str(document["commit"]), outputs)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the commit journal {str(path)!r} cannot be read ({exc}); it was not written "
                              "whole by Hookyard: move it away, then run again") from None
        if not outputs or any(LEFTOVER.match(o.staged.name) is None or o.staged.parent != o.target.parent
                              for o in outputs):
            raise ConfigError(f"the commit journal {str(path)!r} names outputs Hookyard does not stage; "
                              "move it away, then run again")
        return journal

    @property
    def committed(self) -> bool:
        return (self.folders[0] / self.name).exists()

    def roll_forward(self) -> None:
        """Move every output not yet in place onto its target (a killed commit resumes where it stopped:
        the inodes tell what was moved), then remove what was replaced and the journals."""
        for output in self.outputs:
            if _inode(output.target) != output.inode and _inode(output.staged) == output.inode:
                _move(output, output.aside(self.id))
            if _inode(output.staged) not in (None, output.inode):
                _remove(output.staged)
            _remove(output.aside(self.id))
        for folder in self.folders:
            _sync(folder)
        for folder in [*self.folders[1:], self.folders[0]]:
            (folder / self.name).unlink(missing_ok=True)

    def roll_back(self) -> None:
        """Remove the staged outputs of a commit that never reached its commit point, and its journals."""
        for output in self.outputs:
            _remove(output.staged)
        for folder in self.folders:
            (folder / self.name).unlink(missing_ok=True)


def recover(folder: Path, commit: Commit) -> None:
    """Finish or undo what killed runs left in `folder` (see the module docstring), warning what was done."""
    names = os.listdir(folder)
    for name in names:
        match = JOURNAL.match(name)
        if match is None or match["id"] == commit.id:
            continue
        if match["tmp"]:
            (folder / name).unlink(missing_ok=True)
            continue
        journal = Journal.read(folder / name)
        for other in journal.folders:
            commit._lock(other)
        if journal.committed:
            journal.roll_forward()
            _warn(f"completed the commit of an interrupted run in {str(folder)!r}: "
                  f"{_count(journal.outputs)} moved into place ({_targets(journal.outputs)})")
        else:
            journal.roll_back()
            _warn(f"an interrupted run had not committed its outputs in {str(folder)!r}: removed its "
                  f"{_count(journal.outputs)} staged beside {_targets(journal.outputs)}")
    left = os.listdir(folder)
    journals = {m["id"] for m in map(JOURNAL.match, left) if m is not None}
    removed: list[str] = []
    for name in left:
        match = LEFTOVER.match(name)
        if match is not None and match["id"] != commit.id and match["id"] not in journals:
            _remove(folder / name)
            removed.append(match["name"])
    if removed:
        _warn(f"removed {len(removed)} unfinished output(s) left in {str(folder)!r} by an interrupted run "
              f"(for {', '.join(sorted(set(removed)))})")


@contextlib.contextmanager
def outputs(*folders: str | os.PathLike[str]) -> Iterator[Commit]:
    """Open a commit for what the block writes (or join the one open), locking the `folders` that exist now; the
    outputs move into place when the outermost block succeeds. When a joined block fails, just its own
    outputs are dropped."""
    current = _current.get()
    if current is not None:
        mark = len(current.outputs)
        try:
            current.take_existing(folders)
            yield current
        except BaseException:
            for output in current.outputs[mark:]:
                _remove(output.staged)
            del current.outputs[mark:]
            raise
        return
    commit = Commit()
    token = _current.set(commit)
    try:
        commit.take_existing(folders)
        yield commit
        _current.reset(token)
        token = None
        commit.commit()
    except BaseException:
        commit.abort()
        raise
    finally:
        if token is not None:
            _current.reset(token)
        commit.release()


@contextlib.contextmanager
def apart() -> Iterator[None]:
    """Write outside the open commit while the block runs: for what is no run's output and should
    stay when the run fails (a cache, such as a converted model)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def output(target: str | os.PathLike[str], *, folder: bool) -> Iterator[Path]:
    """A staged path for `target` in the open commit (or in one of its own): see `engine.atomic`."""
    with outputs() as commit:
        target = absolute(target)
        staged = commit.stage(target, folder=folder)
        try:
            yield staged
            _flush(staged)
        except BaseException:
            commit.discard(staged)
            raise
        if commit.private(target):
            commit.settle(staged)


def absolute(path: str | os.PathLike[str]) -> Path:
    """`path` made absolute without resolving a symlink at its end (a link is replaced, not followed)."""
    text = os.fspath(path)
    if "\0" in text:
        raise ConfigError(f"the output path {text!r} holds a NUL byte; give a path without one")
    return Path(os.path.abspath(os.path.expanduser(text)))


def _move(output: Output, aside: Path) -> None:
    """Put a staged output in its target's place. A folder that exists there is swapped with it in one
    step where the system can (Linux), else moved aside first; either way the old one is removed later."""
    if not (output.folder and os.path.lexists(output.target)):
        os.replace(output.staged, output.target)
    elif not _exchange(output.staged, output.target):
        os.replace(output.target, aside)
        os.replace(output.staged, output.target)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (`renameat2` with RENAME_EXCHANGE); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _inode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_ino
    except FileNotFoundError:
        return None


def _flush(staged: Path) -> None:
    """Put a staged file's bytes on disk before any rename can make it the target."""
    if staged.is_file():
        with open(staged, "rb+") as handle:
            os.fsync(handle.fileno())


def _sync(folder: Path) -> None:
    """Make a folder's renames durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink(missing_ok=True)


def _count(outputs: tuple[Output, ...]) -> str:
    return f"{len(outputs)} output{'s' if len(outputs) != 1 else ''}"


def _targets(outputs: tuple[Output, ...]) -> str:
    return ", ".join(o.target.name for o in outputs)


def _warn(message: str) -> None:
    warnings.warn(message, RecoveryWarning, stacklevel=3)
