"""The client-server vs peer-to-peer lessons, told from a run's metrics (BEP 3).

The popular articles on BitTorrent compare a central server with a swarm on five counts:
bandwidth as demand grows, a single point of failure, start-up latency, privacy, and
control over the file. The simulator shows the first four (control is about files and
info hashes: ``btref demo --control``), plus the answer to the classic quiz "a piece fails
its hash check: what should the client do?". Each function here turns the metrics of
one run (:func:`btref.sim.metrics.summarize`, or a runner's dictionary) into the lines
``btref sim`` prints after its summary; the scenarios themselves are in
:mod:`btref.sim.scenarios`:

``server-leaves``, ``seed-leaves``, ``seed-leaves-early``
    :func:`departures`: when the seed left, the pieces the others still held, and what
    happened next (BEP 3 "pieces": a piece nobody holds can never be downloaded).
``liar``
    :func:`liar`: per peer, the pieces that failed their SHA-1 check (BEP 3 "info
    dictionary", ``pieces``), the ban, and the completion.
``startup``
    :func:`startup`: time to the first verified piece, a server against a swarm, as
    demand grows.
``privacy``
    :func:`privacy`: whose address each peer learned (from the tracker's answers, BEP 3
    "trackers", and from connections it accepted) and who learned its own.

Nothing here computes a metric: every figure printed is one of the run's metrics.
"""

from __future__ import annotations

from typing import Any

from btref.wire import BLOCK_SIZE as BLOCK

__all__ = ["departures", "liar", "startup", "privacy"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def departures(metrics: dict[str, Any]) -> list[str]:
    """What became of the swarm when its seed (or the server) left."""
    pieces, summary = metrics["pieces"], metrics["summary"]
    by_name = {p["name"]: p for p in metrics["peers"]}
    downloaded = sum(p["bytes_down"] for p in metrics["peers"])
    if not metrics["departures"]:
        return [f"every peer completed (the last at {summary['last_completion']:.1f} s) before the seed left."]
    lines = []
    for d in metrics["departures"]:
        seed = by_name[d["peer"]]
        copies = seed["bytes_up"] / (pieces * metrics["piece_length"])
        after = (downloaded - d["bytes_down"]) // BLOCK
        lines += [f"{d['peer']} left at {d['time']:.1f} s, after uploading {seed['bytes_up'] // BLOCK} blocks "
                  f"({copies:.1f} copies' worth of the file).",
                  f"  Then the peers held {d['pieces_held']} of the {pieces} pieces between them; "
                  f"{d['completed']} of {summary['leechers']} had completed.",
                  f"  After it left they downloaded {_plural(after, 'block')} more; "
                  f"{summary['completed']} of {summary['leechers']} completed"
                  + (f", the last at {summary['last_completion']:.1f} s." if summary["completed"] else ".")]
        if summary["completed"] == summary["leechers"]:
            lines.append("  -> the file outlived its first source: once every piece is out, no peer is needed.")
        elif after == 0:
            lines.append(f"  -> nothing moved after {d['peer']} left: every download depended on it.")
        elif d["pieces_held"] < pieces:
            lines.append(f"  -> {_plural(pieces - d['pieces_held'], 'piece')} left with {d['peer']}: "
                         "no peer can complete.")
    return lines


def liar(metrics: dict[str, Any]) -> list[str]:
    """Per peer: the pieces that failed their hash check, whom it banned, and when it completed."""
    liars = sorted(p["name"] for p in metrics["peers"] if "liar" in p["tags"])
    failed: dict[str, list[str]] = {}
    bans: dict[str, list[str]] = {}
    banned_by: dict[str, int] = {}
    for i in metrics["incidents"]:
        if i["event"] == "piece_failed":
            failed.setdefault(i["peer"], []).append(f"piece {i['index']} at {i['time']:.2f} s "
                                                    f"(from {' and '.join(i['senders'])})")
        else:
            bans.setdefault(i["peer"], []).append(f"banned {i['banned']} at {i['time']:.2f} s: {i['reason']}")
            banned_by[i["banned"]] = banned_by.get(i["banned"], 0) + 1
    lines = [f"{', '.join(liars) or 'nobody'} claims every piece and sends corrupt blocks."]
    leechers = [p for p in metrics["peers"] if not p["seed"]]
    width = max((len(p["name"]) for p in leechers), default=0)
    for p in leechers:
        name = p["name"]
        lines.append(f"{name:<{width}}  failed its hash check: {', '.join(failed.get(name, [])) or 'nothing'}")
        for ban in bans.get(name, []):
            lines.append(f"{'':<{width}}  {ban}")
        done = p["completed"]
        lines.append(f"{'':<{width}}  " + (f"completed at {done:.2f} s" if done is not None else "did not complete"))
    s = metrics["summary"]
    lines += [f"{_plural(s['hash_failures'], 'piece')} failed the check and were downloaded again; "
              + "; ".join(f"{n} was banned by {banned_by.get(n, 0)} of {len(leechers)} peers" for n in liars) + ";",
              f"{s['completed']} of {s['leechers']} completed, with only pieces that passed the check."]
    return lines


def startup(metrics: dict[str, Any]) -> list[str]:
    """The table of the ``startup`` runner: first pieces and completions, server against swarm."""
    lines = ["server: one uploader that serves every client at once (choker unchoke-all)",
             f"swarm: a flash crowd, {metrics['picker']} + {metrics['choker']}; {metrics['pieces']} pieces",
             "",
             "         first verified piece, mean / last     last completion",
             "  peers  server            swarm               server    swarm"]
    for row in metrics["rows"]:
        server, swarm = row["server"], row["swarm"]
        lines.append(f"  {row['peers']:>5}  {server['first_piece_mean']:5.2f} / {server['first_piece_max']:5.2f} s"
                     f"   {swarm['first_piece_mean']:5.2f} / {swarm['first_piece_max']:5.2f} s"
                     f"   {server['last_completion']:6.1f} s {swarm['last_completion']:6.1f} s")
    return lines


#: Names listed per peer before ``privacy`` prints a count instead.
LIST_AT_MOST = 12


def _names(names: list[str], marked: set[str] | None = None) -> str:
    if len(names) > LIST_AT_MOST:
        return f"{len(names)} peers"
    return " ".join(f"{n}*" if marked and n in marked else n for n in names) or "-"


def privacy(metrics: dict[str, Any]) -> list[str]:
    """Per peer and per set-up: whose address it learned, who learned its own, where its blocks came from."""
    lines = []
    for label in ("swarm", "client-server"):
        rows = []
        for p in metrics[label]:
            by_connection = {n for n, how in p["learned"].items() if how == "connection"}
            total = sum(p["down_from"].values())
            top = max(p["down_from"], key=p["down_from"].__getitem__, default=None)
            if top is None:
                sources = "-"
            elif len(p["down_from"]) == 1:
                sources = f"all from {top}"
            else:
                sources = (f"{len(p['down_from'])} peers, most ({100 * p['down_from'][top] / total:.0f}%) "
                           f"from {top}")
            rows.append((p["name"], _names(sorted(p["learned"]), by_connection), _names(p["known_by"]), sources))
        widths = [max(len(title), *(len(row[n]) for row in rows))
                  for n, title in enumerate(("peer", "learned", "learned by"))]
        lines.append(f"{label}:")
        for row in [("peer", "learned", "learned by", "its blocks came from"), *rows]:
            lines.append("  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + f"  {row[3]}")
        lines.append("")
    lines += ["*: learned from an incoming connection; the others came from the tracker,",
              "which learns every peer's address in both set-ups."]
    return lines
