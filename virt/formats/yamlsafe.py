"""Safe YAML loading for the YAML-based formats (go-vcr, Keploy, VCR cassettes, HAR as YAML).

One place decides which loader is safe (libyaml's when it is built in), how timestamps are kept
(as the text recorders wrote), and which errors mean "not a readable document".
"""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""yaml's safe loader, in C when libyaml is built in."""


class TextTimestampLoader(SafeLoader):  # type: ignore[misc]
    """The safe loader, timestamps kept as the text that was written (nanoseconds and all),
    so a header or a recorded time that looks like a date never becomes a datetime."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in SafeLoader.yaml_implicit_resolvers.items()
    }


YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, AttributeError, RecursionError)
"""What loading hostile input raises: PyYAML's constructors raise built-in errors too (a bad
explicit !!timestamp raises AttributeError, a deep nesting RecursionError); all of them mean
"not a readable document"."""
