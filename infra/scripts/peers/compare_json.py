#!/usr/bin/env python3
"""compare_json.py NAME A.json B.json: exits 1 (and says where) unless both hold the same JSON
value, where a field missing on one side equals its proto3 default on the other (peers differ in
whether they print defaults) and numbers compare as numbers ("1" and 1 for 64-bit integers)."""
import json
import sys

DEFAULTS = (None, "", 0, 0.0, False, [], {})


def same(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            x, y = a.get(key), b.get(key)
            if x in DEFAULTS and y in DEFAULTS:
                continue
            if not same(x, y, f"{path}.{key}"):
                return False
        return True
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            print(f"{path}: {len(a)} items vs {len(b)}")
            return False
        return all(same(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    for number in (int, float):
        try:
            if number(a) == number(b) and not isinstance(a, bool):
                return True
        except (TypeError, ValueError):
            pass
    if a != b:
        print(f"{path}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}")
        return False
    return True


def main():
    name, left, right = sys.argv[1:4]
    a, b = (json.load(open(p)) for p in (left, right))
    if not same(a, b, name):
        sys.exit(1)


if __name__ == "__main__":
    main()
