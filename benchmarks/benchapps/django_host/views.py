"""The reference views, on Django's own database connection (the driver octotp-django uses), and the
peer: django-otp's email device behind two JSON views, written the way its documentation shows."""

from __future__ import annotations

import json

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


def _device(request: HttpRequest) -> tuple[EmailDevice | None, dict[str, str]]:
    data = json.loads(request.body)
    device = EmailDevice.objects.select_related("user").filter(user__username=data["user"]).first()
    return device, data


@csrf_exempt
@require_POST
def peer_create(request: HttpRequest) -> HttpResponse:
    """``POST /peer/create {"user": ...}``: that user's email device generates and "sends" a token."""
    device, _ = _device(request)
    if device is None:
        return JsonResponse({"status": "no_device"}, status=404)
    if not device.generate_is_allowed()[0]:
        return JsonResponse({"status": "cooldown"}, status=429)
    message = device.generate_challenge()
    return JsonResponse({"id": device.pk, "message": str(message)}, status=201)


@csrf_exempt
@require_POST
def peer_validate(request: HttpRequest) -> HttpResponse:
    """``POST /peer/validate {"user": ..., "code": ...}``: ``device.verify_token(code)``."""
    device, data = _device(request)
    if device is None:
        return JsonResponse({"status": "no_device"}, status=404)
    approved = device.verify_token(str(data["code"]))
    return JsonResponse({"status": "approved" if approved else "incorrect"})
