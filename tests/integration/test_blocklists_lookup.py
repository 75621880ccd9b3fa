"""Look-ups against a real DNS server on loopback serving the real zone names."""

from __future__ import annotations

import pytest

from emailengine.blocklists import run
from emailengine.blocklists.scan import Target, scan
from emailengine.blocklists.verdict import query_name
from emailengine.blocklists.zones import active_zones
from emailengine.config import Settings
from emailengine.standins.dns_server import DNSTestServer
from tests.fakes import blocklists as fake


@pytest.fixture(scope="module")
def server():
    with DNSTestServer() as running:
        fake.serve(running)
        yield running


def settings_for(server, **extra) -> Settings:
    values = {"dns_nameservers": [server.nameserver], "dns_timeout": 0.3, "blocklist_retries": 1,
              "blocklist_disabled": fake.disabled_others()}
    values.update(extra)
    return Settings(**values)


@pytest.fixture(scope="module")
def results(server):
    targets = [fake.LISTED_IP, fake.CLEAN_IP, fake.LISTED_V6, fake.CLEAN_V6, *fake.ERROR_IPS, fake.SERVFAIL_IP,
               fake.REFUSED_IP, fake.TIMEOUT_IP, fake.LISTED_DOMAIN, fake.CLEAN_DOMAIN]
    outcome = run.check(targets, settings_for(server))
    return {(row["target"], row["zone"]): row for row in outcome["results"]}, outcome["zones"]


def status(results, target, zone):
    return results[0][(target, zone)]["status"]


def test_listed_ip_has_codes_meanings_and_txt_reason(results):
    row = results[0][(fake.LISTED_IP, "zen.spamhaus.org")]
    assert row["status"] == "listed"
    assert row["codes"] == ["127.0.0.2", "127.0.0.4"]
    assert row["tier"] == "critical"
    assert f"https://check.spamhaus.org/sbl/query/{fake.LISTED_IP}" in row["reason"]
    assert row["delist_url"] == "https://check.spamhaus.org/"


def test_clean_ip_is_clean(results):
    assert status(results, fake.CLEAN_IP, "zen.spamhaus.org") == "clean"


def test_ipv6_is_queried_by_nibbles(results):
    assert status(results, fake.LISTED_V6, "zen.spamhaus.org") == "listed"
    assert status(results, fake.CLEAN_V6, "zen.spamhaus.org") == "clean"


def test_ipv6_is_not_asked_of_ipv4_only_lists(results):
    assert (fake.LISTED_V6, "psbl.surriel.com") not in results[0]


@pytest.mark.parametrize("address", sorted(fake.ERROR_IPS))
def test_spamhaus_error_codes_are_errors(results, address):
    row = results[0][(address, "zen.spamhaus.org")]
    assert row["status"] == "error"
    assert fake.ERROR_IPS[address] in row["reason"]


@pytest.mark.parametrize(("address", "word"), [(fake.SERVFAIL_IP, "SERVFAIL"), (fake.REFUSED_IP, "REFUSED"),
                                               (fake.TIMEOUT_IP, "TIMEOUT")])
def test_dns_failures_are_errors(results, address, word):
    row = results[0][(address, "zen.spamhaus.org")]
    assert row["status"] == "error"
    assert word in row["reason"]


def test_list_that_lists_everything_is_broken_and_all_its_answers_are_errors(results):
    assert not results[1]["bl.spamcop.net"]["healthy"]
    assert "everything" in results[1]["bl.spamcop.net"]["problem"]
    assert status(results, fake.LISTED_IP, "bl.spamcop.net") == "error"
    assert status(results, fake.CLEAN_IP, "bl.spamcop.net") == "error"


def test_list_that_does_not_answer_is_broken_not_clean(results):
    assert not results[1]["psbl.surriel.com"]["healthy"]
    assert status(results, fake.CLEAN_IP, "psbl.surriel.com") == "error"


