from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_detail import ErrorDetail
    from ..models.job import Job
    from ..models.no_error import NoError


T = TypeVar("T", bound="JobListEnvelope")


@_attrs_define
class JobListEnvelope:
    data: list[Job]
    error: ErrorDetail | NoError | None | str | Unset = UNSET
    """ `null` on success; otherwise an object with `code` and `message`, or a
    plain string. An empty object (`{}`) has been seen beside real data and
    means no error. A `200` whose `data` is `null` and whose `error` is set
    is a failure carrying the service's words.
     """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_detail import ErrorDetail
        from ..models.no_error import NoError

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        error: dict[str, Any] | None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, ErrorDetail) or isinstance(self.error, NoError):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.error_detail import ErrorDetail
        from ..models.job import Job
        from ..models.no_error import NoError

        d = dict(src_dict)
        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = Job.from_dict(data_item_data)

            data.append(data_item)

        def _parse_error(data: object) -> ErrorDetail | NoError | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
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
            return cast(ErrorDetail | NoError | None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        job_list_envelope = cls(
            data=data,
            error=error,
        )

        job_list_envelope.additional_properties = d
        return job_list_envelope

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
