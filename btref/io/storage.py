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

* **Skipped files are never written** (file selection: ``btref download --only``). A
  *boundary piece*, one that covers a chosen file and a skipped one, is wanted; its bytes
  for the chosen files go to those files, and the whole piece goes to the *parts file*
  ``DATA_DIR/.btref/<info hash>.parts`` (libtorrent keeps a "partfile" for the same
  reason). The parts file is sparse: piece ``i`` sits at byte ``i * piece_length``, so it
  needs no index; the hash check tells which of its slots hold a good piece. A parked
  piece is read from there (a peer may ask for it); a later run that chooses the skipped
  file finds the piece there at its recheck and :meth:`Storage.restore` writes it into the
  file; the parts file is deleted once it holds nothing needed.

Every failure (a bad request, a missing or short file, a disk error) is a
:class:`~btref.errors.StorageError` that names the file or the piece.
"""

from __future__ import annotations

import collections
import errno
import os
import stat
from collections.abc import Callable, Collection, Iterable

import attrs
import pluggy

from btref import metainfo
from btref.pieceset import PieceSet
from btref.errors import BtrefError, StorageError
from btref.bencode import encode
from btref.layout import Layout, Span
from btref.wire import BLOCK_SIZE
from btref.download import piece_is_good
from btref.metainfo import Torrent

__all__ = ["MAX_OPEN_FILES", "STATE_FOLDER", "Storage", "VerifyReport", "piece_is_good", "verify",
           "save_metadata", "load_metadata"]

#: How many files a :class:`Storage` keeps open (least recently used ones are closed).
MAX_OPEN_FILES = 32
#: The folder inside DATA_DIR where btref keeps what is not the torrent's data: parts
#: files, and the metadata a magnet download fetched (``<info hash>.torrent``).
STATE_FOLDER = ".btref"
#: Flags for opening a folder on a file's path: never through a link.
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Storage:
    """Read and write one torrent's pieces below ``data_dir``.

    Files are opened lazily (read-only until the first write), parent folders are made on
    demand, and nothing is created by merely constructing or reading. Use it as a context
    manager, or call :meth:`close` (which flushes first).

    :param selected: the indices of the files to write (file selection); ``None``: all.
        Bytes of other files go to the parts file only (see the module docstring).
    :param parked: pieces known to be good in the parts file (:attr:`VerifyReport.parked`).
    """

    def __init__(self, torrent: Torrent, data_dir: str | os.PathLike[str], *,
                 max_open_files: int = MAX_OPEN_FILES, selected: Collection[int] | None = None,
                 parked: Iterable[int] = ()) -> None:
        self.torrent = torrent
        self.layout = Layout(torrent)
        self.selected = frozenset(range(len(torrent.files)) if selected is None else selected)
        #: Pieces read from (and kept whole in) the parts file.
        self.parked = set(parked)
        self._parts: int | None = None  # the parts file's descriptor, once opened
        #: The resolved download folder: every file is opened below it, through no link.
        self.root = os.path.realpath(os.fspath(data_dir))
        self.max_open_files = max(1, max_open_files)
        # file index -> (fd, writable), least recently used first
        self._fds: collections.OrderedDict[int, tuple[int, bool]] = collections.OrderedDict()
        self._dirty: set[int] = set()  # files written since the last flush
        self._new_entries: set[str] = set()  # directories that gained an entry since the last flush
        self._empty_files_made = False
        self._parts_dirty = False
        self._closed = False

    # -- paths ----------------------------------------------------------------------

    def path(self, file_index: int) -> str:
        """Where file ``file_index`` lives: below the download folder, by its own name."""
        return os.path.join(self.root, *self.torrent.files[file_index].path)

    @property
    def parts_path(self) -> str:
        """The parts file: whole boundary pieces, at ``index * piece_length``."""
        return os.path.join(self.root, STATE_FOLDER, f"{self.torrent.info_hash.hex()}.parts")

    def skips_part_of(self, index: int) -> bool:
        """Does piece ``index`` hold bytes of a file that is not selected?"""
        return any(not s.pad and s.file_index not in self.selected for s in self.layout.piece_spans(index))

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

    def _parts_fd(self, write: bool) -> int | None:
        """The parts file's descriptor (opened like the torrent's files: through no link);
        ``None`` when reading and there is no parts file."""
        if self._closed:
            raise StorageError("storage is closed")
        if self._parts is not None:
            return self._parts
        name = f"{self.torrent.info_hash.hex()}.parts"
        try:
            if write:
                self._make_root()
            folder = self._folder((STATE_FOLDER,), create=write)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot open the folder {STATE_FOLDER} in {self.root}: {exc.strerror}") from exc
        try:
            flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_RDWR | (os.O_CREAT if write else 0)
            self._parts = os.open(name, flags, 0o666, dir_fd=folder)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot open the parts file {self.parts_path}: {exc.strerror}") from exc
        finally:
            os.close(folder)
        return self._parts

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
        spans = self.layout.block_spans(index, begin, length, max_length=BLOCK_SIZE)
        return self._read_parked(index, begin, length) if index in self.parked else self._read(spans)

    def read_piece(self, index: int) -> bytes:
        """The whole of piece ``index``, pad bytes as zeros (what the hash schemes check)."""
        if index in self.parked:
            return self._read_parked(index, 0, self.layout.piece_size(index))
        return self._read(self.layout.piece_spans(index))

    def _read_parked(self, index: int, begin: int, length: int) -> bytes:
        """``length`` bytes at ``begin`` of piece ``index`` from the parts file."""
        fd = self._parts_fd(write=False)
        chunk = b"" if fd is None else self._pread(fd, length, index * self.torrent.piece_length + begin)
        if len(chunk) != length:
            raise StorageError(f"piece {index} is not in the parts file {self.parts_path}")
        return chunk

    def _pread(self, fd: int, length: int, offset: int) -> bytes:
        try:
            return os.pread(fd, length, offset)
        except OSError as exc:
            raise StorageError(f"cannot read the parts file {self.parts_path}: {exc.strerror}") from exc

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

        Pad spans are skipped (they are zeros by definition), and so are the spans of files
        not selected: if there are any, the whole piece goes to the parts file too. The
        first write also creates the torrent's empty files. Durable only after :meth:`flush`.

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
            if not s.pad and s.file_index in self.selected:
                fd = self._fd(s.file_index, write=True)
                self._dirty.add(s.file_index)  # even a failed write may have changed the file
                self._pwrite_all(fd, view[pos:pos + s.length], s.file_offset, s.file_index)
            pos += s.length
        # [/docs: write]
        if self.skips_part_of(index):  # a boundary piece: kept whole, apart
            parts = self._parts_fd(write=True)
            assert parts is not None
            self._parts_dirty = True
            self._pwrite_all(parts, view, index * self.torrent.piece_length, None)
            self.parked.add(index)
        else:
            self.parked.discard(index)

    def _pwrite_all(self, fd: int, view: memoryview, offset: int, file_index: int | None) -> None:
        """Write all of ``view`` at ``offset``; ``file_index`` ``None`` is the parts file."""
        try:
            while view:  # pwrite may write less than asked (rare on files, but allowed)
                done = os.pwrite(fd, view, offset)
                view, offset = view[done:], offset + done
        except OSError as exc:
            name = self.parts_path if file_index is None else self._name(file_index)
            raise StorageError(f"cannot write {name}: {exc.strerror}") from exc

    # [docs: restore]
    def restore(self) -> int:
        """Write the parked pieces whose files are all selected now into those files (a
        download that skipped files, resumed without skipping them); then, if no piece is
        left parked, delete the parts file. Returns how many pieces were written."""
        back = sorted(i for i in self.parked if not self.skips_part_of(i))
        for index in back:
            self.write_piece(index, self.read_piece(index))  # unparks it
        self.flush()  # the files hold those bytes durably before their other copy goes
        if not self.parked and self._parts_fd(write=False) is not None:
            try:
                os.unlink(self.parts_path)
            except OSError as exc:
                raise StorageError(f"cannot delete the parts file {self.parts_path}: {exc.strerror}") from exc
        return len(back)
    # [/docs: restore]

    def create_empty_files(self) -> None:
        """Create the torrent's zero-length files (no piece covers them, so no write would)."""
        self._empty_files_made = True
        for i, entry in enumerate(self.torrent.files):
            if entry.length == 0 and not entry.pad and entry.symlink is None and i in self.selected:
                self._fd(i, write=True)
                self._dirty.add(i)

    def flush(self) -> None:
        """Make everything written so far survive a crash: ``fsync`` the files, then the
        directories that gained entries (a new file is lost without its directory entry)."""
        try:
            for i in sorted(self._dirty):
                os.fsync(self._fd(i, write=True))
            if self._parts_dirty and self._parts is not None:
                os.fsync(self._parts)
                self._parts_dirty = False
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
            if self._parts is not None:
                os.close(self._parts)
                self._parts = None

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
    #: Good pieces found whole in the parts file (counted in ``good``, not in the above).
    parked: list[int] = attrs.Factory(list)

    @property
    def complete(self) -> bool:
        """Every piece is good: the torrent can be seeded."""
        return self.good.complete()


