"""GCS JSON-API emulator for the airkube e2e tests: gcp-storage-emulator (PyPI) with GCS-faithful 404 bodies.

Why a wrapper: Airflow's google provider (22.8, ``GCSRemoteLogIO.write``) first downloads the existing log object
and only treats the failure as "no log yet" when the error text contains ``No such object`` (what real GCS
answers). gcp-storage-emulator (and fake-gcs-server) answer a missing object with an empty / "Not Found" body,
so the provider would refuse to upload every first log. This wrapper fills empty 404 bodies with the JSON error
real GCS returns; everything else is the upstream emulator unchanged.

    python gcs_emulator.py [--host 0.0.0.0] [--port 4443] [--bucket NAME ...]

Clients use ``STORAGE_EMULATOR_HOST=http://<host>:<port>`` and anonymous credentials. Data is in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from gcp_storage_emulator import server as gcs_server
from gcp_storage_emulator.handlers.buckets import create_bucket

OBJECT_PATH = re.compile(r"^(?:/download)?(?:/storage/v1)?/b/(?P<bucket>[-.\w]+)/o/(?P<object>.+?)(?:/acl)?$")
BUCKET_PATH = re.compile(r"^(?:/storage/v1)?/b/(?P<bucket>[-.\w]+)(?:/o)?$")


def not_found_body(path: str) -> dict:
    """The error document GCS sends for a missing object or bucket (message text is what clients match on)."""
    path = urlsplit(path).path
    m = OBJECT_PATH.match(path)
    if m:
        message = f"No such object: {m['bucket']}/{unquote(m['object'])}"
    elif (b := BUCKET_PATH.match(path)) is not None:
        message = f"The specified bucket does not exist. ({b['bucket']})"
    else:
        message = "Not Found"
    return {"error": {"code": 404, "message": message,
                      "errors": [{"message": message, "domain": "global", "reason": "notFound"}]}}


_original_close = gcs_server.Response.close


def _close(self: gcs_server.Response) -> None:
    if self.status == HTTPStatus.NOT_FOUND and not self._content:
        self.json(not_found_body(self._handler.path))
    _original_close(self)


gcs_server.Response.close = _close  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=4443)
    parser.add_argument("--bucket", action="append", default=[], help="bucket to create at start (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    srv = gcs_server.create_server(args.host, args.port, in_memory=True)
    for name in args.bucket:
        create_bucket(name, srv._storage)
    signal.signal(signal.SIGTERM, lambda *_: (srv.stop(), sys.exit(0)))
    print(f"gcs emulator listening on {args.host}:{args.port} (buckets: {', '.join(args.bucket) or 'none'})",
          flush=True)
    srv.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
