"""Sphinx extension: a plugin's parameters as a table, read from the plugin itself (the
tunables of the strategies BEP 3 leaves to the client: piece picking, choking).

The directive ``plugin-parameters FAMILY NAME`` finds the installed plugin by name
(:func:`btref.plugins.find`) and renders :func:`btref.plugins.parameters` at build time:
name, type and range, default, meaning. The declaration in the plugin's constructor is
the one place these facts live, so the book cannot drift from what ``btref plugins
--verbose`` shows and what the command line accepts.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _cell(text: str, literal: bool = False) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += nodes.literal(text, text) if literal else nodes.Text(text)
    entry = nodes.entry()
    entry += paragraph
    return entry


def table(rows: list[tuple[str, str, str, str]]) -> nodes.table:
    """A docutils table with a header row and one row per parameter."""
    head = ("parameter", "type", "default", "meaning")
    group = nodes.tgroup(cols=len(head))
    for width in (18, 22, 12, 48):
        group += nodes.colspec(colwidth=width)
    thead, tbody = nodes.thead(), nodes.tbody()
    header = nodes.row()
    for title in head:
        header += _cell(title)
    thead += header
    for name, kind, default, meaning in rows:
        row = nodes.row()
        row += _cell(name, literal=True)
        row += _cell(kind)
        row += _cell(default, literal=True)
        row += _cell(meaning)
        tbody += row
    group += thead
    group += tbody
    result = nodes.table()
    result += group
    return result


class PluginParameters(SphinxDirective):
    """``plugin-parameters FAMILY NAME``: the parameters of an installed plugin, as a table."""

    required_arguments = 2
    has_content = False

    def run(self) -> list[nodes.Node]:
        from btref import plugins

        family, name = self.arguments
        declared = plugins.parameters(plugins.find(family, name).cls)
        if not declared:
            return [nodes.paragraph(text=f"{name} takes no parameters.")]
        rows = [(p.name, p.kind(), p.default_text().removeprefix("default "), p.meaning) for p in declared]
        return [table(rows)]


def setup(app):  # noqa: ANN001, ANN201 - the Sphinx extension entry point
    app.add_directive("plugin-parameters", PluginParameters)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
