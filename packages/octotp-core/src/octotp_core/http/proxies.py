"""The client's address (and scheme) behind reverse proxies, decided once for every adapter.

Adapters pass the socket peer as ``Request.client``; ``resolve_client`` replaces it with the
address per-address limits must key on. ``X-Forwarded-For`` is read only when the peer is one of
``Settings.trusted_proxies``, and then from the right: each proxy appends the address it saw, so
the right-most hop that is not itself a trusted proxy is the first one nobody could forge. A
header sent by anyone else is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

from .messages import Request

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A hop that is not an address is kept as sent (a trusted proxy put it there), but bounded: it
# becomes a rate-limit key.
_MAX_HOP_CHARS = 64


def parse_address(value: str) -> IPAddress | None:
    """An IP address from a peer or ``X-Forwarded-For`` hop (``1.2.3.4``, ``1.2.3.4:80``,
    ``[2001:db8::1]:443``); IPv4-mapped IPv6 (``::ffff:1.2.3.4``) as the IPv4 address. None if it is not one."""
    text = value.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: IPAddress | None, trusted: Sequence[IPNetwork]) -> bool:
    """True when ``address`` lies in one of the ``trusted`` networks."""
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]) -> str | None:
    """The client's address: the socket ``peer``, unless the peer is a trusted proxy, in which case
    the right-most ``X-Forwarded-For`` hop that is not a trusted proxy (every hop trusted: the
    left-most, the furthest one known). Addresses come back normalised (``::ffff:10.0.0.1`` →
    ``10.0.0.1``), so one client is one rate-limit key."""
    peer_address = parse_address(peer) if peer else None
    own = str(peer_address) if peer_address is not None else peer
    if not forwarded_for or not is_trusted(peer_address, trusted):
        return own
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if not hops:
        return own
    for hop in reversed(hops):
        address = parse_address(hop)
        if not is_trusted(address, trusted):
            return str(address) if address is not None else hop[:_MAX_HOP_CHARS]
    first = parse_address(hops[0])
    return str(first) if first is not None else hops[0][:_MAX_HOP_CHARS]


def forwarded_scheme(request: Request, trusted: Sequence[IPNetwork]) -> str:
    """``X-Forwarded-Proto`` (its right-most value, set by the nearest proxy) when the peer is a
    trusted proxy and the value is ``http`` or ``https``; else the scheme the adapter saw."""
    proto = request.header("x-forwarded-proto")
    if proto and is_trusted(parse_address(request.client) if request.client else None, trusted):
        value = proto.split(",")[-1].strip().lower()
        if value in ("http", "https"):
            return value
    return request.scheme


def resolve_client(request: Request, trusted: Sequence[IPNetwork]) -> Request:
    """``request`` with ``client`` (the socket peer, as the adapter passed it) replaced by the
    client's address and ``scheme`` by the forwarded one, per ``trusted``. Core's handlers call this
    first, so every per-address decision sees the same answer in every adapter."""
    scheme = forwarded_scheme(request, trusted)
    address = client_address(request.client, request.header("x-forwarded-for"), trusted)
    if address == request.client and scheme == request.scheme:
        return request
    return dataclasses.replace(request, client=address, scheme=scheme)