def test_domains_are_checked_on_domain_lists_only(results):
    assert status(results, fake.LISTED_DOMAIN, "dbl.spamhaus.org") == "listed"
    assert results[0][(fake.LISTED_DOMAIN, "multi.uribl.com")]["tier"] == "minor"  # grey
    assert status(results, fake.CLEAN_DOMAIN, "multi.surbl.org") == "clean"
    assert (fake.LISTED_DOMAIN, "zen.spamhaus.org") not in results[0]
    assert (fake.CLEAN_IP, "dbl.spamhaus.org") not in results[0]


def test_healthy_zones_pass_their_self_test(results):
    for zone in ("zen.spamhaus.org", "dbl.spamhaus.org", "multi.uribl.com", "multi.surbl.org"):
        assert results[1][zone]["healthy"], results[1][zone]


def test_timeouts_are_retried(server):
    name = query_name(fake.TIMEOUT_IP, fake.ZEN)
    before = server.query_counts[name]
    report = scan([Target(fake.TIMEOUT_IP, "ip")], [z for z in active_zones(settings_for(server))
                                                    if z.zone == "zen.spamhaus.org"],
                  settings_for(server, blocklist_retries=2))
    assert server.query_counts[name] - before == 3
    assert report.retries == 2
    assert report.results[0].verdict.status == "error"


def test_servfail_is_retried_on_the_next_nameserver_then_reported(server):
    settings = settings_for(server, dns_nameservers=[server.nameserver, server.nameserver], blocklist_retries=1)
    zen = [z for z in active_zones(settings) if z.zone == "zen.spamhaus.org"]
    report = scan([Target(fake.SERVFAIL_IP, "ip")], zen, settings)
    assert report.retries == 1
    assert "SERVFAIL" in report.results[0].verdict.reason


def test_per_zone_pacing_spaces_sends(server):
    settings = settings_for(server, blocklist_zone_qps=200.0, blocklist_concurrency=50)
    zen = [z for z in active_zones(settings) if z.zone == "zen.spamhaus.org"]
    report = scan([Target(f"10.9.0.{i}", "ip") for i in range(60)], zen, settings)
    assert report.max_zone_qps <= 200
    assert len(report.results) == 60 and {r.verdict.status for r in report.results} == {"clean"}


def test_unreachable_nameserver_gives_errors_not_clean():
    settings = Settings(dns_nameservers=["127.0.0.1:9"], dns_timeout=0.2, blocklist_retries=0,
                        blocklist_disabled=fake.disabled_others())
    outcome = run.check([fake.CLEAN_IP], settings)
    assert outcome["results"] and {row["status"] for row in outcome["results"]} == {"error"}


def test_dqs_key_queries_the_dqs_zone(server):
    key = "abcdefghijklmnopqrstuvwxyz"
    zen = [z for z in active_zones(settings_for(server, spamhaus_dqs_key=key)) if z.zone == "zen.spamhaus.org"]
    server.add(f"2.0.0.127.{key}.zen.dq.spamhaus.net", "A", "127.0.0.2")
    server.add(f"12.100.51.198.{key}.zen.dq.spamhaus.net", "A", "127.0.0.4")
    report = scan([Target(fake.LISTED_IP, "ip")], zen, settings_for(server, spamhaus_dqs_key=key))
    result = report.results[0]
    assert result.zone.zone == "zen.spamhaus.org"
    assert (result.verdict.status, result.verdict.codes) == ("listed", ("127.0.0.4",))
    assert key not in str(result.to_dict())


def test_pacer_never_exceeds_the_rate_in_any_one_second_window_even_after_a_stall():
    import asyncio
    import time as clock

    from emailengine.blocklists.scan import _Pacer

    pacer = _Pacer(40.0)

    async def main():
        async def send(index):
            await pacer.wait()
            if index == 10:
                clock.sleep(0.2)  # the event loop stalls: late wake-ups must not burst past the cap

        await asyncio.gather(*(send(index) for index in range(70)))

    asyncio.run(main())
    assert len(pacer.sent) == 70
    assert pacer.peak_rate() <= 40
    assert pacer.sent[-1] - pacer.sent[0] >= 1.0  # 70 sends at 40/s need more than a second
