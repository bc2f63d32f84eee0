"""Which addresses a set of processes listens on (TCP, IPv4 and IPv6), read from /proc."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

LISTEN = "0A"


def listening(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by one of `pids`."""
    inodes = {inode for pid in pids for inode in _socket_inodes(pid)}
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != LISTEN or inode not in inodes:
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            # /proc writes each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
            found.add((str(ipaddress.ip_address(words)), int(port, 16)))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def not_loopback(addresses: set[tuple[str, int]]) -> set[tuple[str, int]]:
    return {(a, p) for a, p in addresses if not _loopback(a)}


def _loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, and ::ffff:127.x (a Java socket bound to 127.0.0.1 shows as this)."""
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))
