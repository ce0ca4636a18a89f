"""Finding plugins by name, with their parameters, and wiring them into a session (pluggy).

Every strategy enters btref one way: an entry point in the group ``btref`` whose name is
the plugin's name and whose object is a class with a ``family`` attribute (see
:mod:`btref.hookspecs`). btref's built-ins are found exactly like a third-party package's,
so ``pip install`` of a plugin distribution is all it takes to make it selectable.

A plugin's parameters are its constructor's keyword arguments, declared once, in the
signature: name, type and default as Python writes them, and a :class:`Param` beside the
type for the one-line meaning and the range, e.g.
``random_first: Annotated[int, Param("...", ge=0)] = 4``. :func:`parameters` reads them
back; a *choice* on the command line, ``NAME[:KEY=VALUE,...]`` (``rarest-first:random_first=0``,
``tit-for-tat:regular_slots=4,optimistic_slots=1``), is parsed and checked against them
by :func:`parse`, so a typo or a value out of range is one line naming the parameters
the plugin does take.

A session asks :func:`plugin_manager` for a fresh :class:`pluggy.PluginManager` holding
*instances* of the plugins it chose; the engine calls hooks on that manager only.
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import math
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pluggy

from btref import hookspecs
from btref.errors import PluginError

__all__ = ["GROUP", "WORDS", "REQUIRED", "PluginInfo", "Param", "Parameter", "Choice", "available", "find",
           "parameters", "parse", "create", "plugin_manager"]

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
    _find.cache_clear()


available.cache_clear = _clear  # type: ignore[attr-defined]


def find(family: str, name: str) -> PluginInfo:
    """The installed plugin ``name`` of ``family``.

    :raises PluginError: naming the plugins that *are* installed, so a typo on the
        command line gets a useful answer.
    """
    if family not in hookspecs.FAMILIES:
        raise PluginError(f"unknown plugin family {family!r}; families: {', '.join(hookspecs.FAMILIES)}")
    return _find(family, name, tuple(sys.path))


# Kept per name: a simulated swarm makes a plugin manager per peer, and reading a
# package's metadata for its name costs milliseconds (bench/sim.py).
@functools.lru_cache(maxsize=None)
def _find(family: str, name: str, path: tuple[str, ...]) -> PluginInfo:
    # Import only the plugin asked for: a session needs four, and importing all of them
    # (the DHT's modules among them) is most of a client's start-up time.
    for ep in _entry_points(path):
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


# -- parameters ------------------------------------------------------------------------

#: One plugin of each family, in a sentence ("picker rarest-first has no parameter ...").
WORDS = {"hashes": "hash scheme", "pickers": "picker", "chokers": "choker", "discovery": "discovery plugin",
         "observers": "observer"}

#: The default of a parameter that has none (the plugin cannot be built without it).
REQUIRED = inspect.Parameter.empty

#: The types a value typed on the command line can be turned into.
_SCALARS: dict[type, str] = {bool: "bool", int: "int", float: "float", str: "str"}

#: How a ``bool`` may be written after ``=``.
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


@attrs.frozen
class Param:
    """What a plugin says about one of its parameters, beside the type in its signature.

    ``ge``, ``gt``, ``le`` and ``lt`` bound a number (>=, >, <=, <); ``meaning`` is the
    line ``btref plugins --verbose`` shows::

        def __init__(self, random_first: Annotated[int, Param("pieces picked at random first", ge=0)] = 4):
    """

    meaning: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None


@attrs.frozen
class Parameter:
    """One parameter a plugin takes, read from its constructor (see :func:`parameters`)."""

    name: str
    #: ``bool``, ``int``, ``float`` or ``str``; ``None`` for a type the command line cannot give.
    type: type | None
    #: The type as written (``"int"``, ``"float"``, ``"list[str]"``), for people.
    type_name: str
    default: Any
    #: ``None`` is a value too (``float | None``): written ``none`` on the command line.
    optional: bool = False
    #: The meaning and range the plugin declared (a :class:`Param` with no range and no
    #: meaning when it declared none).
    declared: Param = Param("")

    @property
    def meaning(self) -> str:
        """The one line ``btref plugins --verbose`` shows ("" if the plugin gave none)."""
        return self.declared.meaning

    def range_text(self) -> str:
        """``">= 0"``, ``">= 0 and < 1"`` or ``""``."""
        b = self.declared
        parts = [f"{op} {_text(v)}" for op, v in ((">=", b.ge), (">", b.gt), ("<=", b.le), ("<", b.lt))
                 if v is not None]
        return " and ".join(parts)

    def kind(self) -> str:
        """The type and range in words: ``"int >= 0"``, ``"float >= 0 or none"``."""
        text = " ".join(filter(None, (self.type_name, self.range_text())))
        return f"{text} or none" if self.optional else text

    @property
    def required(self) -> bool:
        """The plugin cannot be built without this parameter (it has no default)."""
        return self.default is REQUIRED

    def default_text(self) -> str:
        """``"default 4"``, ``"default none"``, ``"default true"`` or ``"required"``."""
        return "required" if self.required else f"default {_text(self.default)}"

    def describe(self) -> str:
        """``"random_first (int >= 0, default 4)"``: how error messages list a parameter."""
        return f"{self.name} ({self.kind()}, {self.default_text()})"

    def convert(self, text: str) -> Any:
        """The value ``text`` (as typed after ``=``) stands for, checked.

        :raises ValueError: saying what is wrong with it.
        """
        if self.optional and text.lower() == "none":
            return None
        if self.type is None:
            raise ValueError(f"is a {self.type_name}, which the command line cannot give")
        if self.type is bool:
            word = text.lower()
            if word not in _BOOLEANS:
                raise ValueError("is not a bool (true or false)")
            return self.check(_BOOLEANS[word])
        try:
            value = self.type(text)
        except ValueError:
            raise ValueError(f"is not {'an' if self.type is int else 'a'} {self.type_name}") from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        """``value`` if this parameter takes it (an ``int`` is a ``float`` too).

        :raises ValueError: saying what is wrong with it.
        """
        if (value is None and self.optional) or self.type is None:
            return value
        expected = self.type
        if expected is float and type(value) is int:
            value = float(value)
        if type(value) is not expected:  # exact: True is no int here
            raise ValueError(f"is not {'an' if expected is int else 'a'} {self.type_name}")
        if isinstance(value, float) and math.isnan(value):
            raise ValueError("is not a number")
        b = self.declared
        if isinstance(value, (int, float)) and (
                b.ge is not None and value < b.ge or b.gt is not None and value <= b.gt
                or b.le is not None and value > b.le or b.lt is not None and value >= b.lt):
            raise ValueError(f"is out of range (must be {self.range_text()})")
        return value


def _text(value: Any) -> str:
    """A value as the command line writes it: ``true``, ``none``, ``0.2``, ``30.0``, ``4``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, float) else str(value)


