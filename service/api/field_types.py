"""The API's own marshmallow field types: NUL-free text, ISO dates and
timestamps kept as text, and comma-separated query lists."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate
from marshmallow import validate as validate_module

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain a NUL character.")


class Text(fields.String):
    """A string that never carries a NUL character (documented as a pattern)."""

    def __init__(self, *, validate=None, **kwargs):
        extra = [validate] if callable(validate) else list(validate or [])
        # A field with a pattern or a fixed set of values excludes NUL already
        # (and Swagger can document only one pattern).
        if not any(isinstance(v, (validate_module.Regexp, validate_module.OneOf)) for v in extra):
            extra.insert(0, NO_NUL)
        super().__init__(validate=extra, **kwargs)


class IsoDate(fields.Date):
    """A publication date; records keep it as its ISO 8601 text (2025-04-19)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) or value is None else value.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).isoformat()


class Timestamp(fields.String):
    """A full UTC timestamp kept as its ISO 8601 text."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"format": "date-time"}, **kwargs)


def comma_list(choices=None, max_items=20, **kwargs):
    """A comma-separated query parameter, validated item by item."""
    return CommaList(choices=choices, max_items=max_items, **kwargs)


class CommaList(fields.Field):
    def __init__(self, choices=None, max_items=20, hints=None, **kwargs):
        self.choices = tuple(choices) if choices else None
        self.max_items = max_items
        self.hints = hints or {}  # values that are no choice but a likely mistake: what to do instead
        metadata = {"type": "string", "description": kwargs.pop("description", "")}
        if self.choices:
            metadata["description"] += f" Comma-separated, any of: {', '.join(self.choices)}."
            one = "(?:" + "|".join(self.choices) + ")"
            metadata["pattern"] = f"^ *{one} *(?:, *{one} *)*$"
        else:  # what _deserialize accepts, exactly: no NUL, at most max_items pieces
            metadata["pattern"] = f"^[^\\x00,]*(?:,[^\\x00,]*){{0,{max_items - 1}}}$"
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        if "\x00" in value:
            raise ValidationError("Must not contain a NUL character.")
        pieces = value.split(",")
        if len(pieces) > self.max_items and not self.choices:
            raise ValidationError(f"At most {self.max_items} values.")
        items = [item.strip() for item in pieces if item.strip()]
        if not items and self.choices:
            raise ValidationError("Give at least one value.")
        if self.choices:
            unknown = [item for item in items if item not in self.choices]
            hinted = [self.hints[item] for item in unknown if item in self.hints]
            if hinted:
                raise ValidationError(hinted)
            if unknown:
                raise ValidationError(
                    f"Unknown value(s): {', '.join(unknown)}; choose from {', '.join(self.choices)}."
                )
        return list(dict.fromkeys(items))
