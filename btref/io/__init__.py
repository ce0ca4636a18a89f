"""The I/O layer's shared parts: the disk, the file system walk, the terminal.

Everything under ``btref/`` outside this folder, ``btref/net/``, ``btref/sim/`` and
``btref/commands/`` is sans-I/O: it reads no clock, socket or file
(``tests/test_layers.py`` holds it to that). What needs the outside world lives here:

* :mod:`btref.io.storage`: pieces on disk (pread/pwrite inside the download folder);
* :mod:`btref.io.create`: walking a folder and hashing its files into a torrent;
* :mod:`btref.io.torrent_file`: reading a .torrent file;
* :mod:`btref.io.progress`: progress on a terminal (the clock and ``rich``).
"""
