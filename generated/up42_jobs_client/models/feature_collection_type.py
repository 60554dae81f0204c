from typing import Literal

FeatureCollectionType = Literal["FeatureCollection"]

FEATURE_COLLECTION_TYPE_VALUES: set[FeatureCollectionType] = {
    "FeatureCollection",
}


def check_feature_collection_type(value: str) -> FeatureCollectionType:
    if value in FEATURE_COLLECTION_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {FEATURE_COLLECTION_TYPE_VALUES!r}"
    )
