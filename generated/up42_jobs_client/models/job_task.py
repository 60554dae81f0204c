from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_job_status import KnownJobStatus, check_known_job_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.block import Block


T = TypeVar("T", bound="JobTask")


@_attrs_define
class JobTask:
    """One task of a job (a block of the workflow)."""

    id: UUID
    name: str
    """ The block name and its position, e.g. `esa-s2-l2a-gtiff-visual:1`. """
    status: KnownJobStatus | str
    """ A job's or task's status. The known values are listed in
    `KnownJobStatus`; the service may add more, so any other string is
    accepted too (an open enum) and clients must not fail on it.
     """
    started_at: datetime.datetime | None | Unset = UNSET
    finished_at: datetime.datetime | None | Unset = UNSET
    block: Block | Unset = UNSET
    block_version: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        name = self.name

        status: str
        if isinstance(self.status, str):
            status = self.status
        else:
            status = self.status

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: None | str | Unset
        if isinstance(self.finished_at, Unset):
            finished_at = UNSET
        elif isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        block: dict[str, Any] | Unset = UNSET
        if not isinstance(self.block, Unset):
            block = self.block.to_dict()

        block_version: None | str | Unset
        if isinstance(self.block_version, Unset):
            block_version = UNSET
        else:
            block_version = self.block_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "status": status,
            }
        )
        if started_at is not UNSET:
            field_dict["startedAt"] = started_at
        if finished_at is not UNSET:
            field_dict["finishedAt"] = finished_at
        if block is not UNSET:
            field_dict["block"] = block
        if block_version is not UNSET:
            field_dict["blockVersion"] = block_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.block import Block

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        name = d.pop("name")

        def _parse_status(data: object) -> KnownJobStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_job_status_type_0 = check_known_job_status(data)

                return componentsschemas_job_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownJobStatus | str, data)

        status = _parse_status(d.pop("status"))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("startedAt", UNSET))

        def _parse_finished_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        finished_at = _parse_finished_at(d.pop("finishedAt", UNSET))

        _block = d.pop("block", UNSET)
        block: Block | Unset
        if isinstance(_block, Unset):
            block = UNSET
        else:
            block = Block.from_dict(_block)

        def _parse_block_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        block_version = _parse_block_version(d.pop("blockVersion", UNSET))

        job_task = cls(
            id=id,
            name=name,
            status=status,
            started_at=started_at,
            finished_at=finished_at,
            block=block,
            block_version=block_version,
        )

        job_task.additional_properties = d
        return job_task

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
