"""Strategy parameters: declared by each plugin, chosen on the command line, checked, shown
(the tunables of the strategies BEP 3 leaves to the client: piece picking and choking).

``btref.plugins`` reads a plugin's parameters from its constructor
(``Annotated[int, Param(...)]``) and parses a choice such as
``rarest-first:random_first=0``; the commands ``sim``, ``compare``, ``download`` and
``seed`` take such choices, and ``plugins --verbose`` lists the parameters.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from btref import plugins
from btref.cli import main
from btref.errors import PluginError
from btref.plugins import Choice, Param, Parameter

#: Every built-in picker and choker with its parameters (the families the command line tunes).
STRATEGIES = sorted((family, name) for family in ("pickers", "chokers") for name in plugins.available()[family])


def params_of(family: str, name: str) -> tuple[Parameter, ...]:
    return plugins.parameters(plugins.find(family, name).cls)


# -- what the built-ins declare --------------------------------------------------------------


def test_every_builtin_strategy_is_listed() -> None:
    names = {name for _, name in STRATEGIES}
    assert {"rarest-first", "random", "sequential", "tit-for-tat", "seed-round-robin", "propshare",
            "bittyrant", "unchoke-all", "free-rider"} <= names


@pytest.mark.parametrize(("family", "name"), STRATEGIES)
def test_builtin_parameters_are_typed_and_explained(family: str, name: str) -> None:
    for p in params_of(family, name):
        assert p.type in (bool, int, float, str), f"{name}.{p.name}: the command line cannot give a {p.type_name}"
        assert p.meaning and "\n" not in p.meaning, f"{name}.{p.name} says nothing about itself"
        assert not p.required, f"{name}.{p.name} has no default"
        assert p.check(p.default) == p.default  # the default is inside the declared range


def test_the_tunables_each_plugin_declares() -> None:
    declared = {name: [p.name for p in params_of(family, name)] for family, name in STRATEGIES}
    assert declared["rarest-first"] == ["random_first"]
    assert declared["random"] == ["partial_first"]
    assert declared["sequential"] == ["window"]
    tit_for_tat = ["regular_slots", "optimistic_slots", "optimistic_interval", "new_peer_age", "new_peer_weight"]
    assert declared["tit-for-tat"] == tit_for_tat
    assert declared["seed-round-robin"] == ["turn", *tit_for_tat]  # its **options go to TitForTat
    assert declared["propshare"] == ["slots", "optimistic_fraction", "round_length"]
    assert "max_unchoked" in declared["bittyrant"] and "upload_budget" in declared["bittyrant"]
    assert declared["unchoke-all"] == declared["free-rider"] == []


def test_a_parameter_describes_itself() -> None:
    (random_first,) = params_of("pickers", "rarest-first")
    assert random_first.describe() == "random_first (int >= 0, default 4)"
    budget = next(p for p in params_of("chokers", "bittyrant") if p.name == "upload_budget")
    assert budget.describe() == "upload_budget (float >= 0 or none, default none)"
    gamma = next(p for p in params_of("chokers", "bittyrant") if p.name == "gamma")
    assert gamma.kind() == "float >= 0 and < 1"
    (partial_first,) = params_of("pickers", "random")
    assert partial_first.describe() == "partial_first (bool, default true)"


def test_declarations_without_annotations_and_with_options() -> None:
    class Plain:
        def __init__(self, start=0, name="x", ratio=0.5, flag=False, anything=None, needed=None):  # type: ignore[no-untyped-def]
            pass

    kinds = {p.name: p.type_name for p in plugins.parameters(Plain)}
    assert kinds == {"start": "int", "name": "str", "ratio": "float", "flag": "bool", "anything": "any",
                     "needed": "any"}

    class Base:
        def __init__(self, size: Annotated[int, Param("how many", ge=1, le=9)] = 3) -> None:
            self.size = size

    class Child(Base):
        def __init__(self, extra: bool = True, **base: Any) -> None:
            super().__init__(**base)

    class Grandchild(Child):
        pass

    assert [p.describe() for p in plugins.parameters(Grandchild)] == [
        "extra (bool, default true)", "size (int >= 1 and <= 9, default 3)"]

    class Hidden:  # an annotation only a type checker can resolve: the default's type is used
        def __init__(self, size: "Missing" = 3) -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    assert [p.describe() for p in plugins.parameters(Hidden)] == ["size (int, default 3)"]

    class Open:  # options of its own: the plugin decides about names it does not declare
        def __init__(self, level: int = 1, **options: Any) -> None:
            pass

    assert plugins._lookup("observers", "open", Open, "colour") is None
    assert plugins._lookup("observers", "open", Open, "level") == plugins.parameters(Open)[0]
    with pytest.raises(PluginError, match="observer plain has no parameter 'colour'; it takes start"):
        plugins._lookup("observers", "plain", Plain, "colour")

    class Required:
        def __init__(self, peers: list[str], *, timeout: float | None = None) -> None:
            pass

    peers, timeout = plugins.parameters(Required)
    assert peers.required and peers.type is None and peers.describe() == "peers (list[str], required)"
    assert timeout.optional and timeout.convert("none") is None and timeout.convert("2") == 2.0
    with pytest.raises(ValueError, match="cannot give"):
        peers.convert("a,b")


# -- the grammar: NAME[:KEY=VALUE,...] -------------------------------------------------------


def _values(p: Parameter) -> st.SearchStrategy[Any]:
    """Values parameter ``p`` takes (its type, inside its range)."""
    b = p.declared
    if p.type is bool:
        values: st.SearchStrategy[Any] = st.booleans()
    elif p.type is int:
        low = b.ge if b.ge is not None else (b.gt + 1 if b.gt is not None else None)
        high = b.le if b.le is not None else (b.lt - 1 if b.lt is not None else None)
        values = st.integers(None if low is None else math.ceil(low), None if high is None else math.floor(high))
    elif p.type is float:
        values = st.floats(min_value=b.ge if b.ge is not None else b.gt, max_value=b.le if b.le is not None else b.lt,
                           exclude_min=b.gt is not None, exclude_max=b.lt is not None,
                           allow_nan=False, allow_infinity=False)
    else:
        values = st.text(st.characters(blacklist_characters=",=", blacklist_categories=("Cs", "Zs", "Cc")),
                         min_size=1)
    return st.one_of(st.none(), values) if p.optional else values


def _spelled(value: Any) -> st.SearchStrategy[str]:
    """The ways a user may write ``value`` after ``=``."""
    if value is None:
        return st.sampled_from(["none", "None", "NONE"])
    if isinstance(value, bool):
        words = ["true", "True", "yes", "on", "1"] if value else ["false", "FALSE", "no", "off", "0"]
        return st.sampled_from(words)
    if isinstance(value, float) and value.is_integer():
        return st.sampled_from([repr(value), str(int(value))])
    return st.just(repr(value) if isinstance(value, float) else str(value))


@st.composite
def spelled_choices(draw: st.DrawFn) -> tuple[str, Choice]:
    """A choice of a built-in strategy as a user could type it, and what it must parse to."""
    family, name = draw(st.sampled_from(STRATEGIES))
    declared = params_of(family, name)
    chosen = draw(st.lists(st.sampled_from(declared), unique_by=lambda p: p.name)) if declared else []
    values = {p.name: draw(_values(p)) for p in chosen}
    blank = st.sampled_from(["", " ", "  "])
    pairs = [f"{draw(blank)}{key}{draw(blank)}={draw(blank)}{draw(_spelled(v))}{draw(blank)}"
             for key, v in values.items()]
    text = f"{draw(blank)}{name}{draw(blank)}" + (":" + ",".join(pairs) if pairs else "")
    order = [p.name for p in declared]
    expected = Choice(family, name, tuple(sorted(values.items(), key=lambda kv: order.index(kv[0]))))
    return text, expected


@given(spelled_choices())
def test_parse_reads_what_was_typed(case: tuple[str, Choice]) -> None:
    text, expected = case
    choice = plugins.parse(expected.family, text)
    assert choice == expected
    assert plugins.parse(expected.family, choice.label) == choice  # the label reads back the same
    assert " " not in choice.label and choice.label.startswith(expected.name)
    assert (":" in choice.label) == bool(choice.params)
    assert choice.settings() == {p.name: p.default for p in params_of(expected.family, expected.name)} | dict(
        choice.params)


NAMES = [name for _, name in STRATEGIES] + ["nope", ""]


@given(st.one_of(
    st.text(),
    st.builds(str.__add__, st.sampled_from(NAMES), st.text(st.sampled_from("abcdefgimnorstw_01-.=:, \t"))),
))
def test_parse_never_fails_but_with_a_plugin_error(text: str) -> None:
    for family in ("pickers", "chokers"):
        try:
            choice = plugins.parse(family, text)
        except PluginError as exc:
            assert "\n" not in str(exc)
        else:
            assert plugins.parse(family, choice.label) == choice


# -- validation: one line that lists what the plugin takes -----------------------------------

TAKES = "; it takes random_first (int >= 0, default 4)"


@pytest.mark.parametrize(("text", "message"), [
    ("rarest-first:randomfirst=0", "picker rarest-first has no parameter 'randomfirst'" + TAKES),
    ("rarest-first:random_first=-1", "picker rarest-first: random_first=-1 is out of range (must be >= 0)" + TAKES),
    ("rarest-first:random_first=1.5", "picker rarest-first: random_first=1.5 is not an int" + TAKES),
    ("rarest-first:random_first=", "picker rarest-first: random_first= is not an int" + TAKES),
    ("rarest-first:random_first", "picker rarest-first: 'random_first' is not KEY=VALUE" + TAKES),
    ("rarest-first:=3", "picker rarest-first: '=3' is not KEY=VALUE" + TAKES),
    ("rarest-first:random_first=1,random_first=2", "picker rarest-first: random_first is given twice" + TAKES),
    ("rarest-first:", "picker rarest-first: nothing after ':' (expected KEY=VALUE,...)" + TAKES),
    ("rarest-first:random_first=1,", "picker rarest-first: '' is not KEY=VALUE" + TAKES),
    ("random:partial_first=maybe", "picker random: partial_first=maybe is not a bool (true or false); "
                                   "it takes partial_first (bool, default true)"),
    ("random,sequential", "picker 'random,sequential': one picker only, as NAME or NAME:KEY=VALUE,..."),
    (":random_first=1", "no picker named in ':random_first=1' (expected NAME or NAME:KEY=VALUE,...)"),
    ("rarest-firs:random_first=1", "no pickers plugin named 'rarest-firs' (installed: random, rarest-first, "),
])
def test_bad_picker_choices_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(PluginError) as caught:
        plugins.parse("pickers", text)
    assert str(caught.value).startswith(message)


def test_bad_choker_values() -> None:
    with pytest.raises(PluginError, match=r"optimistic_fraction=1.5 is out of range \(must be >= 0 and <= 1\)"):
        plugins.parse("chokers", "propshare:optimistic_fraction=1.5")
    with pytest.raises(PluginError, match="gamma=1 is out of range"):
        plugins.parse("chokers", "bittyrant:gamma=1")
    with pytest.raises(PluginError, match="initial_rate=0 is out of range"):
        plugins.parse("chokers", "bittyrant:initial_rate=0")
    with pytest.raises(PluginError, match="delta=nan is not a number"):
        plugins.parse("chokers", "bittyrant:delta=nan")
    with pytest.raises(PluginError, match="choker unchoke-all has no parameter 'slots'; it takes no parameters"):
        plugins.parse("chokers", "unchoke-all:slots=1")
    assert plugins.parse("chokers", "bittyrant:upload_budget=none").params == (("upload_budget", None),)
    # a rule between two parameters is the plugin's own: the constructor says it, create() reports it
    choice = plugins.parse("chokers", "bittyrant:min_unchoked=5,max_unchoked=4")
    with pytest.raises(PluginError, match="bittyrant rejected its parameters min_unchoked=5, max_unchoked=4: "
                                          "min_unchoked and seed_slots must not exceed max_unchoked; it takes"):
        choice.create()


def test_create_checks_python_values_too() -> None:
    with pytest.raises(PluginError, match="random_first=4 is not an int"):
        plugins.create("pickers", "rarest-first", random_first="4")
    with pytest.raises(PluginError, match="random_first=true is not an int"):
        plugins.create("pickers", "rarest-first", random_first=True)
    with pytest.raises(PluginError, match="turn=-2.0 is out of range"):
        plugins.create("chokers", "seed-round-robin", turn=-2.0)
    choker = plugins.create("chokers", "tit-for-tat", optimistic_interval=10)  # an int is a float too
    assert choker.optimistic_interval == 10.0 and isinstance(choker.optimistic_interval, float)


def test_a_session_builds_the_plugin_a_label_names() -> None:
    choice = plugins.parse("chokers", "tit-for-tat: optimistic_slots = 2 , regular_slots=4")
    assert choice.label == "tit-for-tat:regular_slots=4,optimistic_slots=2"
    pm = plugins.plugin_manager({"chokers": [choice.label], "pickers": ["sequential:window=1"]})
    choker = pm.get_plugin(f"chokers:{choice.label}")
    assert (choker.regular_slots, choker.optimistic_slots, choker.max_unchoked) == (4, 2, 6)
    assert pm.get_plugin("pickers:sequential:window=1").window == 1
    with pytest.raises(PluginError, match="no parameter 'size'"):
        plugins.plugin_manager({"pickers": ["sequential:size=1"]})


# -- the commands ----------------------------------------------------------------------------


def _err_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def test_plugins_verbose_lists_the_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\n {2}rarest-first +Partial pieces first.*\n +random_first +int >= 0, default 4 +new pieces "
                     r"picked at random until we have this many\n", out)
    assert re.search(r"\n +gamma +float >= 0 and < 1, default 0\.1 +u\[p\] shrinks", out)
    assert re.search(r"\n {2}unchoke-all .*\n +\(no parameters\)\n", out)
    assert "--picker rarest-first:random_first=0" in out
    assert main(["plugins"]) == 0
    assert "random_first" not in capsys.readouterr().out  # without --verbose: one line per plugin


def test_plugins_json_has_the_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rarest = next(p for p in data["pickers"] if p["name"] == "rarest-first")
    assert rarest["parameters"] == [{"name": "random_first", "type": "int", "default": 4, "required": False,
                                     "optional": False, "ge": 0, "gt": None, "le": None, "lt": None,
                                     "meaning": "new pieces picked at random until we have this many"}]


def test_sim_runs_with_parameters_and_records_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fc"
    argv = ["sim", "flash-crowd", "--peers", "4", "--pieces", "6", "--no-plots", "--out", str(out),
            "--picker", "rarest-first: random_first=0", "--choker", "tit-for-tat:optimistic_slots=2,regular_slots=2"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    label = "rarest-first:random_first=0 + tit-for-tat:regular_slots=2,optimistic_slots=2"
    assert printed.startswith(f"flash-crowd: 4 peers, 6 pieces, {label}, seed 0\n")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["picker"] == "rarest-first:random_first=0" and metrics["picker_params"] == {"random_first": 0}
    assert metrics["choker_params"] == {"regular_slots": 2, "optimistic_slots": 2, "optimistic_interval": 30.0,
                                        "new_peer_age": 60.0, "new_peer_weight": 3}
    assert {p["picker"] for p in metrics["peers"]} == {"rarest-first:random_first=0"}


def test_sim_parameters_reach_every_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no slot at all, the seed and the peers upload nothing: nobody completes."""
    argv = ["sim", "flash-crowd", "--peers", "3", "--pieces", "2", "--no-plots", "--out", str(tmp_path),
            "--choker", "tit-for-tat:regular_slots=0,optimistic_slots=0"]
    assert main(argv) == 1
    assert "no peer completed" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert all(p["bytes_up"] == 0 for p in metrics["peers"])


