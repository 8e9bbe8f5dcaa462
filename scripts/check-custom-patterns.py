#!/usr/bin/env python3
"""Compile every pattern of `leakscope rules export --format github-custom-patterns`
with Hyperscan (the PyPI `hyperscan` wheel), as GitHub's custom patterns are, and check
each still matches its test string there.

Usage: check-custom-patterns.py EXPORT.json   (exit 1 on any failure)
"""
import json
import sys

import hyperscan


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        export = json.load(f)
    failures = 0
    for p in export["patterns"]:
        joined = "(?:{})(?:{})(?:{})".format(
            p.get("before_secret", ""), p["secret_format"], p.get("after_secret", "")
        )
        parts = [("secret_format", p["secret_format"]), ("joined", joined)]
        for what in ("before_secret", "after_secret"):
            if p.get(what):
                parts.append((what, p[what]))
        for what, pattern in parts:
            db = hyperscan.Database()
            try:
                db.compile(expressions=[pattern.encode()], flags=[hyperscan.HS_FLAG_ALLOWEMPTY])
            except hyperscan.error as e:
                print(f"{p['rule_id']}: {what} does not compile with Hyperscan: {e}")
                failures += 1
                continue
            if what == "joined":
                hits = []
                db.scan(p["test_string"].encode(), match_event_handler=lambda *a: hits.append(a))
                if not hits:
                    print(f"{p['rule_id']}: Hyperscan finds nothing in the test string")
                    failures += 1
    print(f"{len(export['patterns'])} patterns checked with Hyperscan {hyperscan.__version__}, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
