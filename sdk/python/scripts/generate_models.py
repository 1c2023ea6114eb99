#!/usr/bin/env python3
"""Generates src/mailroom/models.py from Mailroom's OpenAPI document.

    python scripts/generate_models.py http://127.0.0.1:8025/v1/openapi.json   # or a file
    python scripts/generate_models.py --check URL_OR_FILE                        # exit 1 if stale

Every component schema becomes a pydantic v2 model (objects) or an alias (unions, enums).
Models of request bodies refuse unknown fields, as the server does; models of answers keep
fields the SDK does not know yet, so a newer server does not break an older SDK.
The SDK's test suite runs ``--check`` against the real server: a field or schema the document
has and the SDK lacks fails the tests.
"""

from __future__ import annotations

import json
import keyword
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Set

OUT = Path(__file__).resolve().parent.parent / "src" / "mailroom" / "models.py"

HEADER = '''"""Typed models of Mailroom's API, generated from its OpenAPI document by
``scripts/generate_models.py``: do not edit by hand, regenerate."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
'''


def load(source: str) -> Dict[str, Any]:
    if source.startswith("http"):
        with urllib.request.urlopen(source) as resp:  # noqa: S310 (a URL the developer gives)
            return json.load(resp)
    return json.loads(Path(source).read_text())


def refs(node: Any) -> Set[str]:
    found: Set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for v in node.values():
            found |= refs(v)
    elif isinstance(node, list):
        for v in node:
            found |= refs(v)
    return found


def request_schemas(doc: Dict[str, Any]) -> Set[str]:
    """The schemas reachable from request bodies."""
    schemas = doc.get("components", {}).get("schemas", {})
    todo: List[str] = []
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and "requestBody" in op:
                todo += sorted(refs(op["requestBody"]))
    seen: Set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += sorted(refs(schemas.get(name, {})))
    return seen


def py_type(s: Dict[str, Any]) -> str:
    if "$ref" in s:
        return s["$ref"].rsplit("/", 1)[1]
    for key in ("oneOf", "anyOf"):
        if key in s:
            parts = [py_type(x) for x in s[key]]
            if key == "anyOf" and "Dict[str, Any]" in parts:
                # "One of these shapes, or any object" (an event's `data`): a dict, which the
                # caller reads by the event's type.
                return "Dict[str, Any]"
            non_null = [p for p in parts if p != "None"]
            inner = non_null[0] if len(non_null) == 1 else f"Union[{', '.join(dict.fromkeys(non_null))}]"
            return f"Optional[{inner}]" if "None" in parts else inner
    if "allOf" in s and len(s["allOf"]) == 1:
        return py_type(s["allOf"][0])
    t = s.get("type")
    if isinstance(t, list):
        non_null = [x for x in t if x != "null"]
        inner = py_type({**s, "type": non_null[0]}) if len(non_null) == 1 else "Any"
        return f"Optional[{inner}]" if "null" in t else inner
    if t == "null":
        return "None"
    if t == "string":
        if s.get("format") == "date-time":
            return "_dt.datetime"
        if s.get("format") == "binary":
            return "bytes"
        return "str"
    if t == "integer":
        return "int"
    if t == "number":
        return "float"
    if t == "boolean":
        return "bool"
    if t == "array":
        return f"List[{py_type(s.get('items', {}))}]"
    if t == "object" or "properties" in s or "additionalProperties" in s:
        extra = s.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"Dict[str, {py_type(extra)}]"
        return "Dict[str, Any]"
    return "Any"


def field_name(prop: str) -> str:
    name = prop.replace("-", "_")
    if keyword.iskeyword(name) or name in {"model_config", "model_fields", "schema", "json", "copy", "dict"}:
        name += "_"
    return name


def doc_line(text: str) -> str:
    return " ".join(text.split()).replace('"""', "'''").replace("\\", "\\\\")


def generate(doc: Dict[str, Any]) -> str:
    schemas: Dict[str, Any] = doc.get("components", {}).get("schemas", {})
    requests = request_schemas(doc)
    classes: List[str] = []
    aliases: List[str] = []
    def is_class(s: Dict[str, Any]) -> bool:
        return s.get("type") == "object" or "properties" in s or ("allOf" in s and len(s["allOf"]) > 1)

    order = sorted(schemas)
    # A model that extends another (allOf) comes after its parent.
    order.sort(key=lambda n: 1 if "allOf" in schemas[n] else 0)
    for name in order:
        s = schemas[name]
        if is_class(s):
            base = "_Request" if name in requests else "_Response"
            if "allOf" in s:
                parents = [p["$ref"].rsplit("/", 1)[1] for p in s["allOf"] if "$ref" in p]
                own = [p for p in s["allOf"] if "$ref" not in p]
                s = {"description": s.get("description"), "properties": {}, "required": []}
                for part in own:
                    s["properties"].update(part.get("properties", {}))
                    s["required"] += part.get("required", [])
                base = ", ".join(parents) or base
            lines = [f"class {name}({base}):"]
            if s.get("description"):
                lines.append(f'    """{doc_line(s["description"])}"""')
                lines.append("")
            required = set(s.get("required", []))
            props = s.get("properties", {})
            if not props:
                lines.append("    pass")
            for prop, ps in props.items():
                t = py_type(ps)
                fname = field_name(prop)
                alias = f', alias="{prop}"' if fname != prop else ""
                if prop in required:
                    default = f" = Field(...{alias})" if alias else ""
                else:
                    if not t.startswith("Optional["):
                        t = f"Optional[{t}]"
                    default = f" = Field(None{alias})" if alias else " = None"
                lines.append(f"    {fname}: {t}{default}")
                if ps.get("description"):
                    lines.append(f'    """{doc_line(ps["description"])}"""')
            classes.append("\n".join(lines))
        else:
            desc = f"  # {doc_line(s['description'])}" if s.get("description") else ""
            if "enum" in s:
                values = ", ".join(repr(v) for v in s["enum"])
                aliases.append(f"{name} = str  # one of: {values}")
            else:
                aliases.append(f"{name} = {py_type(s)}{desc}")
    names = sorted(n for n in schemas if is_class(schemas[n]))
    out = [HEADER]
    # Aliases first when they name plain types; unions of models after the classes.
    plain = [a for a in aliases if "Union[" not in a]
    unions = [a for a in aliases if "Union[" in a]
    out += plain + [""] if plain else []
    out += [c + "\n\n" for c in classes]
    out += unions
    out.append("")
    out.append("for _model in (" + ", ".join(names) + ",):")
    out.append("    _model.model_rebuild()")
    out.append("")
    out.append("SCHEMAS = [" + ", ".join(repr(n) for n in sorted(schemas)) + "]")
    out.append('"""Every schema of the OpenAPI document this module was generated from."""')
    return "\n".join(out).rstrip() + "\n"


def main(argv: List[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    text = generate(load(args[0]))
    if check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run scripts/generate_models.py against the server and commit it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
