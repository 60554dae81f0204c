from typing import Literal

MultiLineStringType = Literal["MultiLineString"]

MULTI_LINE_STRING_TYPE_VALUES: set[MultiLineStringType] = {
    "MultiLineString",
}


def check_multi_line_string_type(value: str) -> MultiLineStringType:
    if value in MULTI_LINE_STRING_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {MULTI_LINE_STRING_TYPE_VALUES!r}"
    )
