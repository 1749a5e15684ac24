"""Run a benchmark app under uvicorn with several workers: ``python -m benchapps.serve_uvicorn``.

``--app standalone`` runs it the way ``octotp serve`` does (the same ``uvicorn.run`` options and log
configuration); ``--app host`` runs the FastAPI host app with uvicorn's defaults (access log off).

``--socket uvicorn`` lets uvicorn bind the listening socket, as ``uvicorn.run(workers=N)`` does (a
plain ``uvicorn --workers N``; ``octotp serve`` binds its own). On Linux that socket has
``proto == 0``, so asyncio never sets TCP_NODELAY on accepted connections, and every keep-alive
response after the first waits ~40 ms for the client's delayed ACK (uvicorn issue 3149).
``--socket tcp`` (the benchmark's default) binds the same socket with ``IPPROTO_TCP`` and hands it
to uvicorn's own multiprocess supervisor, as ``octotp serve`` does
(``octotp_fastapi.serve.listening_socket``).

This module is re-imported by every spawned worker before it can answer uvicorn's 5-second health
check, so it imports octotp only where needed: on a busy machine a heavy import here gets every
worker killed and restarted in a loop.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

APPS = {"standalone": "benchapps.fastapi_host:standalone", "host": "benchapps.fastapi_host:host"}


def options(app: str) -> dict[str, Any]:
    if app == "standalone":  # exactly what octotp_fastapi.serve passes to uvicorn.run
        from octotp_core.logs import logging_config

        return {
            "log_config": logging_config("text"),  # octotp serve's, for the default log_format
            "access_log": False,
            "timeout_graceful_shutdown": 10,
            "server_header": False,
            "proxy_headers": False,
        }
    return {"access_log": False}


def tcp_socket(config: uvicorn.Config) -> socket.socket:
    """uvicorn's listening socket, re-wrapped so that it (and every accepted socket) reports IPPROTO_TCP."""
    bound = config.bind_socket()
    sock = socket.socket(bound.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=bound.detach())
    sock.set_inheritable(True)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=sorted(APPS), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--socket", choices=["tcp", "uvicorn"], default="tcp")
    args = parser.parse_args()
    kwargs: dict[str, Any] = {"factory": True, "host": "127.0.0.1", "port": args.port, "workers": args.workers}
    kwargs.update(options(args.app))
    if args.socket == "uvicorn" or args.workers == 1:
        uvicorn.run(APPS[args.app], **kwargs)
        return
    config = uvicorn.Config(APPS[args.app], **kwargs)
    Multiprocess(config, sockets=[tcp_socket(config)]).run()


if __name__ == "__main__":
    main()
