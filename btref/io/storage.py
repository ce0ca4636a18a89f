"""Storage: pieces and blocks onto files, and the recheck that resume is built on.

Implements the on-disk side of BEP 3 ("info dictionary": pieces cut the concatenated
files; "peer messages": ``request``/``piece`` address a block by piece, begin and length),
BEP 47 (pad files are zeros that are never written) and BEP 52 (v2 files start on piece
boundaries). Where each byte goes is :mod:`btref.layout`'s job; this module does the I/O.

Invariants kept:

* **Nothing outside DATA_DIR, and no link inside it** (DATA_DIR is the folder that holds
  the torrent's top-level file or folder; it is resolved once, so it may itself be reached
  through links). Every file is opened one path component at a time, each relative to the
  descriptor of the folder before it and with ``O_NOFOLLOW``, so a symbolic link planted
  anywhere below DATA_DIR, whether it points outside or at another file of the same
  torrent, is refused with a :class:`~btref.errors.StorageError` and nothing is read or
  written through it; no other program can swap a folder for a link between a check and
  the use, since there is no separate check. Components are checked by
  :class:`~btref.layout.Layout`, even if the metainfo parser let a bad one through.
* **Only verified data is written**, a whole piece at a time (:meth:`Storage.write_piece`):
  one ``pwrite`` per file span. :meth:`Storage.flush` makes it durable (``fsync`` of the
  files written and of the directories that gained entries), so after a crash every
  piece that was flushed is still there, and :func:`verify` finds it again: *resume is a
  recheck*.
* **Bounded memory and file descriptors**: no file is ever loaded whole; a request is
  bounds-checked before any read; at most ``max_open_files`` files are open at once.

Every failure (a bad request, a missing or short file, a disk error) is a
:class:`~btref.errors.StorageError` that names the file or the piece.
"""

from __future__ import annotations

import collections
import errno
import os
import stat
from collections.abc import Callable

import attrs
import pluggy

from btref.pieceset import PieceSet
from btref.errors import StorageError
from btref.layout import Layout, Span
from btref.wire import BLOCK_SIZE
from btref.download import piece_is_good
from btref.metainfo import Torrent

__all__ = ["MAX_OPEN_FILES", "Storage", "VerifyReport", "piece_is_good", "verify"]

