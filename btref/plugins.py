"""Finding plugins by name and wiring them into a session (pluggy).

Every strategy enters btref one way: an entry point in the group ``btref`` whose name is
the plugin's name and whose object is a class with a ``family`` attribute (see
:mod:`btref.hookspecs`). btref's built-ins are found exactly like a third-party package's,
so ``pip install`` of a plugin distribution is all it takes to make it selectable.

A session asks :func:`plugin_manager` for a fresh :class:`pluggy.PluginManager` holding
*instances* of the plugins it chose; the engine calls hooks on that manager only.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from btref import hookspecs
from btref.errors import PluginError

__all__ = ["GROUP", "PluginInfo", "available", "find", "create", "plugin_manager"]

#: The entry-point group every btref plugin is published under.
GROUP = "btref"


@attrs.frozen
class PluginInfo:
    """What ``btref plugins`` shows about one installed plugin."""

    name: str
    family: str
    summary: str
    package: str
    entry_point: str
    cls: type


def _summary(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else "(no description)"


def available(*, errors: list[str] | None = None, refresh: bool = False) -> dict[str, dict[str, PluginInfo]]:
    """Every installed plugin, as ``{family: {name: PluginInfo}}``.

    A plugin that fails to import, or whose class names no known family, is left out; if
    ``errors`` is given, a line describing each such failure is appended to it (so
    ``btref plugins`` can show it instead of crashing).

    Scanning the entry points imports every plugin, so the scan is done once per
    process and per ``sys.path`` (a changed ``sys.path`` can hold other distributions,
    so it is scanned anew). A plugin ``pip install``-ed into an existing folder of
    ``sys.path`` while the process runs is seen after ``available(refresh=True)`` (or
    ``available.cache_clear()``). The dictionaries returned are the caller's to change.
    """
    if refresh:
        _scan.cache_clear()
        _entry_points.cache_clear()
    found, failures = _scan(tuple(sys.path))
    if errors is not None:
        errors.extend(failures)
    return {family: dict(infos) for family, infos in found.items()}


@functools.cache
def _entry_points(path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    """The entry points of group :data:`GROUP`, not loaded (``path``: the cache key)."""
    return tuple(importlib.metadata.entry_points(group=GROUP))


@functools.cache
def _scan(path: tuple[str, ...]) -> tuple[dict[str, dict[str, PluginInfo]], tuple[str, ...]]:
    """The entry points of group :data:`GROUP` loaded, and a line per failure (``path``: the cache key)."""
    found: dict[str, dict[str, PluginInfo]] = {family: {} for family in hookspecs.FAMILIES}
    errors: list[str] = []
    for ep in _entry_points(path):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break btref
            errors.append(f"{ep.name} ({ep.value}): cannot be loaded: {exc}")
            continue
        family = getattr(cls, "family", None)
        if family not in found:
            errors.append(f"{ep.name} ({ep.value}): unknown family {family!r}")
            continue
        package = ep.dist.name if ep.dist is not None else "?"
        found[family].setdefault(
            ep.name, PluginInfo(ep.name, family, _summary(cls), package, ep.value, cls)
        )
    return found, tuple(errors)


#: Forget every scan: the next :func:`available` looks at the installed entry points again.
#: (A function attribute set at run time: mypy knows no attributes of plain functions.)
def _clear() -> None:
    _scan.cache_clear()
    _entry_points.cache_clear()


available.cache_clear = _clear  # type: ignore[attr-defined]


def find(family: str, name: str) -> PluginInfo:
    """The installed plugin ``name`` of ``family``.

    :raises PluginError: naming the plugins that *are* installed, so a typo on the
        command line gets a useful answer.
    """
    if family not in hookspecs.FAMILIES:
        raise PluginError(f"unknown plugin family {family!r}; families: {', '.join(hookspecs.FAMILIES)}")
    # Import only the plugin asked for: a session needs four, and importing all of them
    # (the DHT's modules among them) is most of a client's start-up time.
    for ep in _entry_points(tuple(sys.path)):
        if ep.name == name:
            try:
                cls = ep.load()
            except Exception:  # a broken plugin: the full scan below reports it
                break
            if getattr(cls, "family", None) == family:
                return PluginInfo(ep.name, family, _summary(cls), ep.dist.name if ep.dist else "?", ep.value, cls)
    plugins = available()[family]
    if name not in plugins:
        choices = ", ".join(sorted(plugins)) or "none installed"
        raise PluginError(f"no {family} plugin named {name!r} (installed: {choices})")
    return plugins[name]


def create(family: str, name: str, **params: Any) -> Any:
    """An instance of plugin ``name`` of ``family``, built with ``params``.

    :raises PluginError: for an unknown name, or parameters the plugin does not take.
    """
    info = find(family, name)
    try:
        return info.cls(**params)
    except TypeError as exc:
        raise PluginError(f"{family} plugin {name!r} rejected its parameters {params!r}: {exc}") from exc


def plugin_manager(
    chosen: Mapping[str, Iterable[Any]] | None = None, *, extra: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """A fresh plugin manager for one session.

    ``chosen`` maps a family to the plugin *names* or ready-made instances to register;
    names are instantiated with default parameters. ``extra`` are more instances (e.g.
    observers a driver or a test wants to hear events with).

    >>> pm = plugin_manager({"hashes": ["sha1"]})
    >>> [name for name, _ in pm.list_name_plugin()]
    ['hashes:sha1']
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for family, items in (chosen or {}).items():
        for item in items:
            instance = create(family, item) if isinstance(item, str) else item
            label = item if isinstance(item, str) else getattr(instance, "name", type(instance).__name__)
            pm.register(instance, name=f"{family}:{label}")
    for instance in extra:
        pm.register(instance)
    return pm


#: Which hash schemes a torrent of each version needs, by plugin name (BEP 3, BEP 52).
HASH_SCHEMES = {"v1": ("sha1",), "v2": ("merkle-sha256",), "hybrid": ("sha1", "merkle-sha256")}
