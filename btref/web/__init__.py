"""The browser view of a swarm: one self-contained HTML page, fed by events.

:mod:`btref.web.events` turns a simulator run or an ``--events`` log into one list of
event records (the schema the book's "Watching a swarm" chapter documents),
:mod:`btref.web.page` writes the page (HTML, CSS and JavaScript from this package's data
files, the events inlined), and :mod:`btref.web.server` serves the same page live on
127.0.0.1 with server-sent events while real sessions run. The view shows what BEP 3
describes: pieces spreading ("pieces", ``have``), who sends to whom and the choker's
decisions ("choking"), and peers banned for corrupt data.
"""
