from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.feature_type import FeatureType, check_feature_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.feature_properties_type_0 import FeaturePropertiesType0
    from ..models.geometry_collection import GeometryCollection
    from ..models.line_string import LineString
    from ..models.multi_line_string import MultiLineString
    from ..models.multi_point import MultiPoint
    from ..models.multi_polygon import MultiPolygon
    from ..models.point import Point
    from ..models.polygon import Polygon


T = TypeVar("T", bound="Feature")


@_attrs_define
class Feature:
    type_: FeatureType
    geometry: (
        GeometryCollection
        | LineString
        | MultiLineString
        | MultiPoint
        | MultiPolygon
        | None
        | Point
        | Polygon
    )
    properties: FeaturePropertiesType0 | None
    """ Free-form (`uid`, `up42.data_path`, acquisition metadata, ...). """
    id: int | str | Unset = UNSET
    bbox: list[float] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.feature_properties_type_0 import FeaturePropertiesType0
        from ..models.geometry_collection import GeometryCollection
        from ..models.line_string import LineString
        from ..models.multi_line_string import MultiLineString
        from ..models.multi_point import MultiPoint
        from ..models.multi_polygon import MultiPolygon
        from ..models.point import Point
        from ..models.polygon import Polygon

        type_: str = self.type_

        geometry: dict[str, Any] | None
        if (
            isinstance(self.geometry, Point)
            or isinstance(self.geometry, MultiPoint)
            or isinstance(self.geometry, LineString)
            or isinstance(self.geometry, MultiLineString)
            or isinstance(self.geometry, Polygon)
            or isinstance(self.geometry, MultiPolygon)
            or isinstance(self.geometry, GeometryCollection)
        ):
            geometry = self.geometry.to_dict()
        else:
            geometry = self.geometry

        properties: dict[str, Any] | None
        if isinstance(self.properties, FeaturePropertiesType0):
            properties = self.properties.to_dict()
        else:
            properties = self.properties

        id: int | str | Unset
        if isinstance(self.id, Unset):
            id = UNSET
        else:
            id = self.id

        bbox: list[float] | Unset = UNSET
        if not isinstance(self.bbox, Unset):
            bbox = self.bbox

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "geometry": geometry,
                "properties": properties,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if bbox is not UNSET:
            field_dict["bbox"] = bbox

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.feature_properties_type_0 import FeaturePropertiesType0
        from ..models.geometry_collection import GeometryCollection
        from ..models.line_string import LineString
        from ..models.multi_line_string import MultiLineString
        from ..models.multi_point import MultiPoint
        from ..models.multi_polygon import MultiPolygon
        from ..models.point import Point
        from ..models.polygon import Polygon

        d = dict(src_dict)
        type_ = check_feature_type(d.pop("type"))

        def _parse_geometry(
            data: object,
        ) -> (
            GeometryCollection
            | LineString
            | MultiLineString
            | MultiPoint
            | MultiPolygon
            | None
            | Point
            | Polygon
        ):
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_0 = Point.from_dict(data)

                return componentsschemas_geometry_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_1 = MultiPoint.from_dict(data)

                return componentsschemas_geometry_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_2 = LineString.from_dict(data)

                return componentsschemas_geometry_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_3 = MultiLineString.from_dict(data)

                return componentsschemas_geometry_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_4 = Polygon.from_dict(data)

                return componentsschemas_geometry_type_4
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_5 = MultiPolygon.from_dict(data)

                return componentsschemas_geometry_type_5
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_geometry_type_6 = GeometryCollection.from_dict(data)

                return componentsschemas_geometry_type_6
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                GeometryCollection
                | LineString
                | MultiLineString
                | MultiPoint
                | MultiPolygon
                | None
                | Point
                | Polygon,
                data,
            )

        geometry = _parse_geometry(d.pop("geometry"))

        def _parse_properties(data: object) -> FeaturePropertiesType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                properties_type_0 = FeaturePropertiesType0.from_dict(data)

                return properties_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FeaturePropertiesType0 | None, data)

        properties = _parse_properties(d.pop("properties"))

        def _parse_id(data: object) -> int | str | Unset:
            if isinstance(data, Unset):
                return data
            return cast(int | str | Unset, data)

        id = _parse_id(d.pop("id", UNSET))

        bbox = cast(list[float], d.pop("bbox", UNSET))

        feature = cls(
            type_=type_,
            geometry=geometry,
            properties=properties,
            id=id,
            bbox=bbox,
        )

        feature.additional_properties = d
        return feature

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