@pytest.mark.parametrize(("argv", "message"), [
    (["sim", "flash-crowd", "--picker", "rarest-first:randomfirst=0"],
     "btref: picker rarest-first has no parameter 'randomfirst'; it takes random_first (int >= 0, default 4)"),
    (["sim", "flash-crowd", "--choker", "bittyrant:max_unchoked=1"],
     "btref: choker bittyrant rejected its parameters max_unchoked=1: min_unchoked and seed_slots must not"),
    (["compare", "--picker", "random,rarest-first:random_first=0"],
     "btref: --picker 'random,rarest-first:random_first=0': a picker with parameters takes a --picker of its "
     "own: --picker random --picker rarest-first:random_first=0"),
    (["compare", "--choker", "tit-for-tat:slots=4"], "btref: choker tit-for-tat has no parameter 'slots'"),
    (["compare", "--picker", ","], "btref: --picker ',': give at least one name"),
    (["download", "x.torrent", "-o", "out", "--picker", "sequential:window=0"],
     "btref: picker sequential: window=0 is out of range (must be >= 1); it takes window (int >= 1, default 8)"),
    (["download", "x.torrent", "-o", "out", "--choker", "propshare:slots=many"],
     "btref: choker propshare: slots=many is not an int"),
    (["seed", "x.torrent", ".", "--choker", "seed-round-robin:turn=-1"],
     "btref: choker seed-round-robin: turn=-1 is out of range"),
])
def test_commands_refuse_bad_parameters_in_one_line(argv: list[str], message: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert _err_line(capsys).startswith(message)


def test_compare_sweeps_one_plugin_over_its_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "--scenario", "flash-crowd", "--peers", "3", "--pieces", "4", "--repeat", "1", "--jobs", "1",
            "--no-plots", "--out", str(tmp_path),
            "--picker", "rarest-first,random", "--picker", "rarest-first:random_first=0",
            "--picker", "rarest-first: random_first = 0",  # the same choice again: run once
            "--choker", "tit-for-tat:optimistic_slots=2"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    rows = json.loads((tmp_path / "compare.json").read_text())
    assert [(r["picker"], r["choker"]) for r in rows] == [
        ("rarest-first", "tit-for-tat:optimistic_slots=2"), ("random", "tit-for-tat:optimistic_slots=2"),
        ("rarest-first:random_first=0", "tit-for-tat:optimistic_slots=2")]
    assert [r["picker_params"] for r in rows] == [{"random_first": 4}, {"partial_first": True}, {"random_first": 0}]
    assert all(r["choker_params"]["optimistic_slots"] == 2 for r in rows)
    assert re.search(r"\nrarest-first:random_first=0 +tit-for-tat:optimistic_slots=2 +\d", table)


def test_compare_plots_put_one_parameter_a_line(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # a test dependency: a skip fails under `make test`
    from btref.sim import compare, plots

    rows = compare.run_grid("flash-crowd", ["rarest-first:random_first=0"], ["tit-for-tat:regular_slots=2"],
                            repeat=1, peers=2, pieces=2, jobs=1)
    written = plots.plot_comparison(rows, tmp_path)
    svg = next(p for p in written if p.name == "compare_mean.svg").read_text()
    for line in ("rarest-first", "random_first=0", "tit-for-tat", "regular_slots=2"):
        assert f"<!-- {line} -->" in svg  # matplotlib names each text line in a comment


# -- download and seed, over loopback ---------------------------------------------------------


def test_seed_and_download_take_parameters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.test_cli_network import btref_process
    from tests.test_driver import make_torrent, same_tree

    data, _, src = make_torrent(tmp_path, "v1")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                       "--choker", "seed-round-robin:turn=5,regular_slots=1") as (_, first):
        port = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert port, first
        status = main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                       "--peer", f"127.0.0.1:{port.group(1)}", "--picker", "sequential:window=1",
                       "--choker", "tit-for-tat:optimistic_slots=0"])
    assert status == 0 and same_tree(src, tmp_path / "out")
    assert "every piece verified" in capsys.readouterr().out


