"""OpenAPI Schema Objects as standalone JSON Schema 2020-12, `$ref`s resolved.

Every `$ref` to a schema that is not part of a cycle is replaced by that schema (converted
once and shared, so a schema used a hundred times costs one conversion). A `$ref` to a schema
in a cycle (a tree node whose children are tree nodes) stays a `$ref`, to "#/$defs/<name>",
and the schema handed out carries those definitions in its own `$defs`: it is self-contained,
finite, and a Draft202012Validator accepts it without the document.

OpenAPI 3.0 dialect is converted: `nullable: true` adds "null" to `type` (and to `enum`), or
wraps a schema without `type` in anyOf with {"type": "null"}; boolean `exclusiveMinimum` and
`exclusiveMaximum` become the numeric form. `example` stays as an annotation. Keywords that
would change how references resolve (`$id`, `$schema`, `$anchor`) are dropped.
"""

from __future__ import annotations

import re
from typing import Any

from virt.schema.openapi.document import Refs

_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_ONE = (
    "additionalProperties",
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
    "additionalItems",
)
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_DROP = frozenset(
    {"$id", "$schema", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$recursiveRef", "nullable"}
)
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "summary",
        "default",
        "example",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
    }
)


class Schemas:
    """Converts the Schema Objects of one document; remembers each referenced schema."""

    def __init__(self, refs: Refs, minor: int) -> None:
        self.refs = refs
        self.v30 = minor == 0
        self._edges: dict[str, frozenset[str]] = {}
        self._cyclic: set[str] = set()
        self._settled: set[str] = set()  # pointers whose cycle membership is known
        self._targets: dict[str, tuple[Any, frozenset[str]]] = {}
        self._names: dict[str, str] = {}

    def standalone(self, schema: Any, at: str) -> dict[str, Any] | None:
        """`schema` (found at pointer `at`) as a self-contained 2020-12 schema, or None when
        it is not a schema at all."""
        if isinstance(schema, bool):
            return {} if schema else {"not": {}}
        if not isinstance(schema, dict):
            return None
        root = self.refs.follow(schema, at) if "$ref" in schema else schema
        if not isinstance(root, dict):
            return {} if root is True else None if root is not False else {"not": {}}
        self._settle(root)
        converted, needed = self._convert(root)
        out = dict(converted)
        if needed:
            defs: dict[str, Any] = {}
            todo = sorted(needed)
            while todo:
                ptr = todo.pop()
                name = self._name(ptr)
                if name in defs:
                    continue
                body, more = self._target(ptr)
                defs[name] = body
                todo.extend(sorted(more - {p for p in more if self._name(p) in defs}))
            out["$defs"] = {**out.get("$defs", {}), **dict(sorted(defs.items()))}
        return out

    # cycles

    def _settle(self, root: Any) -> None:
        """Find which schemas reachable from `root` lie on a cycle of `$ref`s (Tarjan)."""
        starts = [r for r in _refs_in(root) if r not in self._settled]
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        for start in starts:
            if start in index or start in self._settled:
                continue
            work: list[tuple[str, list[str]]] = []
            self._visit(start, index, low, stack, on, work)
            while work:
                node, pending = work[-1]
                if pending:
                    nxt = pending.pop()
                    if nxt in self._settled:
                        continue
                    if nxt not in index:
                        self._visit(nxt, index, low, stack, on, work)
                    elif nxt in on:
                        low[node] = min(low[node], index[nxt])
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in self._edges_of(node):
                        self._cyclic.update(component)
                    self._settled.update(component)

    def _visit(
        self,
        node: str,
        index: dict[str, int],
        low: dict[str, int],
        stack: list[str],
        on: set[str],
        work: list[tuple[str, list[str]]],
    ) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        work.append((node, sorted(self._edges_of(node))))

    def _edges_of(self, ptr: str) -> frozenset[str]:
        edges = self._edges.get(ptr)
        if edges is None:
            edges = frozenset(_refs_in(self.refs.resolve(ptr, ptr[1:] or "/")))
            self._edges[ptr] = edges
        return edges

    # conversion

    def _target(self, ptr: str) -> tuple[Any, frozenset[str]]:
        done = self._targets.get(ptr)
        if done is None:
            body = self.refs.resolve(ptr, ptr[1:] or "/")
            self._settle(body)
            done = self._convert(body)
            self._targets[ptr] = done
        return done

    def _name(self, ptr: str) -> str:
        name = self._names.get(ptr)
        if name is None:
            tail = ptr.removeprefix("#/components/schemas/")
            if tail == ptr or "/" in tail:
                tail = ptr.lstrip("#/")
            tail = tail.replace("~1", "/").replace("~0", "~")
            name = re.sub(r"[^A-Za-z0-9._-]", "_", tail) or "root"
            while name in self._names.values():
                name += "_"
            self._names[ptr] = name
        return name

    def _convert(self, node: Any) -> tuple[Any, frozenset[str]]:
        """`node` converted, and the cyclic schemas its `$ref`s to "#/$defs/..." need."""
        if not isinstance(node, dict):
            return node, frozenset()
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._reference(node, ref)
        needed: set[str] = set()
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP:
                continue
            if key in _MAPS and isinstance(value, dict):
                out[key] = {k: self._sub(v, needed) for k, v in value.items()}
            elif key in _ONE and isinstance(value, dict | bool):
                out[key] = self._sub(value, needed)
            elif key == "items" and isinstance(value, list):
                out["prefixItems"] = [self._sub(v, needed) for v in value]
            elif key in _LISTS and isinstance(value, list):
                out[key] = [self._sub(v, needed) for v in value]
            elif key == "required" and isinstance(value, list):
                out[key] = list(dict.fromkeys(v for v in value if isinstance(v, str)))
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                if value and isinstance(node.get(bound), int | float):
                    out[key] = node[bound]
            elif key == "examples" and not isinstance(value, list):
                continue  # a 3.0-style map of examples is not a schema keyword
            else:
                out[key] = value
        if (
            out.get("exclusiveMinimum") is not None
            and node.get("exclusiveMinimum") is True
            and "minimum" in out
        ):
            del out["minimum"]
        if (
            out.get("exclusiveMaximum") is not None
            and node.get("exclusiveMaximum") is True
            and "maximum" in out
        ):
            del out["maximum"]
        if node.get("nullable") is True:
            out = _nullable(out)
        return out, frozenset(needed)

    def _sub(self, value: Any, needed: set[str]) -> Any:
        converted, more = self._convert(value)
        needed.update(more)
        return converted

    def _reference(self, node: dict[str, Any], ref: str) -> tuple[Any, frozenset[str]]:
        ptr = ref if ref.startswith("#") else "#" + ref
        if ptr in self._cyclic:
            target: Any = {"$ref": "#/$defs/" + self._name(ptr)}
            needed = frozenset({ptr})
        else:
            target, needed = self._target(ptr)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if self.v30 or not siblings:  # 3.0 ignores what sits beside a $ref
            return target, needed
        if set(siblings) <= _ANNOTATIONS and isinstance(target, dict):
            return {**target, **siblings}, needed
        rest, more = self._convert(siblings)
        if isinstance(rest, dict) and set(rest) <= _ANNOTATIONS | {"nullable"}:
            combined: dict[str, Any] = {**target, **rest} if isinstance(target, dict) else rest
        else:
            combined = {"allOf": [target, rest]}
        if siblings.get("nullable") is True:
            combined = _nullable(combined)
        return combined, needed | more


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema = {**schema, "type": [kind, "null"]} if kind != "null" else schema
    elif isinstance(kind, list):
        schema = {**schema, "type": [*kind, "null"]} if "null" not in kind else schema
    else:
        return {"anyOf": [schema, {"type": "null"}]}
    enum = schema.get("enum")
    if isinstance(enum, list) and None not in enum:
        schema["enum"] = [*enum, None]
    return schema


def _refs_in(node: Any) -> set[str]:
    """The `$ref` pointers found in schema positions under `node` (not crossing into them)."""
    found: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                found.add(ref)
            for key, value in item.items():
                if key in _MAPS and isinstance(value, dict):
                    todo.extend(value.values())
                elif key in _ONE or key in _LISTS or key == "items":
                    todo.extend(value if isinstance(value, list) else [value])
        elif isinstance(item, list):
            todo.extend(item)
    return found