def _parameter(p: inspect.Parameter, hint: Any) -> Parameter:
    """What a constructor parameter declares: its type (or its default's), a :class:`Param`."""
    declared = Param("")
    if typing.get_origin(hint) is typing.Annotated:
        hint, *extras = typing.get_args(hint)
        declared = next((e for e in extras if isinstance(e, Param)), declared)
    optional = False
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        hint = members[0] if len(members) == 1 else hint
    if hint is None and p.default is not REQUIRED and p.default is not None:
        hint = type(p.default)  # an unannotated parameter: its default says its type
    if hint in _SCALARS:
        return Parameter(p.name, hint, _SCALARS[hint], p.default, optional, declared)
    if hint is None:
        written = "any"
    elif isinstance(hint, type):
        written = hint.__name__
    else:
        written = str(hint).replace("typing.", "").replace("collections.abc.", "")
    return Parameter(p.name, None, written, p.default, optional, declared)


@functools.cache
def _signature(cls: type) -> tuple[tuple[Parameter, ...], bool]:
    """The parameters of ``cls``, and whether it also takes keyword arguments it does not name."""
    found: dict[str, Parameter] = {}
    takes_any = False
    for klass in cls.__mro__[:-1]:  # the last is object, whose constructor takes nothing
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            hints = typing.get_type_hints(init, include_extras=True)
        except Exception:  # names only a type checker sees: fall back to the defaults' types
            hints = {}
        takes_any = False
        for p in list(inspect.signature(init).parameters.values())[1:]:
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                takes_any = True  # ``**options``: handed to the base class, whose parameters are ours too
            elif p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
                found.setdefault(p.name, _parameter(p, hints.get(p.name)))
        if not takes_any:
            break
    return tuple(found.values()), takes_any


