"""``octotp-client``: the client from a shell, for scripts and smoke tests.

::

    export OCTOTP_BASE_URL=http://127.0.0.1:8000 OCTOTP_API_KEY=octotp_... OCTOTP_PROJECT_ID=...
    octotp-client create --email user@example.com          # {"id": ..., "code": "123456", ...}
    octotp-client validate --email user@example.com --code 123456
    octotp-client get TOKEN_ID                               # {"id": ..., "status": "pending", ...}
    octotp-client cancel TOKEN_ID
    octotp-client health [--ready]

The answer is JSON on stdout (camelCase, as on the wire). Exit status: 0 success; 1 the code is
not valid (``"isValid": false``); 2 an error, with the problem as JSON on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, ENV_API_KEY, ENV_BASE_URL, ENV_PROJECT_ID
from .client import OctotpClient
from .errors import APIError, OctotpError
from .version import __version__

EXIT_OK, EXIT_INVALID, EXIT_ERROR = 0, 1, 2


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    # Accepted before or after the command; after it they only apply when given (SUPPRESS).
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection")
    group.add_argument("--base-url", default=default, help=f"the service's URL (default: ${ENV_BASE_URL})")
    group.add_argument(
        "--api-key", default=default, help=f"the project's API key (default: ${ENV_API_KEY}; prefer the variable)"
    )
    group.add_argument("--project-id", default=default, help=f"the project's id (default: ${ENV_PROJECT_ID})")
    group.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS if suppress else DEFAULT_TIMEOUT,
        help=f"seconds per attempt (default {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        default=argparse.SUPPRESS if suppress else DEFAULT_MAX_RETRIES,
        help=f"retries of safe-to-repeat failures (default {DEFAULT_MAX_RETRIES})",
    )


def _token_id(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty (the id printed by create)")
    return value


def _recipient(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the recipient's email address")
    who.add_argument("--phone", help="the recipient's phone number (E.164, e.g. +447700900123)")
    parser.add_argument("--purpose", help="what the code is for (binds it to that action)")


def build_parser() -> argparse.ArgumentParser:
    """The ``octotp-client`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="octotp-client",
        description="Call an octotp service. JSON out; exit 1 when a code is not valid, 2 on errors.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _connection_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="issue a code for a recipient")
    _recipient(create)
    create.add_argument("--expires-in", type=int, metavar="SECONDS", help="lifetime (server default 300)")
    create.add_argument("--send", action="store_true", default=None, help="let octotp deliver the code")
    create.add_argument("--channel", choices=["email", "sms"], help="delivery channel")
    create.add_argument("--locale", help="language of the delivered message, e.g. en or fr-FR")
    _connection_options(create, suppress=True)

    validate = commands.add_parser("validate", help="check a code (exit 1 when it is not valid)")
    _recipient(validate)
    validate.add_argument("--code", required=True, help="the code the recipient typed")
    _connection_options(validate, suppress=True)

    get = commands.add_parser("get", help="show a token's state (never its code)")
    get.add_argument("token_id", metavar="ID", type=_token_id, help="the token id printed by create")
    _connection_options(get, suppress=True)

    cancel = commands.add_parser("cancel", help="cancel an open token")
    cancel.add_argument("token_id", metavar="ID", type=_token_id, help="the token id printed by create")
    _connection_options(cancel, suppress=True)

    health = commands.add_parser("health", help="check that the service is up (--ready: and its storage)")
    health.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    _connection_options(health, suppress=True)
    return parser


def _run(client: OctotpClient, args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    if args.command == "create":
        token = client.create_token(
            email=args.email,
            phone=args.phone,
            expires_in=args.expires_in,
            purpose=args.purpose,
            send=args.send,
            channel=args.channel,
            locale=args.locale,
        )
        created: dict[str, Any] = {"id": token.id, "code": token.code, "expiresAt": _timestamp(token.expires_at)}
        created.update(channel=token.channel, sent=token.sent)
        return created, EXIT_OK
    if args.command == "validate":
        result = client.validate_token(email=args.email, phone=args.phone, code=args.code, purpose=args.purpose)
        return {"isValid": result.is_valid, "status": result.status}, EXIT_OK if result.is_valid else EXIT_INVALID
    if args.command == "get":
        state = client.get_token(args.token_id)
        return {
            "id": state.id,
            "status": state.status,
            "channel": state.channel,
            "recipientHint": state.recipient_hint,
            "purpose": state.purpose,
            "createdAt": _timestamp(state.created_at),
            "expiresAt": _timestamp(state.expires_at),
            "closedAt": _timestamp(state.closed_at) if state.closed_at else None,
            "attempts": state.attempts,
            "maxAttempts": state.max_attempts,
        }, EXIT_OK
    if args.command == "cancel":
        client.cancel_token(args.token_id)
        return {"id": args.token_id, "cancelled": True}, EXIT_OK
    health = client.ready() if args.ready else client.health()
    return {"status": health.status}, EXIT_OK


def _timestamp(value: dt.datetime) -> str:
    """ISO-8601 UTC with ``Z``, as the API writes it."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _problem(error: OctotpError) -> dict[str, Any]:
    if isinstance(error, APIError) and error.body and error.code is not None:  # octotp's own problem
        return error.body
    problem: dict[str, Any] = {"error": type(error).__name__, "detail": error.message}
    if error.status is not None:
        problem.update(status=error.status, code=error.code, requestId=error.request_id)
    return problem


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 code not valid, 2 error)."""
    args = build_parser().parse_args(argv)
    try:
        with OctotpClient(
            args.api_key,
            args.base_url,
            project_id=args.project_id,
            timeout=args.timeout,
            max_retries=args.max_retries,
        ) as client:
            output, status = _run(client, args)
    except OctotpError as error:
        print(json.dumps(_problem(error), indent=2), file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(output, indent=2))
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
