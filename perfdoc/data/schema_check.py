"""Data checked against a JSON Schema, with messages in Chinese at the value's file:line:col.

Used for the data files (perfdoc.data.validate) and for profile files (perfdoc.data.profile): both
get the same messages. jsonschema's float arithmetic is replaced for `multipleOf`, so an amount
like 345.52 (a Decimal here) is exact; fields the schema types as text take a bare number exactly
as it was typed (`code: 142001001`, `value: 0012`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from perfdoc.data.loader import FieldPath, LoadedFile
from perfdoc.diagnostics import Diagnostic


def _multiple_of(validator, divisor, instance, schema) -> Iterator[ValidationError]:
    """Exact `multipleOf` for Decimal amounts (jsonschema's float arithmetic rejects 345.52)."""
    if not validator.is_type(instance, "number"):
        return
    try:
        exact = Decimal(str(instance)) % Decimal(str(divisor)) == 0
    except (InvalidOperation, ValueError):  # too large or not finite: `maximum` reports it
        exact = True
    if not exact:
        yield ValidationError(f"{instance} is not a multiple of {divisor}")


_Validator = jsonschema.validators.extend(Draft202012Validator, {"multipleOf": _multiple_of})

_TYPE_NAMES = {"string": "文字", "number": "数字", "integer": "整数", "object": "键值映射（mapping）",
               "array": "列表（list）", "null": "空", "boolean": "true/false"}


def _describe_value(value: Any) -> str:
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return f"布尔值 {str(value).lower()}"
    if isinstance(value, (int, Decimal, float)):
        return f"数字 {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "…"
        return f"文字 “{shown}”"
    if isinstance(value, list):
        return "列表"
    return "键值映射"


def _field_label(schema: dict[str, Any]) -> str:
    """The field's Chinese name, to open the message with (`预算数不能为空…`)."""
    return schema.get("title", "")


def _type_message(error: ValidationError) -> str:
    expected = error.validator_value
    expected_list = expected if isinstance(expected, list) else [expected]
    wanted = "或".join(_TYPE_NAMES.get(t, str(t)) for t in expected_list if t != "null")
    if "null" in expected_list:
        wanted += "，或留空"
    value = error.instance
    hint = ""
    if "number" in expected_list or "integer" in expected_list:
        if isinstance(value, str):
            if any("０" <= ch <= "９" for ch in value):
                hint = "；请改用半角数字"
            elif value.strip().endswith("%"):
                hint = "；只写数字，不要带 %"
            elif "万元" in value or "元" in value:
                hint = "；只写数字，单位固定为万元"
            elif value.lstrip("-").startswith("0") and value.isdigit():
                hint = "；数字不能以 0 开头"
    if value is None and "null" not in expected_list:
        return f"不能为空，应填写{wanted}"
    return f"应为{wanted}，实际是{_describe_value(value)}{hint}（type）"


def _messages_for(error: ValidationError, path: FieldPath) -> Iterator[tuple[FieldPath, str, bool]]:
    """Chinese message(s) for one jsonschema error: (path, message, located at key?).

    Never jsonschema's own English sentence nor a Python repr of the value: every keyword the
    schemas use has its words here, and anything else gets a Chinese sentence naming the keyword.
    A schema may add a hint for one keyword (`x-hints`, perfdoc.data.profile_schema)."""
    hint = error.schema.get("x-hints", {}).get(error.validator, "") if isinstance(error.schema, dict) else ""
    for where, message, at_key in _plain_messages(error, path):
        yield where, f"{message}：{hint}" if hint else message, at_key


def _plain_messages(error: ValidationError, path: FieldPath) -> Iterator[tuple[FieldPath, str, bool]]:
    kind = error.validator
    label = _field_label(error.schema) if isinstance(error.schema, dict) else ""
    if "propertyNames" in error.relative_schema_path:  # a key that may not be written: said at the key
        yield path + (str(error.instance),), f"{label}“{error.instance}”不行：{error.schema.get('description', '')}（propertyNames）", True
        return
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in error.validator_value:
            if name not in present:
                title = error.schema.get("properties", {}).get(name, {}).get("title", "")
                yield path + (name,), f"缺少必填字段{('（' + title + '）') if title else ''}（required）", False
        return
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for name in error.instance:
            if name in allowed:
                continue
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.5)
            hint = f"，是不是“{close[0]}”？" if close else f"；此处可用的字段：{'、'.join(allowed)}"
            yield path + (name,), f"未知字段“{name}”{hint}（additionalProperties）", True
        return
    if kind in ("anyOf", "oneOf"):  # the branch that fits best says what is wrong
        best = jsonschema.exceptions.best_match(error.context or ())
        if best is not None:
            yield from _messages_for(best, tuple(best.absolute_path))
            return
        yield path, f"{label}的写法不对（{kind}）", False
        return
    if kind == "type":
        yield path, f"{label}{_type_message(error)}", False
    elif kind == "minLength":
        yield path, f"{label}不能为空（minLength）", False
    elif kind == "maxLength":
        yield path, f"{label}最多 {error.validator_value} 个字符，实际有 {len(error.instance)} 个（maxLength）", False
    elif kind == "minItems":
        yield path, f"{label}至少要有 {error.validator_value} 项（minItems）", False
    elif kind == "maxItems":
        yield path, f"{label}最多 {error.validator_value} 项，实际有 {len(error.instance)} 项（maxItems）", False
    elif kind == "minProperties":
        yield path, f"{label}至少要写 {error.validator_value} 个键（minProperties）", False
    elif kind == "maxProperties":
        yield path, f"{label}最多写 {error.validator_value} 个键（maxProperties）", False
    elif kind == "pattern":
        yield path, f"{label}格式不对：{error.schema.get('description', error.validator_value)}（pattern）", False
    elif kind == "minimum":
        yield path, f"{label}不能小于 {error.validator_value}，实际是 {error.instance}（minimum）", False
    elif kind == "maximum":
        yield path, f"{label}不能大于 {error.validator_value}，实际是 {error.instance}（maximum）", False
    elif kind == "exclusiveMinimum":
        yield path, f"{label}应大于 {error.validator_value}，实际是 {error.instance}（exclusiveMinimum）", False
    elif kind == "exclusiveMaximum":
        yield path, f"{label}应小于 {error.validator_value}，实际是 {error.instance}（exclusiveMaximum）", False
    elif kind == "enum":
        choices = "、".join(str(v) for v in error.validator_value if v is not None)
        if error.instance is None:
            yield path, f"{label}不能为空，应填写 {choices} 之一（enum）", False
        else:
            yield path, f"{label}应为 {choices} 之一，实际是{_describe_value(error.instance)}（enum）", False
    elif kind == "const":
        yield path, f"{label}只能是 {error.validator_value}，实际是{_describe_value(error.instance)}（const）", False
    elif kind == "multipleOf":
        places = {0.01: "两", 0.0001: "四"}.get(error.validator_value, str(error.validator_value))
        yield path, f"{label}最多{places}位小数，实际是 {error.instance}（multipleOf）", False
    elif kind == "uniqueItems":
        yield path, f"{label}里有重复的项（uniqueItems）", False
    else:  # a keyword no perfdoc schema uses today: still Chinese, still no repr of the value
        yield path, f"{label or '这个值'}不符合格式的要求（{kind}）", False


