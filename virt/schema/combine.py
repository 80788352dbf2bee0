"""Combining: the schema a generated value follows, once $refs and combinators are resolved.

$ref chains are followed inside the root document, allOf is merged in, and one anyOf/oneOf
branch is chosen by the seed (the simplest when recursion must stop). Which schema applies is
a question of its own, apart from what value is made from it: virt.schema.generate builds its
values on top of Combiner.
"""

from __future__ import annotations

import hashlib
import random
import urllib.parse
from typing import Any

from virt.errors import SchemaError
from virt.schema import keywords

MAX_REF_HOPS = 64
"""$ref to $ref hops followed from one schema."""

SCALAR_RANK = {"null": 0, "boolean": 1, "integer": 1, "number": 1, "string": 1, "array": 2}
"""How simple a value of each type is, for stopping recursion with the simplest branch."""


class Combiner:
    """The schema side of one generation: its root document, its seed, its failures."""

    __slots__ = ("root", "seed")

    root: dict[str, Any]
    seed: bytes

    def rng(self, at: str, salt: str = "") -> random.Random:
        digest = hashlib.sha256(self.seed + (at + salt).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def fail(self, at: str, why: str, ref: str = "") -> SchemaError:
        where = at or "the root"
        of = f" (schema {ref})" if ref else ""
        return SchemaError(f"cannot generate a value at {where}{of}: {why}")

    # --- schemas: $ref, combinators ---------------------------------------------------------

    def target(self, ref: str, at: str) -> Any:
        if not ref.startswith("#"):
            raise self.fail(at, "only $refs into the same document (#/...) are followed", ref)
        node: Any = self.root
        for part in ref[1:].split("/")[1:]:
            key = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise self.fail(at, "the $ref points at nothing", ref)
        return node

    def resolve(
        self, schema: Any, at: str, refs: tuple[str, ...]
    ) -> tuple[Any, tuple[str, ...], bool]:
        """`schema` with its $ref chain followed; whether a $ref was already being expanded."""
        recursed = False
        for _ in range(MAX_REF_HOPS):
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema, refs, recursed
            ref = schema["$ref"]
            if not isinstance(ref, str):
                raise self.fail(at, "a $ref that is not a string")
            recursed = recursed or ref in refs
            refs = (*refs, ref)
            found = self.target(ref, at)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = keywords.merge(found, rest) if rest and isinstance(found, dict) else found
        raise self.fail(at, f"more than {MAX_REF_HOPS} $refs in a row", refs[-1])

    def combine(
        self,
        schema: dict[str, Any],
        at: str,
        refs: tuple[str, ...],
        minimal: bool,
        attempt: int,
    ) -> tuple[dict[str, Any], tuple[str, ...], bool]:
        """allOf merged in, one branch of anyOf/oneOf chosen and merged in, until none is left."""
        recursed = False
        for _ in range(MAX_REF_HOPS):
            if "allOf" in schema:
                parts = schema["allOf"]
                merged = {k: v for k, v in schema.items() if k != "allOf"}
                for part in parts if isinstance(parts, list) else []:
                    part, refs, again = self.resolve(part, at, refs)
                    recursed = recursed or again
                    if part is False:
                        raise self.fail(at, "allOf holds a schema nothing satisfies")
                    if isinstance(part, dict):
                        merged = keywords.merge(merged, part)
                schema = merged
                continue
            kind = "anyOf" if "anyOf" in schema else "oneOf" if "oneOf" in schema else None
            if kind is None:
                return schema, refs, recursed
            branches = schema[kind] if isinstance(schema[kind], list) else []
            rest = {k: v for k, v in schema.items() if k != kind}
            if not branches:
                schema = rest
                continue
            resolved = [self.resolve(branch, at, refs) for branch in branches]
            pick = self.choose(resolved, rest, at, kind, minimal or recursed, attempt)
            chosen, refs, again = resolved[pick]
            recursed = recursed or again
            if chosen is False:
                raise self.fail(at, f"every {kind} branch is a schema nothing satisfies")
            schema = keywords.merge(rest, chosen) if isinstance(chosen, dict) else rest
            if kind == "oneOf":
                # what another branch requires and this one does not would match that one too
                others = {
                    r
                    for i, (b, _, _) in enumerate(resolved)
                    if i != pick and isinstance(b, dict)
                    for r in b.get("required", [])
                }
                omit = others - set(schema.get("required", []))
                if omit:
                    schema["x-virt-omit"] = sorted({*schema.get("x-virt-omit", []), *omit})
        raise self.fail(at, "combinators nest too deeply")

    def choose(
        self,
        branches: list[tuple[Any, tuple[str, ...], bool]],
        rest: dict[str, Any],
        at: str,
        kind: str,
        minimal: bool,
        attempt: int,
    ) -> int:
        """The branch to follow: when stopping recursion the simplest (null, then scalars, never
        one that recurses); otherwise one chosen by the seed, null only if nothing else. A branch
        whose type the rest of the schema rules out is never chosen."""
        outer = keywords.types(rest)
        fits = (
            [
                i
                for i, (b, _, _) in enumerate(branches)
                if b is not False
                and (not outer or not keywords.types(b) or keywords.meet(outer, keywords.types(b)))
            ]
            or [i for i, (b, _, _) in enumerate(branches) if b is not False]
            or [0]
        )
        if minimal:
            ranked = sorted(fits, key=lambda i: _rank(branches[i]))
            return ranked[attempt % len(ranked)]
        usable = [i for i in fits if keywords.types(branches[i][0]) != ["null"]] or fits
        # a retry moves on to the next branch, so that every one gets its turn
        first = self.rng(at, kind).randrange(len(usable))
        return usable[(first + attempt) % len(usable)]


def _rank(branch: tuple[Any, tuple[str, ...], bool]) -> int:
    schema, _, recursed = branch
    if schema is False:
        return 100
    types = keywords.types(schema) or (
        [keywords.implied(schema)] if isinstance(schema, dict) else ["string"]
    )
    rank = min(SCALAR_RANK.get(t, 3) for t in types)
    return (
        rank
        + (10 if recursed else 0)
        + (5 if isinstance(schema, dict) and "$ref" in str(schema.get("items", "")) else 0)
    )
