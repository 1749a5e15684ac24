"""Seed users with django-otp email devices in bulk for the peer row:
``python -m benchapps.django_host.peer_seed POOL THREADS PER_THREAD [--token CODE]``.

Usernames (and the devices' addresses) are the load scripts' recipients, ``<pool><thread>-<n>@bench.example``.
With ``--token`` every device holds that token, valid for two hours, as a just-sent challenge would.
"""

from __future__ import annotations

import argparse
import datetime as dt

import django

BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pool")
    parser.add_argument("threads", type=int)
    parser.add_argument("per_thread", type=int)
    parser.add_argument("--token")
    args = parser.parse_args()
    django.setup()
    from django.contrib.auth.models import User
    from django.utils import timezone
    from django_otp.plugins.otp_email.models import EmailDevice

    names = [
        f"{args.pool}{t}-{n}@bench.example" for t in range(1, args.threads + 1) for n in range(1, args.per_thread + 1)
    ]
    valid_until = timezone.now() + dt.timedelta(hours=2)
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        users = User.objects.bulk_create([User(username=u, email=u, password="!") for u in chunk])
        if any(u.pk is None for u in users):  # a backend that cannot return ids from a bulk insert
            users = list(User.objects.filter(username__in=chunk))
        EmailDevice.objects.bulk_create(
            [
                EmailDevice(
                    user=u,
                    name="email",
                    confirmed=True,
                    email=u.email,
                    token=args.token,
                    valid_until=valid_until if args.token else timezone.now(),
                )
                for u in users
            ]
        )


if __name__ == "__main__":
    main()
