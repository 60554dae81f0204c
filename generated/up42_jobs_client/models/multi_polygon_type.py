from typing import Literal

MultiPolygonType = Literal["MultiPolygon"]

MULTI_POLYGON_TYPE_VALUES: set[MultiPolygonType] = {
    "MultiPolygon",
}


def check_multi_polygon_type(value: str) -> MultiPolygonType:
    if value in MULTI_POLYGON_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {MULTI_POLYGON_TYPE_VALUES!r}"
    )
