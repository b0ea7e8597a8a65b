"""The round-trip YAML writer: manifests written by export keep what people wrote.

A file is read with ruamel.yaml's round-trip loader and changed in place to mean new data
(`update_node`): comments, key order, quoting and folded strings of the unchanged parts
survive, new keys go where they belong, states are matched by name. A new file gets block
style at the top and inline style for small leaves (`new_document`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString


def round_trip_yaml() -> YAML:
    """ruamel.yaml in round-trip mode as export writes: quotes kept, long lines never folded."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def plain(node: Any) -> Any:
    """ruamel nodes -> plain Python data (str subclasses stay equal to their text)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _same_scalar(old: Any, new: Any) -> bool:
    return isinstance(old, bool) == isinstance(new, bool) and isinstance(old, str) == isinstance(new, str) \
        and plain(old) == new


def to_node(value: Any, *, flow_style_small: bool = True) -> Any:
    """Plain data -> ruamel nodes; small flat mappings (offsets, transitions) in flow style."""
    if isinstance(value, dict):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = to_node(v, flow_style_small=flow_style_small)
        if flow_style_small and value and len(value) <= 3 and all(
                not isinstance(v, (dict, list)) and not (isinstance(v, str) and (len(v) > 40 or "\n" in v))
                for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        for v in value:
            seq.append(to_node(v, flow_style_small=flow_style_small))
        if value and all(isinstance(v, str) and len(v) < 40 and "\n" not in v for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    return value


def update_node(node: Any, new: Any) -> Any:
    """`node` (ruamel round-trip data) changed in place to mean `new`; unchanged parts keep
    their comments and style. Returns the node to store (a new one when the type changed)."""
    if isinstance(node, dict) and isinstance(new, dict):
        for key in [k for k in node if k not in new]:
            del node[key]
        for position, (key, value) in enumerate(new.items()):
            if key in node:
                updated = update_node(node[key], value)
                if updated is not node[key]:
                    node[key] = updated
            elif isinstance(node, CommentedMap):
                node.insert(min(position, len(node)), key, to_node(value))
            else:
                node[key] = to_node(value)
        return node
    if isinstance(node, list) and isinstance(new, list):
        named = lambda items: all(isinstance(i, dict) and "name" in i for i in items)  # noqa: E731
        if node and named(node) and named(new):
            old = {str(item["name"]): item for item in node}
            items = [update_node(old[v["name"]], v) if v["name"] in old else to_node(v) for v in new]
            if [id(i) for i in items] != [id(i) for i in node]:
                node[:] = items
            return node
        for index, value in enumerate(new):
            if index < len(node):
                updated = update_node(node[index], value)
                if updated is not node[index]:
                    node[index] = updated
            else:
                node.append(to_node(value))
        del node[len(new):]
        return node
    if _same_scalar(node, new):
        return node
    return to_node(new)



def read_document(path: Path) -> Any:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return round_trip_yaml().load(text)


def new_document(doc: dict[str, Any]) -> CommentedMap:
    """A new file: the top level and lists of states in block style, small leaves inline."""
    node = CommentedMap()
    for key, value in doc.items():
        if key == "states":
            seq = CommentedSeq()
            for state in value:
                item = CommentedMap()
                for k, v in state.items():
                    if k == "transitions":
                        item[k] = CommentedSeq([to_node(t) for t in v])
                    elif k == "properties":
                        item[k] = CommentedMap((pk, to_node(pv)) for pk, pv in v.items())
                    else:
                        item[k] = to_node(v)
                seq.append(item)
            node[key] = seq
        elif isinstance(value, dict):
            inner = CommentedMap()
            for k, v in value.items():
                inner[k] = to_node(v)
            node[key] = inner
        else:
            node[key] = to_node(value)
    return node


def document_text(existing: Any, doc: dict[str, Any], *, json_file: bool = False) -> str:
    """The text of a file holding `doc`: `existing` (its round-trip data, or None for a new
    file) updated in place, as YAML, or as JSON for a Studio JSON export."""
    if json_file:
        data = update_node(existing, doc) if existing is not None else doc
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    node = update_node(existing, doc) if existing is not None else new_document(doc)
    buffer = io.StringIO()
    round_trip_yaml().dump(node, buffer)
    return buffer.getvalue()
