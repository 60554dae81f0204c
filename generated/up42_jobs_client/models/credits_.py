from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Credits")


@_attrs_define
class Credits:
    credits_used: int
    project_id: str | Unset = UNSET
    project_display_id: str | Unset = UNSET
    job_id: str | Unset = UNSET
    job_display_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        credits_used = self.credits_used

        project_id = self.project_id

        project_display_id = self.project_display_id

        job_id = self.job_id

        job_display_id = self.job_display_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "creditsUsed": credits_used,
            }
        )
        if project_id is not UNSET:
            field_dict["projectId"] = project_id
        if project_display_id is not UNSET:
            field_dict["projectDisplayId"] = project_display_id
        if job_id is not UNSET:
            field_dict["jobId"] = job_id
        if job_display_id is not UNSET:
            field_dict["jobDisplayId"] = job_display_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        credits_used = d.pop("creditsUsed")

        project_id = d.pop("projectId", UNSET)

        project_display_id = d.pop("projectDisplayId", UNSET)

        job_id = d.pop("jobId", UNSET)

        job_display_id = d.pop("jobDisplayId", UNSET)

        credits_ = cls(
            credits_used=credits_used,
            project_id=project_id,
            project_display_id=project_display_id,
            job_id=job_id,
            job_display_id=job_display_id,
        )

        credits_.additional_properties = d
        return credits_

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
