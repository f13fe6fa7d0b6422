"""Helpers the benchmark scripts share: logging, free ports, process CPU time, berth's credentials file."""

import configparser
import os
import socket
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime+stime of one process, in seconds (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / CLK_TCK


def tree_cpu_seconds(pid):
    """utime+stime of pid and all its descendants, in seconds."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(parts[1]), []).append(int(d))
        except OSError:
            continue
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_seconds(p)
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total


def read_creds(path):
    """(access key id, secret) of profile `berth` in a berth data directory's credentials file."""
    cp = configparser.ConfigParser()
    cp.read(path)
    return cp["berth"]["aws_access_key_id"].strip(), cp["berth"]["aws_secret_access_key"].strip()
