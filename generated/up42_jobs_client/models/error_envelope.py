from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_detail import ErrorDetail
    from ..models.no_error import NoError


T = TypeVar("T", bound="ErrorEnvelope")


@_attrs_define
class ErrorEnvelope:
    """The envelope of a failed call."""

    error: ErrorDetail | NoError | None | str
    """ `null` on success; otherwise an object with `code` and `message`, or a
    plain string. An empty object (`{}`) has been seen beside real data and
    means no error. A `200` whose `data` is `null` and whose `error` is set
    is a failure carrying the service's words.
     """
    data: Any | Unset = UNSET
    """ Usually `null` or an empty object. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_detail import ErrorDetail
        from ..models.no_error import NoError

        error: dict[str, Any] | None | str
        if isinstance(self.error, ErrorDetail) or isinstance(self.error, NoError):
            error = self.error.to_dict()
        else:
            error = self.error

        data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
            }
        )
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_detail import ErrorDetail
        from ..models.no_error import NoError

        d = dict(src_dict)

        def _parse_error(data: object) -> ErrorDetail | NoError | None | str:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_envelope_error_type_0 = ErrorDetail.from_dict(data)

                return componentsschemas_envelope_error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_envelope_error_type_2 = NoError.from_dict(data)

                return componentsschemas_envelope_error_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ErrorDetail | NoError | None | str, data)

        error = _parse_error(d.pop("error"))

        data = d.pop("data", UNSET)

        error_envelope = cls(
            error=error,
            data=data,
        )

        error_envelope.additional_properties = d
        return error_envelope

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
