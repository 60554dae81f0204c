from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.token_data import TokenData


T = TypeVar("T", bound="TokenResponse")


@_attrs_define
class TokenResponse:
    """An access token. `access_token` and `data.accessToken` carry the same value."""

    access_token: str
    token_type: str | Unset = UNSET
    """ Always `bearer` when present; some answers leave it out. """
    expires_in: int | Unset = UNSET
    """ Seconds the token lives. Some answers leave it out: clients then
    assume 300 seconds (five minutes), as the classic SDK did.
     """
    data: TokenData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        access_token = self.access_token

        token_type = self.token_type

        expires_in = self.expires_in

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "access_token": access_token,
            }
        )
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if expires_in is not UNSET:
            field_dict["expires_in"] = expires_in
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.token_data import TokenData

        d = dict(src_dict)
        access_token = d.pop("access_token")

        token_type = d.pop("token_type", UNSET)

        expires_in = d.pop("expires_in", UNSET)

        _data = d.pop("data", UNSET)
        data: TokenData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = TokenData.from_dict(_data)

        token_response = cls(
            access_token=access_token,
            token_type=token_type,
            expires_in=expires_in,
            data=data,
        )

        token_response.additional_properties = d
        return token_response

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
