from typing import Literal

GeometryCollectionType = Literal["GeometryCollection"]

GEOMETRY_COLLECTION_TYPE_VALUES: set[GeometryCollectionType] = {
    "GeometryCollection",
}


def check_geometry_collection_type(value: str) -> GeometryCollectionType:
    if value in GEOMETRY_COLLECTION_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {GEOMETRY_COLLECTION_TYPE_VALUES!r}"
    )
