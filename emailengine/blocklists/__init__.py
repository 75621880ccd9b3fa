"""Blocklist monitoring (issue 6).

zones.py    the zone catalogue (data) and the settings that change it
verdict.py  pure: query names, answer → listed/clean/error, self-test health
effects.py  pure: listings + results + IP states → what to write, which IPs to move
scan.py     async DNS lookups (bounded concurrency, per-zone rate limit, retries)
run.py      the `ee blacklist` operations: check, scan (persist + effects), status, zones
demo.py     the blocklist part of `ee demo`
"""
