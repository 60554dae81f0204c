from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.geometry_collection_type import (
    GeometryCollectionType,
    check_geometry_collection_type,
)

if TYPE_CHECKING:
    from ..models.line_string import LineString
    from ..models.multi_line_string import MultiLineString
    from ..models.multi_point import MultiPoint
    from ..models.multi_polygon import MultiPolygon
    from ..models.point import Point
    from ..models.polygon import Polygon


T = TypeVar("T", bound="GeometryCollection")


@_attrs_define
class GeometryCollection:
    type_: GeometryCollectionType
    geometries: list[
        LineString | MultiLineString | MultiPoint | MultiPolygon | Point | Polygon
    ]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.line_string import LineString
        from ..models.multi_line_string import MultiLineString
        from ..models.multi_point import MultiPoint
        from ..models.point import Point
        from ..models.polygon import Polygon

        type_: str = self.type_

        geometries = []
        for geometries_item_data in self.geometries:
            geometries_item: dict[str, Any]
            if (
                isinstance(geometries_item_data, Point)
                or isinstance(geometries_item_data, MultiPoint)
                or isinstance(geometries_item_data, LineString)
                or isinstance(geometries_item_data, MultiLineString)
                or isinstance(geometries_item_data, Polygon)
            ):
                geometries_item = geometries_item_data.to_dict()
            else:
                geometries_item = geometries_item_data.to_dict()

            geometries.append(geometries_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "geometries": geometries,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.line_string import LineString
        from ..models.multi_line_string import MultiLineString
        from ..models.multi_point import MultiPoint
        from ..models.multi_polygon import MultiPolygon
        from ..models.point import Point
        from ..models.polygon import Polygon

        d = dict(src_dict)
        type_ = check_geometry_collection_type(d.pop("type"))

        geometries = []
        _geometries = d.pop("geometries")
        for geometries_item_data in _geometries:

            def _parse_geometries_item(
                data: object,
            ) -> (
                LineString
                | MultiLineString
                | MultiPoint
                | MultiPolygon
                | Point
                | Polygon
            ):
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_simple_geometry_type_0 = Point.from_dict(data)

                    return componentsschemas_simple_geometry_type_0
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_simple_geometry_type_1 = MultiPoint.from_dict(
                        data
                    )

                    return componentsschemas_simple_geometry_type_1
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_simple_geometry_type_2 = LineString.from_dict(
                        data
                    )

                    return componentsschemas_simple_geometry_type_2
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_simple_geometry_type_3 = (
                        MultiLineString.from_dict(data)
                    )

                    return componentsschemas_simple_geometry_type_3
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                try:
                    if not isinstance(data, dict):
                        raise TypeError()
                    componentsschemas_simple_geometry_type_4 = Polygon.from_dict(data)

                    return componentsschemas_simple_geometry_type_4
                except (TypeError, ValueError, AttributeError, KeyError):
                    pass
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_simple_geometry_type_5 = MultiPolygon.from_dict(data)

                return componentsschemas_simple_geometry_type_5

            geometries_item = _parse_geometries_item(geometries_item_data)

            geometries.append(geometries_item)

        geometry_collection = cls(
            type_=type_,
            geometries=geometries,
        )

        geometry_collection.additional_properties = d
        return geometry_collection

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
