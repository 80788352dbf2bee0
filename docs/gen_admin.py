"""Write docs/admin-api.md from the admin API's OpenAPI document: python docs/gen_admin.py [--check]

The reference lists every endpoint with its parameters, request body and responses, then every
schema with its fields, exactly as FastAPI describes them: so it cannot drift from the code.
docs/admin.md stays the guide, with examples. tests/test_docs.py and `make docs` fail when
docs/admin-api.md differs from what this script would write.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from virt.admin.api import create_admin
from virt.match.engine import Engine
from virt.store import Store

ADMIN_API_MD = Path(__file__).resolve().with_name("admin-api.md")
METHODS = ("get", "post", "put", "patch", "delete")
# constraints shown beside a type, in this order
CONSTRAINTS = (
    ("minimum", ">= {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "<= {}"),
    ("exclusiveMaximum", "< {}"),
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("pattern", "matching `{}`"),
    ("format", "format {}"),
)

Schema = dict[str, Any]


def openapi() -> dict[str, Any]:
    """The admin API's OpenAPI document, as GET /__virt/openapi.json serves it."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "docs.db")
        try:
            app = create_admin(Engine(store))  # routes only; none is called
            return app.openapi()
        finally:
            store.close()


def slug(heading: str) -> str:
    """The anchor MkDocs (and GitHub) give a heading: lowercase, punctuation dropped."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"[\s]+", "-", text)


def type_of(schema: Schema) -> str:
    """A short Markdown description of a schema's type: "integer, >= 1", "array of [X](#x)"."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{slug(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        kinds = [type_of(s) for s in options if s.get("type") != "null"]
        nullable = len(kinds) < len(options)
        text = " or ".join(dict.fromkeys(kinds)) or "null"
        return f"{text} or null" if nullable and kinds else text
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        kind = f"array of {type_of(schema.get('items', {}))}"
    elif kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        if isinstance(extra, dict):
            kind = f"object of {type_of(extra)}"
    limits = [text.format(schema[key]) for key, text in CONSTRAINTS if key in schema]
    return ", ".join([kind, *limits])


def _default(schema: Schema) -> str:
    if "default" not in schema:
        return ""
    return f"; default `{json.dumps(schema['default'])}`"


def _content(content: dict[str, Any]) -> list[str]:
    lines = []
    for media, body in content.items():
        schema = body.get("schema")
        lines.append(f"- `{media}`" + (f": {type_of(schema)}" if schema else ""))
    return lines


def _operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    heading = f"`{method.upper()} {path}`"
    out = [f"## {heading}", ""]
    if op.get("description"):
        out += [op["description"], ""]
    access = "admin token when one is set" if op.get("security") else "always open"
    out += [
        f"Access: {access}. Guide: [{method.upper()} {path}](admin.md#{slug(heading)}).",
        "",
    ]
    params = op.get("parameters", [])
    if params:
        out += ["Parameters:", ""]
        for param in params:
            schema = param.get("schema", {})
            required = "required" if param.get("required") else "optional"
            line = f"- `{param['name']}` ({param['in']}, {required}): {type_of(schema)}"
            line += _default(schema)
            if param.get("description"):
                line += f". {param['description']}"
            out.append(line)
        out.append("")
    body = op.get("requestBody")
    if body:
        required = "required" if body.get("required") else "optional"
        out += [f"Request body ({required}):", "", *_content(body.get("content", {})), ""]
    out += ["Responses:", ""]
    for status, response in op.get("responses", {}).items():
        line = f"- {status}: {response.get('description', '').rstrip('.')}"
        content = response.get("content", {})
        kinds = [
            type_of(c["schema"]) if c.get("schema") else f"`{media}`"
            for media, c in content.items()
        ]
        if kinds:
            line += ": " + ", ".join(kinds)
        out.append(line)
    out.append("")
    return out


def _schema(name: str, schema: Schema) -> list[str]:
    out = [f"### `{name}`", ""]
    if schema.get("description"):
        out += [schema["description"], ""]
    required = set(schema.get("required", []))
    properties = schema.get("properties", {})
    for field, sub in properties.items():
        need = "required" if field in required else "optional"
        line = f"- `{field}` ({need}): {type_of(sub)}{_default(sub)}"
        if sub.get("description"):
            line += f". {sub['description']}"
        out.append(line)
    if not properties:
        out.append(f"- {type_of(schema)}")
    if schema.get("additionalProperties") is False:
        out += ["", "Other fields are refused."]
    out.append("")
    return out


def render(document: dict[str, Any]) -> str:
    """docs/admin-api.md for `document`: endpoints in path order, then schemas by name."""
    info = document["info"]
    out = [
        "# Admin API reference",
        "",
        "<!-- Generated by docs/gen_admin.py from the admin API's OpenAPI document: do not edit."
        " -->",
        "",
        f"{info['title']}, version {info['version']} (OpenAPI {document['openapi']}).",
        "Every endpoint and schema below comes from the OpenAPI document that `virt serve`",
        "publishes at `/__virt/openapi.json` (and shows at `/__virt/docs`). The [guide](admin.md)",
        "explains access, errors and each endpoint with examples.",
        "",
        "| Endpoint | Summary |",
        "|---|---|",
    ]
    operations = [
        (method, path, ops[method])
        for path, ops in document["paths"].items()
        for method in METHODS
        if method in ops
    ]
    for method, path, op in operations:
        heading = f"`{method.upper()} {path}`"
        out.append(f"| [{heading}](#{slug(heading)}) | {op.get('summary', '')} |")
    out.append("")
    for method, path, op in operations:
        out += _operation(method, path, op)
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes:
        out += ["## Authentication", ""]
        for name, scheme in schemes.items():
            kind = f"{scheme.get('type')} {scheme.get('scheme', '')}".strip()
            out.append(f"- `{name}` ({kind}): {scheme.get('description', '')}")
        out.append("")
    out += ["## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        out += _schema(name, schema)
    return "\n".join(out).rstrip("\n") + "\n"


def current() -> str:
    """What docs/admin-api.md should hold for this virt."""
    return render(openapi())


def main(argv: list[str]) -> int:
    check = "--check" in argv
    new = current()
    old = ADMIN_API_MD.read_text(encoding="utf-8") if ADMIN_API_MD.exists() else ""
    if new == old:
        return 0
    if check:
        print(f"{ADMIN_API_MD} is out of date: run python docs/gen_admin.py", file=sys.stderr)
        return 1
    ADMIN_API_MD.write_text(new, encoding="utf-8")
    print(f"updated {ADMIN_API_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
