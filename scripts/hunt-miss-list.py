#!/usr/bin/env python3
"""Shift a plain indicator list so that it keeps its size and shape but
misses the events `hunt_store` generates, for timing a hunt without hits.

Domains and URL hosts get a `q` appended to their first label, and IPv4
addresses, networks and ranges move into 240.0.0.0/4, which the generator
never uses. Other lines are copied unchanged.

    scripts/hunt-miss-list.py ind1m.txt > ind1m-miss.txt
"""
import re
import sys


def shift_v4(address):
    first, rest = address.split(".", 1)
    return "%d.%s" % (240 + int(first) % 16, rest)


def shift(line):
    if not line or line.startswith("#"):
        return line
    if re.match(r"^\d+\.\d+\.\d+\.\d+", line):
        return "-".join(shift_v4(part) for part in line.split("-"))
    if line.startswith(("http://", "https://")):
        return re.sub(r"^(https?://)([^./]+)", r"\1\2q", line)
    if line.startswith("*."):
        return "*." + re.sub(r"^([^.]+)", r"\1q", line[2:])
    if re.match(r"^[0-9a-fA-F:]+(/\d+)?$", line):
        return line
    return re.sub(r"^([^.]+)", r"\1q", line)


def main():
    with open(sys.argv[1], encoding="utf-8") as source:
        for line in source:
            print(shift(line.rstrip("\n")))


if __name__ == "__main__":
    main()