def parameters(cls: type) -> tuple[Parameter, ...]:
    """The parameters plugin class ``cls`` takes, in the order of its signature.

    They are its constructor's named keyword arguments: the name, the type annotation
    (``int``, ``float``, ``bool``, ``str``, or one of them ``| None``; without one, the
    default's type) and the default, with the :class:`Param` of an
    ``Annotated[type, Param(...)]`` for the meaning and the range. A constructor that
    takes ``**options`` and passes them to its base class takes the base's parameters too.
    """
    return _signature(cls)[0]


def _takes(cls: type) -> str:
    """``"; it takes a (int, default 1), b (...)"``: the end of every error about a parameter."""
    declared = parameters(cls)
    return f"; it takes {', '.join(p.describe() for p in declared)}" if declared else "; it takes no parameters"


def _lookup(family: str, name: str, cls: type, key: str) -> Parameter | None:
    """The parameter ``key`` of plugin ``cls``; ``None`` if it is not declared but the
    plugin's own ``**options`` take it (then the plugin decides).

    :raises PluginError: the plugin takes no parameter ``key``.
    """
    for param in parameters(cls):
        if param.name == key:
            return param
    if _signature(cls)[1]:
        return None
    raise PluginError(f"{WORDS.get(family, family)} {name} has no parameter {key!r}{_takes(cls)}")


