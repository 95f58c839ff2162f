"""Output serializers that render at the speed of hand-written dicts.

An `OutputSerializer` is a plain DRF serializer: its declared fields are the one definition of a
response shape. drf-spectacular documents it from those fields, and DRF's own
`Serializer.to_representation` could render it. Rendering goes through code compiled once per
class from the same fields instead (generated Python, the way `dataclasses` builds `__init__`):
one dict display per object, no per-field method dispatch, no deep copy of fields per request.
tests/catalog/test_rendering.py holds the compiled path equal to DRF's on real rows, and the
Schemathesis run validates every response against the generated schema.

What the compiler knows: integer, float, boolean, char, choice, UTC date-time, list and dict
fields, nested output serializers (`many=True` too) and `SerializerMethodField`s whose methods
read nothing of `self` but `self.context`. Any other field renders through its own
`to_representation`. Sources are attributes of objects or keys of dicts (a separate compiled
function for each), never callables; `source="*"` passes the object itself.
"""

import datetime
import threading

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

UTC = datetime.UTC
DRF_REFERENCE = "drf_reference"  # a context key: render with DRF's Serializer.to_representation


def _iso(value) -> str:
    """DRF's ISO 8601 output of an aware datetime in UTC ('Z', not '+00:00')."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class UtcDateTimeField(serializers.DateTimeField):
    """A date-time rendered in UTC with a 'Z', whatever the active time zone."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class BlankAsNullCharField(serializers.CharField):
    """A text that is null when empty (the client expects strings or null, never '')."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return str(value) or None


def _blank_as_null(value):
    return str(value) or None


# Exact field classes whose to_representation the compiler replaces by a builtin (same result).
_CONVERTERS = {
    serializers.IntegerField: "int",
    serializers.FloatField: "float",
    serializers.BooleanField: "bool",
    serializers.CharField: "str",
    serializers.ChoiceField: "str",
    serializers.URLField: "str",
    UtcDateTimeField: "_iso",
    BlankAsNullCharField: "_blank_as_null",
}


class _Context:
    """What a SerializerMethodField's method sees as `self` on the compiled path."""

    __slots__ = ("context",)

    def __init__(self, context):
        self.context = context


class OutputSerializer(serializers.Serializer):
    """A read-only serializer rendered by compiled code (see the module docstring)."""

    _compiled_lock = threading.RLock()  # compiling a shape compiles its nested shapes

    @classmethod
    def render(cls, instance, context: dict | None = None) -> dict:
        return cls._renderer(type(instance) is dict)(instance, _Context(context or {}))

    @classmethod
    def render_many(cls, instances, context: dict | None = None) -> list[dict]:
        holder = _Context(context or {})
        plain, mapping = cls._renderer(False), cls._renderer(True)
        return [(mapping if type(item) is dict else plain)(item, holder) for item in instances]

    def to_representation(self, instance):
        if self.context.get(DRF_REFERENCE):
            # DRF's own rendering of the same fields, nested shapes included: the reference the
            # compiled code is tested against.
            return serializers.Serializer.to_representation(self, instance)
        return type(self)._renderer(type(instance) is dict)(instance, self)

    @classmethod
    def _renderer(cls, mapping: bool):
        name = "_compiled_mapping" if mapping else "_compiled_object"
        found = cls.__dict__.get(name)
        if found is None:
            with OutputSerializer._compiled_lock:
                found = cls.__dict__.get(name)
                if found is None:
                    found = _compile(cls, mapping=mapping)
                    setattr(cls, name, found)
        return found


def _getter(field, mapping: bool, var: str) -> str:
    if field.source == "*":
        return var
    expression = var
    for attr in field.source_attrs:
        expression = f"{expression}[{attr!r}]" if mapping else f"{expression}.{attr}"
    return expression


def _value_code(field, namespace: dict, index: int) -> str:
    """An expression turning the non-None value `v` into its rendered form."""
    if isinstance(field, serializers.ListSerializer):
        child = field.child
        if isinstance(child, OutputSerializer):
            namespace[f"_o{index}"], namespace[f"_d{index}"] = type(child)._renderer(False), type(child)._renderer(True)
            return f"[(_d{index} if type(x) is dict else _o{index})(x, c) for x in v]"
        namespace[f"_t{index}"] = field.to_representation
        return f"_t{index}(v)"
    if isinstance(field, OutputSerializer):
        namespace[f"_o{index}"], namespace[f"_d{index}"] = type(field)._renderer(False), type(field)._renderer(True)
        return f"(_d{index} if type(v) is dict else _o{index})(v, c)"
    if isinstance(field, serializers.ListField):
        item = _item_code(field.child, namespace, f"{index}i")
        return f"[None if x is None else {item} for x in v]"
    if isinstance(field, serializers.DictField):
        item = _item_code(field.child, namespace, f"{index}i")
        return f"{{str(k): None if x is None else {item} for k, x in v.items()}}"
    converter = _CONVERTERS.get(type(field))
    if converter is not None:
        return f"{converter}(v)"
    namespace[f"_t{index}"] = field.to_representation
    return f"_t{index}(v)"


def _item_code(child, namespace: dict, index: str) -> str:
    if isinstance(child, serializers.Serializer | serializers.ListField | serializers.DictField):
        raise TypeError(f"{child!r}: nested containers in list or dict fields are not compiled")
    converter = _CONVERTERS.get(type(child))
    if converter is not None:
        return f"{converter}(x)"
    if type(child).__name__ == "_UnvalidatedField":
        return "x"
    namespace[f"_t{index}"] = child.to_representation
    return f"_t{index}(x)"


def _compile(cls, *, mapping: bool):
    prototype = cls()
    namespace = {
        "_iso": _iso,
        "_blank_as_null": _blank_as_null,
        "_missing": (AttributeError, KeyError, ObjectDoesNotExist),
    }
    body, entries = [], []
    for index, field in enumerate(prototype._readable_fields):
        if isinstance(field, serializers.SerializerMethodField):
            namespace[f"_m{index}"] = getattr(cls, field.method_name)
            entries.append(f"{field.field_name!r}: _m{index}(c, o)")
            continue
        value = _value_code(field, namespace, index)
        getter = _getter(field, mapping, "o")
        if field.allow_null:
            # A missing related row (or key) renders null, as DRF renders a null source.
            body += [f"    try: v{index} = {getter}", f"    except _missing: v{index} = None"]
            getter = f"v{index}"
        entries.append(f"{field.field_name!r}: (None if (v := {getter}) is None else {value})")
    source = "def render(o, c):\n" + "\n".join(body) + "\n    return {" + ", ".join(entries) + "}\n"
    exec(compile(source, f"<OutputSerializer {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    render = namespace["render"]
    render.source = source
    return render
