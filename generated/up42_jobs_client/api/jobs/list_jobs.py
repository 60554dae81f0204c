from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.job_list_envelope import JobListEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    project_id: UUID,
    *,
    page: int | Unset = 0,
    sort: str | Unset = "createdAt,desc",
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page"] = page

    params["sort"] = sort

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/projects/{project_id}/jobs".format(
            project_id=quote(str(project_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | JobListEnvelope | str | None:
    if response.status_code == 200:
        response_200 = JobListEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorEnvelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 502:
        response_502 = response.text
        return response_502

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = response.text
        return response_504

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorEnvelope | JobListEnvelope | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 0,
    sort: str | Unset = "createdAt,desc",
) -> Response[ErrorEnvelope | JobListEnvelope | str]:
    """List a project's jobs, a page at a time

     The project's jobs, sorted, one page per call. Pages start at 0; the
    answer carries no last-page flag, so an empty page means the end (the
    classic SDK read pages until one came back empty). The page size is the
    service's.

    Args:
        project_id (UUID):
        page (int | Unset):  Default: 0.
        sort (str | Unset):  Default: 'createdAt,desc'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | JobListEnvelope | str]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        page=page,
        sort=sort,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 0,
    sort: str | Unset = "createdAt,desc",
) -> ErrorEnvelope | JobListEnvelope | str | None:
    """List a project's jobs, a page at a time

     The project's jobs, sorted, one page per call. Pages start at 0; the
    answer carries no last-page flag, so an empty page means the end (the
    classic SDK read pages until one came back empty). The page size is the
    service's.

    Args:
        project_id (UUID):
        page (int | Unset):  Default: 0.
        sort (str | Unset):  Default: 'createdAt,desc'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | JobListEnvelope | str
    """

    return sync_detailed(
        project_id=project_id,
        client=client,
        page=page,
        sort=sort,
    ).parsed


async def asyncio_detailed(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 0,
    sort: str | Unset = "createdAt,desc",
) -> Response[ErrorEnvelope | JobListEnvelope | str]:
    """List a project's jobs, a page at a time

     The project's jobs, sorted, one page per call. Pages start at 0; the
    answer carries no last-page flag, so an empty page means the end (the
    classic SDK read pages until one came back empty). The page size is the
    service's.

    Args:
        project_id (UUID):
        page (int | Unset):  Default: 0.
        sort (str | Unset):  Default: 'createdAt,desc'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | JobListEnvelope | str]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        page=page,
        sort=sort,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    project_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 0,
    sort: str | Unset = "createdAt,desc",
) -> ErrorEnvelope | JobListEnvelope | str | None:
    """List a project's jobs, a page at a time

     The project's jobs, sorted, one page per call. Pages start at 0; the
    answer carries no last-page flag, so an empty page means the end (the
    classic SDK read pages until one came back empty). The page size is the
    service's.

    Args:
        project_id (UUID):
        page (int | Unset):  Default: 0.
        sort (str | Unset):  Default: 'createdAt,desc'.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | JobListEnvelope | str
    """

    return (
        await asyncio_detailed(
            project_id=project_id,
            client=client,
            page=page,
            sort=sort,
        )
    ).parsed
