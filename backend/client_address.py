"""Who the client is: the socket's peer, unless that peer is a proxy the deployment named as trusted."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """``FIELDCHECK_TRUSTED_PROXIES``: comma-separated addresses or CIDR networks (a bad entry is an error)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: list[str], trusted: str) -> str:
    """The client's address. ``X-Forwarded-For`` is read only when the peer is a trusted proxy, from the
    right (the entries our proxies appended), stopping at the first address that is not a trusted proxy: the
    left part is whatever the client sent and proves nothing."""
    address = peer or "unknown"
    networks = trusted_networks(trusted)
    if not networks or not _is_trusted(address, networks):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # garbage where a proxy's entry should be: keep the last address known good
        address = hop
        if not _is_trusted(hop, networks):
            return hop
    return address
