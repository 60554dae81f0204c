from typing import Literal

PointType = Literal["Point"]

POINT_TYPE_VALUES: set[PointType] = {
    "Point",
}


def check_point_type(value: str) -> PointType:
    if value in POINT_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {POINT_TYPE_VALUES!r}"
    )
