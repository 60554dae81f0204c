from typing import Literal

FeatureType = Literal["Feature"]

FEATURE_TYPE_VALUES: set[FeatureType] = {
    "Feature",
}


def check_feature_type(value: str) -> FeatureType:
    if value in FEATURE_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {FEATURE_TYPE_VALUES!r}"
    )