def test_a_seed_with_no_slots_never_unchokes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's choker parameters reach its session: with no slot it never unchokes, so the
    leecher gets only the pieces the seed grants it as allowed fast (BEP 6, 5 of them)."""
    from tests.test_cli_network import btref_process
    from tests.test_driver import make_torrent

    data, _, src = make_torrent(tmp_path, "v1")
    path = tmp_path / "t.torrent"
    path.write_bytes(data)
    with btref_process("seed", str(path), str(src), "--host", "127.0.0.1", "--no-trackers",
                       "--choker", "tit-for-tat:regular_slots=0,optimistic_slots=0") as (_, first):
        port = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert port, first
        status = main(["download", str(path), "-o", str(tmp_path / "out"), "--host", "127.0.0.1", "--no-trackers",
                       "--peer", f"127.0.0.1:{port.group(1)}", "--timeout", "1"])
    assert status == 2
    err = capsys.readouterr().err
    assert "from the 1 peer(s) found: 1 connected but sent no data (choked us, or slow)" in err
    done = [int(n) for n in re.findall(r"(\d+)/26 pieces", err)]
    assert done and max(done) <= 5


def test_the_driver_builds_the_plugin_a_label_names(tmp_path: Path) -> None:
    from btref.net.driver import Client
    from tests.test_driver import make_torrent

    _, torrent, _ = make_torrent(tmp_path, "v1")
    client = Client(torrent, tmp_path / "out", picker="rarest-first:random_first=0",
                    choker="propshare:slots=2,optimistic_fraction=0.5")
    assert client.plugins.get_plugin("pickers:rarest-first:random_first=0").random_first == 0
    choker = client.plugins.get_plugin("chokers:propshare:slots=2,optimistic_fraction=0.5")
    assert (choker.slots, choker.optimistic_fraction) == (2, 0.5)