def _coerce_text_fields(value: Any, schema: dict[str, Any], root: dict[str, Any], path: FieldPath,
                        loaded: LoadedFile) -> Any:
    """Where the schema wants text (or text or nothing) and the author typed a bare number, take it
    exactly as typed, following `properties` and `additionalProperties` (a stage file's indicators,
    named by the author) alike.

    `code: 142001001`, `value: 0012` or `actual: 37.20` then mean what the author sees, not a number.
    """
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    types = schema.get("type")
    if (types == "string" or isinstance(types, list) and "string" in types and "number" not in types) \
            and path in loaded.plain_texts:
        return loaded.plain_texts[path]
    extra = schema.get("additionalProperties")
    if isinstance(value, dict) and ("properties" in schema or isinstance(extra, dict)):
        props: dict[str, Any] = schema.get("properties", {})
        others: dict[str, Any] = extra if isinstance(extra, dict) else {}
        return {k: _coerce_text_fields(v, props.get(k, others), root, path + (k,), loaded) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_coerce_text_fields(v, schema["items"], root, path + (i,), loaded) for i, v in enumerate(value)]
    return value


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with `{"$ref": "#/$defs/x"}` replaced by x itself (the generated schema has no
    cycles): jsonschema then need not resolve a reference for every indicator row of every file."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline_refs(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(value, defs) for value in node]
    return node


def schema_validator(schema: dict[str, Any], kind: str) -> Any:
    """A validator for `$defs/<kind>`, made once per check run and reused for every file."""
    return _Validator(_inline_refs(schema["$defs"][kind], schema["$defs"]))


def validate_against_schema(loaded: LoadedFile, schema: dict[str, Any], kind: str,
                            validator: Any = None) -> list[Diagnostic]:
    """Coerce text fields, then validate `loaded.data` against `$defs/<kind>`; errors in file order."""
    subschema = schema["$defs"][kind]
    loaded.data = _coerce_text_fields(loaded.data, subschema, schema, (), loaded)
    validator = validator or schema_validator(schema, kind)
    found: list[Diagnostic] = []
    for error in validator.iter_errors(loaded.data):
        for path, message, at_key in _messages_for(error, tuple(error.absolute_path)):
            found.append(loaded.diagnostic(path, message, key=at_key))
    return found