@attrs.frozen
class Choice:
    """A plugin chosen by name with parameters: what ``--picker rarest-first:random_first=0`` says.

    ``label`` writes it back (the parameters in the plugin's order, the values as
    :func:`parse` reads them), so the same choice always has the same label: ``btref
    compare`` and ``btref sim`` label their tables, figures and ``metrics.json`` with it,
    and a session given the label as a name builds the same plugin.
    """

    family: str
    name: str
    #: The parameters given, checked, as ``(name, value)`` pairs in the plugin's order.
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``"rarest-first:random_first=0"``, or the bare name when no parameter is given."""
        if not self.params:
            return self.name
        return f"{self.name}:" + ",".join(f"{key}={_text(value)}" for key, value in self.params)

    def settings(self) -> dict[str, Any]:
        """Every parameter the plugin runs with: the defaults, overridden by those given
        (only values the command line can write: ``bool``, ``int``, ``float``, ``str``, ``None``)."""
        every = {p.name: p.default for p in parameters(find(self.family, self.name).cls)
                 if not p.required and (p.default is None or type(p.default) in _SCALARS)}
        return every | dict(self.params)

    def create(self) -> Any:
        """A new instance of the plugin with these parameters (see :func:`create`)."""
        return create(self.family, self.name, **dict(self.params))


def parse(family: str, text: str) -> Choice:
    """Read a plugin choice as the command line gives it: ``NAME`` or ``NAME:KEY=VALUE,...``.

    The name is split from the parameters at the first ``:``, the parameters from each
    other at ``,`` and each key from its value at the first ``=`` (so a value cannot hold a
    comma); blanks around the pieces are ignored. Each value is converted to its
    parameter's type (``true``/``false`` for a bool, ``none`` for ``None`` where allowed)
    and checked against its range.

    >>> parse("pickers", "rarest-first: random_first=0").label
    'rarest-first:random_first=0'

    :raises PluginError: one line saying what is wrong, listing the parameters the plugin
        takes, with their types and defaults.
    """
    word = WORDS.get(family, family)
    name, colon, rest = (part.strip() for part in text.partition(":"))
    if not name:
        raise PluginError(f"no {word} named in {text!r} (expected NAME or NAME:KEY=VALUE,...)")
    if "," in name:
        raise PluginError(f"{word} {text.strip()!r}: one {word} only, as NAME or NAME:KEY=VALUE,...")
    cls = find(family, name).cls
    if colon and not rest:
        raise PluginError(f"{word} {name}: nothing after ':' (expected KEY=VALUE,...){_takes(cls)}")
    given: dict[str, Any] = {}
    for pair in rest.split(",") if rest else ():
        key, equals, value = (part.strip() for part in pair.partition("="))
        if not equals or not key:
            raise PluginError(f"{word} {name}: {pair.strip()!r} is not KEY=VALUE{_takes(cls)}")
        if key in given:
            raise PluginError(f"{word} {name}: {key} is given twice{_takes(cls)}")
        param = _lookup(family, name, cls, key)
        try:
            given[key] = value if param is None else param.convert(value)
        except ValueError as exc:
            raise PluginError(f"{word} {name}: {key}={value} {exc}{_takes(cls)}") from None
    order = [p.name for p in parameters(cls)]
    params = sorted(given.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    return Choice(family, name, tuple(params))


def create(family: str, name: str, **params: Any) -> Any:
    """An instance of plugin ``name`` of ``family``, built with ``params``.

    The parameters are checked against the plugin's declarations (:func:`parameters`)
    first, so an unknown name or a value of the wrong type or out of range is refused
    with the same message as on the command line.

    :raises PluginError: for an unknown name, or parameters the plugin does not take.
    """
    info = find(family, name)
    checked: dict[str, Any] = {}
    for key, value in params.items():
        param = _lookup(family, name, info.cls, key)
        try:
            checked[key] = value if param is None else param.check(value)
        except ValueError as exc:
            raise PluginError(f"{WORDS.get(family, family)} {name}: {key}={_text(value)} {exc}"
                              f"{_takes(info.cls)}") from None
    try:
        return info.cls(**checked)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{WORDS.get(family, family)} {name} rejected its parameters "
                          f"{', '.join(f'{k}={_text(v)}' for k, v in checked.items()) or '(none)'}: {exc}"
                          f"{_takes(info.cls)}") from exc


def plugin_manager(
    chosen: Mapping[str, Iterable[Any]] | None = None, *, extra: Iterable[Any] = ()
) -> pluggy.PluginManager:
    """A fresh plugin manager for one session.

    ``chosen`` maps a family to the plugins to register: ready-made instances, or choices
    as text (``"rarest-first"``, ``"rarest-first:random_first=0"``: see :func:`parse`),
    built anew for this manager. ``extra`` are more instances (e.g. observers a driver or
    a test wants to hear events with).

    >>> pm = plugin_manager({"hashes": ["sha1"]})
    >>> [name for name, _ in pm.list_name_plugin()]
    ['hashes:sha1']
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for family, items in (chosen or {}).items():
        for item in items:
            instance = parse(family, item).create() if isinstance(item, str) else item
            label = item if isinstance(item, str) else getattr(instance, "name", type(instance).__name__)
            pm.register(instance, name=f"{family}:{label}")
    for instance in extra:
        pm.register(instance)
    return pm


#: Which hash schemes a torrent of each version needs, by plugin name (BEP 3, BEP 52).
HASH_SCHEMES = {"v1": ("sha1",), "v2": ("merkle-sha256",), "hybrid": ("sha1", "merkle-sha256")}
