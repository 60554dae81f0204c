"""One classic-SDK client run, under the classic SDK's own interpreter (see bench_classic).

Usage: python classic_child.py MODE BASE_URL PROJECT_ID KEY JOB_ID SCRATCH [CALLS]
Prints ``{"seconds": ...}`` as its last line: the time of the operation alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(
    mode: str, base_url: str, project_id: str, key: str, job_id: str, scratch: str, *extra: str
) -> None:
    start = time.perf_counter()
    if mode == "import":
        import up42  # noqa: F401 - the import is the measurement

        print(json.dumps({"seconds": time.perf_counter() - start}))
        return
    # The classic token flow refuses plain http unless told otherwise; the sandbox is on loopback.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    from up42.auth import Auth
    from up42.job import Job

    Auth._endpoint = lambda self: base_url  # type: ignore[method-assign]
    auth = Auth(project_id=project_id, project_api_key=key, authenticate=False)
    auth._set_credentials({"project_id": project_id, "project_api_key": key})
    auth._get_token()
    job = Job(auth, project_id, job_id)
    start = time.perf_counter()
    if mode == "download-unpack":
        job.download_results(output_directory=str(Path(scratch) / "unpacked"), unpacking=True)
    elif mode == "download":
        job.download_results(output_directory=str(Path(scratch) / "archive"), unpacking=False)
    elif mode == "info":
        for _ in range(int(extra[0])):
            job.info  # noqa: B018 - the call is the measurement
    elif mode == "logs":
        job.get_logs(as_print=False, as_return=True)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main(*sys.argv[1:])
