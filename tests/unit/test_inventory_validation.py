"""Inventory input validation: IPs, domains, vmta names and the CSV import."""

import pytest

from emailengine.errors import UsageError
from emailengine.inventory import make_ip_spec, normalize_domain, normalize_ip, parse_ip_csv
from emailengine.lifecycle import State


def test_ipv4_and_ipv6_are_normalised():
    assert normalize_ip(" 192.0.2.1 ") == "192.0.2.1"
    assert normalize_ip("2001:DB8:0:0::1") == "2001:db8::1"


@pytest.mark.parametrize("bad", ["1.2.3", "256.1.1.1", "abc", "", "0.0.0.0", "224.0.0.1", "1.2.3.4/24"])
def test_invalid_ips_are_refused(bad):
    with pytest.raises(UsageError):
        normalize_ip(bad)


def test_domains_are_idna_normalised():
    assert normalize_domain("Mail.Example.COM.") == "mail.example.com"
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"


@pytest.mark.parametrize("bad", ["localhost", "-a.example.com", "a..b.com", "exa mple.com", "x" * 64 + ".com", "1.2.3.4"])
def test_invalid_domains_are_refused(bad):
    with pytest.raises(UsageError):
        normalize_domain(bad)


def test_ip_spec_defaults_to_warming_and_checks_every_field():
    spec = make_ip_spec("192.0.2.1", "mta1.example.com", "vmta-1")
    assert spec.state is State.WARMING and spec.pool == "default"
    with pytest.raises(UsageError, match="virtual MTA"):
        make_ip_spec("192.0.2.1", "mta1.example.com", "bad vmta")
    with pytest.raises(UsageError, match="MailWizz"):
        make_ip_spec("192.0.2.1", "mta1.example.com", "v1", mailwizz_server_id="x")
    with pytest.raises(UsageError, match="unknown state"):
        make_ip_spec("192.0.2.1", "mta1.example.com", "v1", state="HOT")


def test_csv_import_parses_a_whole_block():
    lines = ["ip,hostname,vmta,pool"] + [f"192.0.2.{i},mta{i}.example.com,v{i},p1" for i in range(1, 255)]
    specs = parse_ip_csv("\n".join(lines))
    assert len(specs) == 254 and specs[0].pool == "p1"


def test_csv_import_names_every_bad_line():
    text = "ip,hostname,vmta\n192.0.2.1,mta1.example.com,v1\n192.0.2.x,mta2.example.com,v2\n" \
           "192.0.2.1,mta3.example.com,v3\n192.0.2.4,bad_host,v4\n192.0.2.5,mta5.example.com\n"
    with pytest.raises(UsageError) as error:
        parse_ip_csv(text)
    message = error.value.one_line()
    for line in ("line 3", "line 4", "line 5", "line 6"):
        assert line in message
    assert "line 2:" not in message


def test_csv_without_required_header_is_refused():
    with pytest.raises(UsageError, match="header lacks"):
        parse_ip_csv("192.0.2.1,mta1.example.com,v1\n")
    with pytest.raises(UsageError, match="unknown columns"):
        parse_ip_csv("ip,hostname,vmta,colour\n192.0.2.1,mta1.example.com,v1,red\n")
