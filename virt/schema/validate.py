"""Validate: does a JSON value follow a schema, and if not, where and by which rule.

jsonschema's Draft202012Validator does the work, with its format checker (uuid, date, date-time,
email, ipv4, ...). Building a validator costs far more than using one, so validators are kept in
a bounded Memo keyed by the schema's canonical JSON. A violation names the pointer and the rule,
never the offending value: a request body may carry a secret, and messages reach logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as JsonSchemaError
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from virt.errors import SchemaError
from virt.memo import Memo
from virt.schema.walk import MAX_DEPTH, check_depth, pointer

MAX_VALUE_NODES = 1_000_000
"""Values a checked value may hold; more is one "size" violation, not minutes of validation."""
_GATHER = 100
"""Errors gathered before sorting: enough to pick the first `limit` from, bounded for a huge
value that breaks the schema everywhere."""


@dataclass(frozen=True, slots=True)
class Violation:
    pointer: str  # JSON pointer of the offending value, "/filters/min_price", "" for the root
    rule: str  # the schema keyword that failed: "required", "type", "enum", ...
    message: str  # names the field and rule; never quotes the offending value (it may be a secret)


_validators: Memo[bytes, Draft202012Validator] = Memo(512)
# an entry holds its schema, so no other dict can take that id while the entry lives
_by_identity: Memo[int, tuple[dict[str, Any], Draft202012Validator]] = Memo(512)


def _key(schema: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        # integers past 64 bits (a learned maximum can be one): the slower encoder takes them
        return json.dumps(schema, sort_keys=True, default=repr).encode()


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """The validator of `schema`, built once per distinct schema (up to 512 kept).

    A schema that is not a valid 2020-12 schema raises SchemaError naming the pointer and rule.
    The same dict again is found by identity, without serializing it: schemas are not changed
    once made.
    """
    same = _by_identity.get(id(schema))
    if same is not None and same[0] is schema:
        return same[1]
    key = _key(schema)
    found = _validators.get(key)
    if found is not None:
        _by_identity.put(id(schema), (schema, found))
        return found
    try:
        Draft202012Validator.check_schema(schema)
    except JsonSchemaError as e:
        raise SchemaError(
            f"not a valid JSON Schema: at {pointer(list(e.absolute_path)) or 'the root'}, "
            f"the {e.validator} rule fails",
            hint="fix the schema (JSON Schema 2020-12)",
        ) from None
    made = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    _validators.put(key, made)
    _by_identity.put(id(schema), (schema, made))
    return made


def _too_big(value: Any) -> Violation | None:
    """A value too deep or too large to check is one violation at the root, never a
    RecursionError or an hour of validation."""
    try:
        check_depth(value, MAX_DEPTH, "the value", MAX_VALUE_NODES)
    except SchemaError as e:
        rule = "depth" if "deeper" in e.message else "size" if "more than" in e.message else "type"
        return Violation("", rule, e.message)
    return None


def is_valid(schema: dict[str, Any], value: Any) -> bool:
    """Whether `value` follows `schema`: the fast path, with the validator cached per schema."""
    if _too_big(value) is not None:
        return False
    try:
        return bool(validator(schema).is_valid(value))
    except Unresolvable as e:
        raise _unresolvable(e) from None


def violations(schema: dict[str, Any], value: Any, limit: int = 10) -> list[Violation]:
    """Up to `limit` ways `value` breaks `schema`, sorted by pointer, then rule: the same list
    for the same input, whatever order jsonschema found them in. Empty when it is valid."""
    big = _too_big(value)
    if big is not None:
        return [big]
    found: set[Violation] = set()
    try:
        for n, error in enumerate(validator(schema).iter_errors(value)):
            if n >= max(_GATHER, limit):
                break
            found.update(_explain(error))
    except Unresolvable as e:
        raise _unresolvable(e) from None
    return sorted(found, key=lambda v: (v.pointer, v.rule, v.message))[:limit]


def _unresolvable(e: Unresolvable) -> SchemaError:
    return SchemaError(
        f"the schema has a $ref that points at nothing: {str(getattr(e, 'ref', ''))[:200]}",
        hint="a schema given alone must hold what its $refs point at ($defs)",
    )


def _explain(error: ValidationError) -> list[Violation]:
    """The violations one jsonschema error stands for, in words that never quote the value."""
    if error.context:
        # anyOf/oneOf: a branch that got further into the value says more than "matches none";
        # when every branch failed at the value itself, "none matches" is the honest answer
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(error.absolute_path):
            error = deepest
    at = [*error.absolute_path]
    # a `false` schema fails with no keyword at all
    rule = "false" if error.validator is None else str(error.validator)
    bound: Any = error.validator_value
    if rule == "required" and isinstance(error.instance, dict):
        missing = [p for p in bound if isinstance(p, str) and p not in error.instance]
        return [
            Violation(pointer([*at, p]), rule, f"{_name(pointer([*at, p]))} is required")
            for p in missing
        ]
    if rule in ("additionalProperties", "unevaluatedProperties") and isinstance(
        error.instance, dict
    ):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [k for k in error.instance if k not in known]
        return [
            Violation(pointer([*at, k]), rule, f"{_name(pointer([*at, k]))} is not allowed here")
            for k in extra[:_GATHER]
        ] or [Violation(pointer(at), rule, f"{_name(pointer(at))} has a property not allowed")]
    where = pointer(at)
    return [Violation(where, rule, f"{_name(where)} {_rule_text(rule, bound, error)}")]


def _name(where: str) -> str:
    return f"field {where}" if where else "the value"


def _rule_text(rule: str, bound: Any, error: ValidationError) -> str:
    """What the rule asks for. Only the schema's side is quoted (types, limits, counts), and not
    enum values: an enum learned from recordings holds recorded values."""
    match rule:
        case "type":
            wanted = bound if isinstance(bound, list) else [bound]
            return f"must be of type {' or '.join(map(str, wanted))}, not {_json_type(error)}"
        case "enum":
            return f"must be one of the {len(bound)} allowed values"
        case "const":
            return "must be the one allowed value"
        case "minimum" | "exclusiveMinimum" | "maximum" | "exclusiveMaximum" | "multipleOf":
            words = {
                "minimum": "at least",
                "exclusiveMinimum": "more than",
                "maximum": "at most",
                "exclusiveMaximum": "less than",
                "multipleOf": "a multiple of",
            }
            return f"must be {words[rule]} {bound}"
        case "minLength" | "maxLength":
            return f"must be {'at least' if rule == 'minLength' else 'at most'} {bound} characters"
        case "minItems" | "maxItems":
            return f"must have {'at least' if rule == 'minItems' else 'at most'} {bound} items"
        case "minProperties" | "maxProperties":
            side = "at least" if rule == "minProperties" else "at most"
            return f"must have {side} {bound} properties"
        case "format":
            return f"must be a valid {bound}"
        case "pattern":
            return "must match the schema's pattern"
        case "uniqueItems":
            return "must not repeat an item"
        case "anyOf" | "oneOf":
            count = "exactly one" if rule == "oneOf" else "at least one"
            return f"must match {count} of the schema's {len(bound)} alternatives"
        case "false" | "not":
            return "is not allowed here"
        case _:
            return f"breaks the schema's {rule} rule"


def _json_type(error: ValidationError) -> str:
    value = error.instance
    for name, kinds in (
        ("null", type(None)),
        ("boolean", bool),
        ("integer", int),
        ("number", float),
        ("string", str),
        ("array", list),
        ("object", dict),
    ):
        if isinstance(value, kinds):
            return name
    return type(value).__name__
