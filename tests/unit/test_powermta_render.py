"""Rendering the managed include file from plain data."""

from __future__ import annotations

import pytest

from emailengine.integrations.powermta.config import parse
from emailengine.integrations.powermta.render import (
    DkimSpec,
    VmtaSpec,
    lane_domains,
    pools_of,
    rate_for,
    render_managed,
)

IPS = [
    VmtaSpec("198.51.100.10", "mta10.example.net", "vmta-10", "main", "ACTIVE"),
    VmtaSpec("198.51.100.11", "mta11.example.net", "vmta-11", "main", "WARMING", 480, 0,
             {"gmail": 240, "microsoft": 120, "microsoft365": 24, "yahoo": 0, "apple": 18}, frozenset({"microsoft"})),
    VmtaSpec("198.51.100.12", "mta12.example.net", "vmta-12", "main", "STANDBY"),
    VmtaSpec("198.51.100.13", "mta13.example.net", "vmta-13", "main", "QUARANTINE"),
    VmtaSpec("198.51.100.14", "mta14.example.net", "vmta-14", "bulk", "RETIRING", 0, 0),
    VmtaSpec("198.51.100.15", "mta15.example.net", "vmta-15", "bulk", "RESTING"),
    VmtaSpec("198.51.100.16", "mta16.example.net", "vmta-16", "cold", "BOGUS"),
]
DKIM = [DkimSpec("example.org", "", ""), DkimSpec("example.net", "s1", "/etc/pmta/dkim/s1.example.net.pem")]


def test_pools_hold_only_sending_states() -> None:
    doc = parse(render_managed(IPS, DKIM, "mta.example.net"))
    pools = {b.arg: b.values("virtual-mta") for b in doc.blocks("virtual-mta-pool")}
    assert pools == {"bulk": ["vmta-14"], "cold": [], "main": ["vmta-10", "vmta-11"]}
    assert [b.arg for b in doc.blocks("virtual-mta")] == [f"vmta-{n}" for n in range(10, 17)]
    assert pools_of(IPS)[0] == {"pool": "bulk", "members": "vmta-14", "excluded": "vmta-15 (RESTING)"}


def test_source_host_and_dkim_lines() -> None:
    doc = parse(render_managed(IPS, DKIM))
    vmta = {b.arg: b for b in doc.blocks("virtual-mta")}
    assert vmta["vmta-12"].values("smtp-source-host") == ["198.51.100.12 mta12.example.net"]
    assert doc.values("domain-key") == ["s1,example.net,/etc/pmta/dkim/s1.example.net.pem"]


def test_warming_ip_gets_per_provider_limits() -> None:
    doc = parse(render_managed(IPS, DKIM))
    warming = {b.arg: b for b in doc.blocks("virtual-mta")}["vmta-11"]
    assert warming.values("max-smtp-msg-rate") == ["20/h"]
    domains = {b.arg: b.values("max-msg-rate")[0] for b in warming.blocks("domain")}
    assert domains["gmail.com"] == "10/h" and domains["googlemail.com"] == "10/h"
    assert domains["hotmail.com"] == "1/d"   # paused lane: never 0 (PowerMTA reads 0 as unlimited)
    assert domains["yahoo.com"] == "1/d" and domains["aol.com"] == "1/d"   # quota 0
    assert domains["icloud.com"] == "18/d"   # under one an hour: per day, never rounded up
    assert "outlook.com" in domains and not any("protection.outlook" in d for d in domains)
    lanes = lane_domains()
    assert set(domains) == set(lanes["gmail"] + lanes["microsoft"] + lanes["yahoo"] + lanes["apple"])
    active = {b.arg: b for b in doc.blocks("virtual-mta")}["vmta-10"]
    assert active.blocks("domain") == [] and active.values("max-smtp-msg-rate") == []
    retiring = {b.arg: b for b in doc.blocks("virtual-mta")}["vmta-14"]
    assert retiring.values("max-smtp-msg-rate") == ["1/d"]  # no quota yet: smallest rate


@pytest.mark.parametrize("daily, hourly, rate", [(480, 0, "20/h"), (490, 0, "20/h"), (23, 0, "23/d"),
                                                 (0, 0, "1/d"), (480, 30, "30/h")])
def test_rate_never_exceeds_quota(daily: int, hourly: int, rate: str) -> None:
    assert rate_for(daily, hourly) == rate


def test_render_is_deterministic_and_order_independent() -> None:
    assert render_managed(IPS, DKIM, "h") == render_managed(list(reversed(IPS)), list(reversed(DKIM)), "h")


def test_health_and_queue_parsing_tolerate_shapes() -> None:
    from emailengine.errors import TemporaryFailure
    from emailengine.integrations.powermta.mgmt import health, parse_queues, top_queues

    assert health({"status": {"status": "running"}}) == (True, "running")
    assert health({"status": {"status": "running", "shuttingDown": "yes"}})[0] is False
    assert health({"status": "running"})[0] is False
    listed = parse_queues({"data": [{"name": "a.com/v1", "rcp": "5"}, {"name": "b.com/v2", "rcp": 9, "paused": "yes"},
                                    {"rcp": 3}], "status": "success"})
    assert [q.name for q in top_queues(listed)] == ["b.com/v2", "a.com/v1"] and listed[1].paused
    assert parse_queues({"data": {"queue": {"name": "one.com/v", "rcp": 1}}})[0].vmta == "v"
    with pytest.raises(TemporaryFailure):
        parse_queues(["not", "an", "envelope"])
    with pytest.raises(TemporaryFailure):
        parse_queues({"data": [], "status": "error", "message": "denied"})


def test_property_rendered_config_parses_and_pools_match_states() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from emailengine.integrations.powermta.config import Directive, write
    from emailengine.lifecycle import State

    states = st.sampled_from([s.value for s in State] + ["BOGUS"])
    lanes = st.dictionaries(st.sampled_from(["gmail", "microsoft", "microsoft365", "yahoo", "apple", "other"]),
                            st.integers(0, 100000), max_size=6)
    spec = st.builds(lambda n, state, pool, daily, hourly, lane_quota: VmtaSpec(
        f"192.0.2.{n}", f"h{n}.example.net", f"vmta-{n}", pool, state, daily, hourly, lane_quota),
        st.integers(1, 254), states, st.sampled_from(["a", "b"]), st.integers(0, 10**6), st.integers(0, 10**4), lanes)

    @settings(max_examples=40, deadline=None)
    @given(st.lists(spec, max_size=6, unique_by=lambda s: s.vmta))
    def check(ips: list[VmtaSpec]) -> None:
        text = render_managed(ips, DKIM)
        doc = parse(text)
        assert write(doc) == text
        members = {v for b in doc.blocks("virtual-mta-pool") for v in b.values("virtual-mta")}
        assert members == {ip.vmta for ip in ips if ip.state in ("ACTIVE", "WARMING", "RETIRING")}
        rates = [n.value for n, _ in doc.walk()
                 if isinstance(n, Directive) and n.name in ("max-msg-rate", "max-smtp-msg-rate")]
        assert all(r not in ("0", "0/h", "0/d") for r in rates)

    check()