def verify(torrent: Torrent, data_dir: str | os.PathLike[str], hook: pluggy.HookRelay | None = None, *,
           progress: Callable[[int], None] | None = None, selected: Collection[int] | None = None) -> VerifyReport:
    """Recheck the data below ``data_dir`` piece by piece (``btref verify``, and resume).

    A piece that is not good in the files is looked for in the parts file, if there is
    one and the piece spans several files (only such a piece can be parked there).
    ``selected`` are the files a download chooses (see :class:`Storage`).

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
    with Storage(torrent, data_dir, selected=selected) as storage:
        has_parts = storage._parts_fd(write=False) is not None
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
                found = report.missing
            elif piece_is_good(hook, torrent, index, storage.read_piece(index)):
                found = None
                report.good.set(index)
            else:
                found = report.bad
            if found is not None and has_parts and sum(not s.pad for s in spans) > 1:
                storage.parked.add(index)
                try:
                    if piece_is_good(hook, torrent, index, storage.read_piece(index)):
                        found = report.parked
                        report.good.set(index)
                except StorageError:  # not in the parts file
                    pass
                storage.parked.discard(index)
            if found is not None:
                found.append(index)
            if progress is not None:
                progress(index + 1)
        # [/docs: recheck]
    return report


# -- metadata a magnet download fetched (BEP 9) --------------------------------------------


# [docs: saved-metadata]
def save_metadata(data_dir: str | os.PathLike[str], torrent: Torrent) -> str:
    """Keep a magnet link's fetched info dictionary as ``DATA_DIR/.btref/<info hash>.torrent``
    (the raw info bytes, so the info hash is the link's; the link's trackers as
    ``announce-list``), so a restarted download need not fetch it again. Written to a
    temporary name, flushed and renamed, through no link. Returns the path.

    :raises StorageError: if the folder cannot be made or written.
    """
    tiers = [[url.encode() for url in tier] for tier in torrent.trackers]
    head = b"d13:announce-list" + encode(tiers) if tiers else b"d"
    data = head + b"4:info" + torrent.info_bytes + b"e"  # keys in order; the info dict verbatim
    name = f"{torrent.info_hash.hex()}.torrent"
    root = os.path.realpath(os.fspath(data_dir))
    try:
        os.makedirs(root, exist_ok=True)
        top = os.open(root, _FOLDER)
        try:
            os.mkdir(STATE_FOLDER, dir_fd=top)
        except FileExistsError:
            pass
        finally:
            os.close(top)
        folder = os.open(os.path.join(root, STATE_FOLDER), _FOLDER)
        try:
            temporary = f"{name}.{os.getpid()}.part"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                         dir_fd=folder)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise StorageError(f"cannot save the metadata in {os.path.join(root, STATE_FOLDER)}: "
                           f"{exc.strerror or exc}") from exc
    return os.path.join(root, STATE_FOLDER, name)


def load_metadata(data_dir: str | os.PathLike[str], info_hash_v1: bytes | None,
                  info_hash_v2: bytes | None) -> Torrent | None:
    """The torrent :func:`save_metadata` kept for these info hashes (a magnet link's), or
    ``None`` if there is none, it cannot be read, or it is not that torrent (a file left
    there by hand is checked like metadata from a peer: by its info hash)."""
    ids = [h for h in (info_hash_v1, info_hash_v2[:20] if info_hash_v2 else None) if h is not None]
    for info_hash in ids:
        path = os.path.join(os.path.realpath(os.fspath(data_dir)), STATE_FOLDER, f"{info_hash.hex()}.torrent")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as fh:
                torrent = metainfo.parse(fh.read(metainfo.MAX_TORRENT_SIZE + 1))
        except (OSError, BtrefError):
            continue
        if ((info_hash_v1 is None or torrent.info_hash_v1 == info_hash_v1)
                and (info_hash_v2 is None or torrent.info_hash_v2 == info_hash_v2)):
            return torrent
    return None
# [/docs: saved-metadata]
