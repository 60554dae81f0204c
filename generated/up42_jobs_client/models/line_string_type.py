from typing import Literal

LineStringType = Literal["LineString"]

LINE_STRING_TYPE_VALUES: set[LineStringType] = {
    "LineString",
}


def check_line_string_type(value: str) -> LineStringType:
    if value in LINE_STRING_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LINE_STRING_TYPE_VALUES!r}"
    )