#: How many files a :class:`Storage` keeps open (least recently used ones are closed).
MAX_OPEN_FILES = 32
#: Flags for opening a folder on a file's path: never through a link.
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Storage:
    """Read and write one torrent's pieces below ``data_dir``.

    Files are opened lazily (read-only until the first write), parent folders are made on
    demand, and nothing is created by merely constructing or reading. Use it as a context
    manager, or call :meth:`close` (which flushes first).
    """

    def __init__(self, torrent: Torrent, data_dir: str | os.PathLike[str], *,
                 max_open_files: int = MAX_OPEN_FILES) -> None:
        self.torrent = torrent
        self.layout = Layout(torrent)
        #: The resolved download folder: every file is opened below it, through no link.
        self.root = os.path.realpath(os.fspath(data_dir))
        self.max_open_files = max(1, max_open_files)
        # file index -> (fd, writable), least recently used first
        self._fds: collections.OrderedDict[int, tuple[int, bool]] = collections.OrderedDict()
        self._dirty: set[int] = set()  # files written since the last flush
        self._new_entries: set[str] = set()  # directories that gained an entry since the last flush
        self._empty_files_made = False
        self._closed = False

    # -- paths ----------------------------------------------------------------------

    def path(self, file_index: int) -> str:
        """Where file ``file_index`` lives: below the download folder, by its own name."""
        return os.path.join(self.root, *self.torrent.files[file_index].path)

    # [docs: confine]
    def _folder(self, names: tuple[str, ...], create: bool) -> int:
        """A descriptor of the folder ``names`` below the download folder, opened one
        component at a time, each relative to the one before and never through a link;
        missing folders are made when ``create``."""
        fd = os.open(self.root, _FOLDER)
        try:
            for depth, name in enumerate(names):
                try:
                    child = os.open(name, _FOLDER, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(name, dir_fd=fd)
                    self._new_entries.add(os.path.join(self.root, *names[:depth]))
                    child = os.open(name, _FOLDER, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd
    # [/docs: confine]

    def file_size(self, file_index: int) -> int | None:
        """Bytes of file ``file_index`` on disk, or ``None`` if it is absent (or not a file).

        :raises StorageError: if a symbolic link is on its path, or it is one.
        """
        *folders, name = self.torrent.files[file_index].path
        try:
            fd = self._folder(tuple(folders), create=False)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            finally:
                os.close(fd)
        except (FileNotFoundError, NotADirectoryError):
            self._refuse_links(file_index)
            return None
        except OSError as exc:
            self._refuse_links(file_index)
            raise StorageError(f"cannot stat {self._name(file_index)}: {exc.strerror}") from exc
        if stat.S_ISLNK(st.st_mode):
            self._refuse_links(file_index)
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def _refuse_links(self, file_index: int) -> None:
        """Raise if a symbolic link is on the path of file ``file_index`` (for the message
        after an open or stat failed: ``O_NOFOLLOW`` only says ``ELOOP`` or ``ENOTDIR``)."""
        path = self.root
        for name in self.torrent.files[file_index].path:
            path = os.path.join(path, name)
            if os.path.islink(path):
                raise StorageError(
                    f"cannot use {self._name(file_index)}: {os.path.relpath(path, self.root)} is a "
                    f"symbolic link, and btref follows no links inside the download folder {self.root}")
            if not os.path.isdir(path):
                return

    def _name(self, file_index: int) -> str:
        return "/".join(self.torrent.files[file_index].path)

    # -- file descriptors -------------------------------------------------------------

    def _open(self, file_index: int, write: bool) -> int:
        entry = self.torrent.files[file_index]
        *folders, name = entry.path
        mode = 0o777 if entry.executable else 0o666  # umask applies
        flags = os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_RDWR | os.O_CREAT if write else os.O_RDONLY)
        try:
            if write:
                self._make_root()
            # New folders and files are noted: their parents need an fsync at flush().
            folder = self._folder(tuple(folders), create=write)
            try:
                if not write:
                    return os.open(name, flags, dir_fd=folder)
                try:
                    fd = os.open(name, flags | os.O_EXCL, mode, dir_fd=folder)
                except FileExistsError:
                    return os.open(name, flags, mode, dir_fd=folder)
                self._new_entries.add(os.path.join(self.root, *folders))
                return fd
            finally:
                os.close(folder)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
                self._refuse_links(file_index)
            action = "writing" if write else "reading"
            raise StorageError(f"cannot open {self._name(file_index)} for {action}: {exc.strerror}") from exc

    def _make_root(self) -> None:
        """Make the download folder if needed, noting the folders that gain an entry."""
        if os.path.isdir(self.root):
            return
        folder = self.root
        while not os.path.isdir(folder):
            folder = os.path.dirname(folder)
            self._new_entries.add(folder)
        os.makedirs(self.root, exist_ok=True)

    def _fd(self, file_index: int, write: bool) -> int:
        """An open descriptor for the file, from the cache when possible."""
        if self._closed:
            raise StorageError("storage is closed")
        cached = self._fds.get(file_index)
        if cached is not None:
            fd, writable = cached
            if writable or not write:
                self._fds.move_to_end(file_index)
                return fd
            del self._fds[file_index]  # read-only so far: reopen for writing
            os.close(fd)
        fd = self._open(file_index, write)
        self._fds[file_index] = (fd, write)
        while len(self._fds) > self.max_open_files:
            _, (old, _) = self._fds.popitem(last=False)
            os.close(old)
        return fd

    # -- reading --------------------------------------------------------------------

    def read_block(self, index: int, begin: int, length: int) -> bytes:
        """``length`` bytes at ``begin`` of piece ``index`` (a peer's ``request``, BEP 3).

        :raises StorageError: for a request out of bounds or over
            :data:`~btref.wire.BLOCK_SIZE`, or data that is not on disk.
        """
        return self._read(self.layout.block_spans(index, begin, length, max_length=BLOCK_SIZE))

    def read_piece(self, index: int) -> bytes:
        """The whole of piece ``index``, pad bytes as zeros (what the hash schemes check)."""
        return self._read(self.layout.piece_spans(index))

    def _read(self, spans: list[Span]) -> bytes:
        chunks = []
        for s in spans:
            if s.pad:
                chunks.append(bytes(s.length))
                continue
            fd = self._fd(s.file_index, write=False)
            try:
                chunk = os.pread(fd, s.length, s.file_offset)
            except OSError as exc:
                raise StorageError(f"cannot read {self._name(s.file_index)}: {exc.strerror}") from exc
            if len(chunk) != s.length:  # pread is only short at the end of the file
                raise StorageError(
                    f"{self._name(s.file_index)} is too short: wanted {s.length} bytes at "
                    f"{s.file_offset}, got {len(chunk)}"
                )
            chunks.append(chunk)
        # One span (the common case for a block) needs no copy at all.
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- writing --------------------------------------------------------------------

    def write_piece(self, index: int, data: bytes | bytearray | memoryview) -> None:
        """Write piece ``index``, which the caller has verified, with one ``pwrite`` per span.

        Pad spans are skipped (they are zeros by definition). The first write also creates
        the torrent's empty files. Durable only after :meth:`flush`.

        :raises StorageError: if ``data`` is not exactly the piece's size, or the disk fails.
        """
        spans = self.layout.piece_spans(index)
        view = memoryview(data).cast("B")
        size = sum(s.length for s in spans)
        if view.nbytes != size:
            raise StorageError(f"piece {index} is {size} bytes, got {view.nbytes}")
        if not self._empty_files_made:
            self.create_empty_files()
        # [docs: write]
        pos = 0
        for s in spans:
            if not s.pad:
                fd = self._fd(s.file_index, write=True)
                self._dirty.add(s.file_index)  # even a failed write may have changed the file
                self._pwrite_all(fd, view[pos:pos + s.length], s.file_offset, s.file_index)
            pos += s.length
        # [/docs: write]

    def _pwrite_all(self, fd: int, view: memoryview, offset: int, file_index: int) -> None:
        try:
            while view:  # pwrite may write less than asked (rare on files, but allowed)
                done = os.pwrite(fd, view, offset)
                view, offset = view[done:], offset + done
        except OSError as exc:
            raise StorageError(f"cannot write {self._name(file_index)}: {exc.strerror}") from exc

    def create_empty_files(self) -> None:
        """Create the torrent's zero-length files (no piece covers them, so no write would)."""
        self._empty_files_made = True
        for i, entry in enumerate(self.torrent.files):
            if entry.length == 0 and not entry.pad and entry.symlink is None:
                self._fd(i, write=True)
                self._dirty.add(i)

    def flush(self) -> None:
        """Make everything written so far survive a crash: ``fsync`` the files, then the
        directories that gained entries (a new file is lost without its directory entry)."""
        try:
            for i in sorted(self._dirty):
                os.fsync(self._fd(i, write=True))
            for folder in sorted(self._new_entries, key=len, reverse=True):  # deepest first
                dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as exc:
            raise StorageError(f"cannot flush data to disk below {self.root}: {exc.strerror}") from exc
        self._dirty.clear()
        self._new_entries.clear()

    def close(self) -> None:
        """Flush, then close every file. Calling it again does nothing."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            while self._fds:
                _, (fd, _) = self._fds.popitem()
                os.close(fd)

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- recheck -----------------------------------------------------------------------------


@attrs.define
class VerifyReport:
    """What :func:`verify` found on disk."""

    #: Pieces whose data is present and passes every hash scheme.
    good: PieceSet
    #: Pieces whose files are all there but whose data fails a hash.
    bad: list[int] = attrs.Factory(list)
    #: Pieces with a (non-pad) file absent or too short.
    missing: list[int] = attrs.Factory(list)

    @property
    def complete(self) -> bool:
        """Every piece is good: the torrent can be seeded."""
        return self.good.complete()


def verify(torrent: Torrent, data_dir: str | os.PathLike[str], hook: pluggy.HookRelay | None = None, *,
           progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Recheck the data below ``data_dir`` piece by piece (``btref verify``, and resume).

    Each piece is read once and then dropped, so memory stays at one piece whatever the
    torrent's size. ``hook`` is a pluggy hook relay with the hash schemes registered; by
    default the ones :data:`btref.plugins.HASH_SCHEMES` names for the torrent's version.
    ``progress`` is called with the number of pieces checked so far after each piece.

    :raises StorageError: if a path escapes ``data_dir`` or the disk cannot be read.
    """
    if hook is None:
        from btref.plugins import HASH_SCHEMES, plugin_manager  # storage itself needs no plugins

        hook = plugin_manager({"hashes": HASH_SCHEMES[torrent.version]}).hook
    report = VerifyReport(PieceSet(torrent.num_pieces))
    with Storage(torrent, data_dir) as storage:
        sizes: dict[int, int] = {}

        def size(i: int) -> int:
            if i not in sizes:
                found = storage.file_size(i)
                sizes[i] = -1 if found is None else found
            return sizes[i]

        # [docs: recheck]
        for index in range(torrent.num_pieces):
            spans = storage.layout.piece_spans(index)
            if any(not s.pad and size(s.file_index) < s.file_offset + s.length for s in spans):
                report.missing.append(index)
            elif piece_is_good(hook, torrent, index, storage.read_piece(index)):
                report.good.set(index)
            else:
                report.bad.append(index)
            if progress is not None:
                progress(index + 1)
        # [/docs: recheck]
    return report
