"""The reference views, on Django's own database connection (the driver octotp-django uses), and the
peer: django-otp's email device behind two JSON views, written the way its documentation shows."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_email.models import EmailDevice

from ..reference import HELLO_BODY, REFERENCE_TABLE, make_hash, new_row

_hash_code = make_hash()
_INSERT = f"INSERT INTO {REFERENCE_TABLE} (id, recipient, code_hash, created_at) VALUES (%s, %s, %s, %s)"


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(HELLO_BODY, content_type="application/json")


@csrf_exempt
def reference_create(request: HttpRequest) -> HttpResponse:
    row, answer = new_row(request.body, _hash_code)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [row["id"], row["recipient"], row["code_hash"], row["created_at"]])
    return HttpResponse(answer, status=201, content_type="application/json")


PeerView = Callable[[HttpRequest, EmailDevice, dict[str, Any]], HttpResponse]


def _peer_view(view: PeerView) -> Callable[[HttpRequest], HttpResponse]:
    """A JSON POST view given the device of the body's ``user`` (404 when that user has none)."""

    @csrf_exempt
    @require_POST
    @functools.wraps(view)
    def answer(request: HttpRequest) -> HttpResponse:
        data = json.loads(request.body)
        device = EmailDevice.objects.select_related("user").filter(user__username=data["user"]).first()
        if device is None:
            return JsonResponse({"status": "no_device"}, status=404)
        return view(request, device, data)

    return answer


@_peer_view
def peer_create(request: HttpRequest, device: EmailDevice, data: dict[str, Any]) -> HttpResponse:
    """``POST /peer/create {"user": ...}``: that user's email device generates and "sends" a token."""
    if not device.generate_is_allowed()[0]:
        return JsonResponse({"status": "cooldown"}, status=429)
    message = device.generate_challenge()
    return JsonResponse({"id": device.pk, "message": str(message)}, status=201)


@_peer_view
def peer_validate(request: HttpRequest, device: EmailDevice, data: dict[str, Any]) -> HttpResponse:
    """``POST /peer/validate {"user": ..., "code": ...}``: ``device.verify_token(code)``."""
    approved = device.verify_token(str(data["code"]))
    return JsonResponse({"status": "approved" if approved else "incorrect"})
