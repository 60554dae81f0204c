from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_envelope import ErrorEnvelope
from ...models.quicklook_list_envelope import QuicklookListEnvelope
from ...types import Response


def _get_kwargs(
    project_id: UUID,
    job_id: UUID,
    task_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/projects/{project_id}/jobs/{job_id}/tasks/{task_id}/outputs/quicklooks/".format(
            project_id=quote(str(project_id), safe=""),
            job_id=quote(str(job_id), safe=""),
            task_id=quote(str(task_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | QuicklookListEnvelope | str | None:
    if response.status_code == 200:
        response_200 = QuicklookListEnvelope.from_dict(response.json())

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
) -> Response[ErrorEnvelope | QuicklookListEnvelope | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    project_id: UUID,
    job_id: UUID,
    task_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | QuicklookListEnvelope | str]:
    """List a task's quicklooks

     The file names of the task's quicklook images: `<uid>.png`, or
    `<uid>.jpg` for JPEG quicklooks (the service has sent both).

    Args:
        project_id (UUID):
        job_id (UUID):
        task_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | QuicklookListEnvelope | str]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        job_id=job_id,
        task_id=task_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    project_id: UUID,
    job_id: UUID,
    task_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | QuicklookListEnvelope | str | None:
    """List a task's quicklooks

     The file names of the task's quicklook images: `<uid>.png`, or
    `<uid>.jpg` for JPEG quicklooks (the service has sent both).

    Args:
        project_id (UUID):
        job_id (UUID):
        task_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | QuicklookListEnvelope | str
    """

    return sync_detailed(
        project_id=project_id,
        job_id=job_id,
        task_id=task_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    project_id: UUID,
    job_id: UUID,
    task_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | QuicklookListEnvelope | str]:
    """List a task's quicklooks

     The file names of the task's quicklook images: `<uid>.png`, or
    `<uid>.jpg` for JPEG quicklooks (the service has sent both).

    Args:
        project_id (UUID):
        job_id (UUID):
        task_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | QuicklookListEnvelope | str]
    """

    kwargs = _get_kwargs(
        project_id=project_id,
        job_id=job_id,
        task_id=task_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    project_id: UUID,
    job_id: UUID,
    task_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | QuicklookListEnvelope | str | None:
    """List a task's quicklooks

     The file names of the task's quicklook images: `<uid>.png`, or
    `<uid>.jpg` for JPEG quicklooks (the service has sent both).

    Args:
        project_id (UUID):
        job_id (UUID):
        task_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | QuicklookListEnvelope | str
    """

    return (
        await asyncio_detailed(
            project_id=project_id,
            job_id=job_id,
            task_id=task_id,
            client=client,
        )
    ).parsed
