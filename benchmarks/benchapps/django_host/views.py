"""The reference views, on Django's own database connection (the driver octotp-django uses)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

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
