"""SPF evaluation cases derived from RFC 7208, shared by the unit run (FakeResolver) and the
integration run (the real loopback DNSTestServer). Section numbers refer to RFC 7208.
"""

from __future__ import annotations

from dataclasses import dataclass, field

D = "example.com"
IP = "192.0.2.3"


def txt(name: str, *strings: str) -> tuple[str, str, str]:
    """A TXT record of one or more character-strings (zone-file quoting)."""
    return (name, "TXT", " ".join('"' + s.replace('"', '\\"') + '"' for s in strings))


def spf(record: str, name: str = D) -> tuple[str, str, str]:
    """An SPF TXT record, split into 200-byte strings like a DNS UI would (RFC 7208 §3.3)."""
    return txt(name, *[record[i:i + 200] for i in range(0, len(record), 200)] or [""])


@dataclass(frozen=True)
class Case:
    id: str
    zone: list[tuple[str, str, str]]
    expect: str
    ip: str = IP
    domain: str = D
    sender: str = ""
    helo: str = "mta.example.org"
    fail: dict[str, str] = field(default_factory=dict)
    explanation: str | None = None


def _a_terms(count: int, match_last: bool) -> list[Case]:
    """count a: terms, each its own lookup; only the last one can match."""
    names = [f"h{i}.{D}" for i in range(1, count + 1)]
    zone = [(name, "A", "203.0.113.1") for name in names[:-1]]
    zone.append((names[-1], "A", IP if match_last else "203.0.113.1"))
    record = "v=spf1 " + " ".join(f"a:{name}" for name in names) + " -all"
    return [Case(f"limit_{count}_a_terms", [spf(record), *zone], "pass" if count <= 10 else "permerror")]


def _include_chain(depth: int) -> Case:
    zone = [spf(f"v=spf1 include:i1.{D} -all")]
    for level in range(1, depth):
        zone.append(spf(f"v=spf1 include:i{level + 1}.{D} -all", f"i{level}.{D}"))
    zone.append(spf(f"v=spf1 ip4:{IP} -all", f"i{depth}.{D}"))
    return Case(f"limit_include_chain_{depth}", zone, "pass" if depth <= 10 else "permerror")


MX11 = [(D, "MX", f"{i} mx{i}.{D}.") for i in range(1, 12)] + [(f"mx{i}.{D}", "A", IP) for i in range(1, 12)]
PTR_OK = [("3.2.0.192.in-addr.arpa", "PTR", f"host.{D}."), (f"host.{D}", "A", IP)]

CASES: list[Case] = [
    # §4.3-4.5 record lookup and selection
    Case("none_when_domain_has_no_txt", [(D, "A", "192.0.2.1")], "none"),
    Case("none_when_nxdomain", [], "none"),
    Case("none_when_only_other_txt", [txt(D, "google-site-verification=abc")], "none"),
    Case("none_for_spf10_lookalike", [spf("v=spf10 -all")], "none"),
    Case("none_for_leading_space", [spf(" v=spf1 -all")], "none"),
    Case("none_for_single_label_domain", [spf("v=spf1 -all", "localhost")], "none", domain="localhost"),
    Case("permerror_for_two_spf_records", [spf("v=spf1 -all"), spf(f"v=spf1 ip4:{IP} -all")], "permerror"),
    Case("other_txt_beside_spf_is_ignored", [txt(D, "hello"), spf(f"v=spf1 ip4:{IP} -all")], "pass"),
    Case("multi_string_txt_is_concatenated", [txt(D, f"v=spf1 ip4:{IP}", " -all")], "pass"),
    Case("multi_string_split_inside_a_term", [txt(D, "v=spf1 ip4:192.0", ".2.3 -all")], "pass"),
    Case("version_and_terms_are_case_insensitive", [spf(f"V=SpF1 IP4:{IP} -ALL")], "pass"),
    Case("bare_version_is_neutral", [spf("v=spf1")], "neutral"),
    Case("extra_spaces_between_terms", [spf(f"v=spf1  ip4:{IP}   -all ")], "pass"),
    # §4.6.2 / §5.1 all and qualifiers
    Case("minus_all_is_fail", [spf("v=spf1 -all")], "fail"),
    Case("tilde_all_is_softfail", [spf("v=spf1 ~all")], "softfail"),
    Case("question_all_is_neutral", [spf("v=spf1 ?all")], "neutral"),
    Case("plus_all_is_pass", [spf("v=spf1 +all")], "pass"),
    Case("bare_all_is_pass", [spf("v=spf1 all")], "pass"),
    Case("no_match_without_all_is_neutral", [spf("v=spf1 ip4:198.51.100.1")], "neutral"),
    Case("first_match_wins", [spf(f"v=spf1 ~ip4:{IP} -all")], "softfail"),
    # §5.6 ip4 / ip6
    Case("ip4_cidr_matches", [spf("v=spf1 ip4:192.0.2.0/24 -all")], "pass"),
    Case("ip4_cidr_excludes", [spf("v=spf1 ip4:192.0.2.128/25 -all")], "fail"),
    Case("ip4_cidr_zero_matches_all", [spf("v=spf1 ip4:10.0.0.0/0 -all")], "pass"),
    Case("ip4_cidr_33_is_permerror", [spf("v=spf1 ip4:192.0.2.0/33 -all")], "permerror"),
    Case("ip4_bad_address_is_permerror", [spf("v=spf1 ip4:192.0.2 -all")], "permerror"),
    Case("ip4_leading_zero_cidr_is_permerror", [spf("v=spf1 ip4:192.0.2.0/024 -all")], "permerror"),
    Case("ip4_does_not_match_ipv6_client", [spf("v=spf1 ip4:192.0.2.0/24 -all")], "fail", ip="2001:db8::1"),
    Case("ip6_cidr_matches", [spf("v=spf1 ip6:2001:db8::/32 -all")], "pass", ip="2001:db8::cb01"),
    Case("ip6_cidr_excludes", [spf("v=spf1 ip6:2001:db8::/32 -all")], "fail", ip="2001:db9::1"),
    Case("ip6_cidr_129_is_permerror", [spf("v=spf1 ip6:2001:db8::/129 -all")], "permerror", ip="2001:db8::1"),
    Case("ipv4_mapped_ipv6_client_is_ipv4", [spf(f"v=spf1 ip4:{IP} -all")], "pass", ip=f"::ffff:{IP}"),
    # §5.3 a
    Case("a_matches_domain", [spf("v=spf1 a -all"), (D, "A", IP)], "pass"),
    Case("a_with_target_and_cidr", [spf(f"v=spf1 a:mail.{D}/24 -all"), (f"mail.{D}", "A", "192.0.2.200")], "pass"),
    Case("a_cidr_excludes", [spf(f"v=spf1 a:mail.{D}/30 -all"), (f"mail.{D}", "A", "192.0.2.200")], "fail"),
    Case("a_dual_cidr_for_ipv6", [spf("v=spf1 a/24//64 -all"), (D, "AAAA", "2001:db8::1")], "pass",
         ip="2001:db8::ffff"),
    Case("a_uses_aaaa_for_ipv6", [spf("v=spf1 a -all"), (D, "A", IP)], "fail", ip="2001:db8::1"),
    Case("a_cidr_out_of_range_is_permerror", [spf("v=spf1 a/33 -all"), (D, "A", IP)], "permerror"),
    Case("a_numeric_toplabel_is_permerror", [spf("v=spf1 a:192.0.2.3 -all")], "permerror"),
    Case("a_empty_target_is_permerror", [spf("v=spf1 a: -all")], "permerror"),
    # §5.4 mx
    Case("mx_matches", [spf("v=spf1 mx -all"), (D, "MX", f"10 mx1.{D}."), (f"mx1.{D}", "A", IP)], "pass"),
    Case("mx_cidr_matches", [spf("v=spf1 mx/24 -all"), (D, "MX", f"10 mx1.{D}."), (f"mx1.{D}", "A", "192.0.2.77")],
         "pass"),
    Case("mx_other_domain", [spf("v=spf1 mx:mail.example.org -all"), ("mail.example.org", "MX", "5 in.example.org."),
                             ("in.example.org", "A", IP)], "pass"),
    Case("mx_without_records_does_not_match", [spf("v=spf1 mx -all")], "fail"),
    Case("mx_more_than_10_records_is_permerror", [spf("v=spf1 mx -all"), *MX11], "permerror"),
    Case("mx_null_mx_does_not_match", [spf("v=spf1 mx -all"), (D, "MX", "0 .")], "fail"),
    # §5.5 ptr
    Case("ptr_matches_validated_name", [spf("v=spf1 ptr -all"), *PTR_OK], "pass"),
    Case("ptr_other_domain_does_not_match", [spf("v=spf1 ptr:example.org -all"), *PTR_OK], "fail"),
    Case("ptr_not_forward_confirmed", [spf("v=spf1 ptr -all"), ("3.2.0.192.in-addr.arpa", "PTR", f"host.{D}."),
                                       (f"host.{D}", "A", "192.0.2.99")], "fail"),
    Case("ptr_servfail_is_no_match", [spf("v=spf1 ptr -all")], "fail", fail={"3.2.0.192.in-addr.arpa": "servfail"}),
    # §5.7 exists
    Case("exists_matches_with_macro", [spf(f"v=spf1 exists:%{{i}}.ok.{D} -all"), (f"{IP}.ok.{D}", "A", "127.0.0.2")],
         "pass"),
    Case("exists_no_record_is_no_match", [spf(f"v=spf1 exists:%{{i}}.ok.{D} -all")], "fail"),
    Case("exists_queries_a_for_ipv6", [spf(f"v=spf1 exists:ipv6.{D} -all"), (f"ipv6.{D}", "A", "127.0.0.2")], "pass",
         ip="2001:db8::1"),
    # §5.2 include
    Case("include_pass_matches", [spf(f"v=spf1 include:_spf.{D} -all"), spf(f"v=spf1 ip4:{IP} -all", f"_spf.{D}")],
         "pass"),
    Case("include_fail_does_not_match", [spf(f"v=spf1 include:_spf.{D} ~all"), spf("v=spf1 -all", f"_spf.{D}")],
         "softfail"),
    Case("include_neutral_does_not_match", [spf(f"v=spf1 include:_spf.{D} -all"), spf("v=spf1 ?all", f"_spf.{D}")],
         "fail"),
    Case("include_of_domain_without_spf_is_permerror", [spf(f"v=spf1 include:_spf.{D} -all"),
                                                        (f"_spf.{D}", "A", "192.0.2.1")], "permerror"),
    Case("include_of_nxdomain_is_permerror", [spf(f"v=spf1 include:nowhere.{D} -all")], "permerror"),
    Case("include_permerror_propagates", [spf(f"v=spf1 include:_spf.{D} -all"), spf("v=spf1 bogus", f"_spf.{D}")],
         "permerror"),
    Case("include_temperror_propagates", [spf(f"v=spf1 include:_spf.{D} -all")], "temperror",
         fail={f"_spf.{D}": "servfail"}),
    Case("include_loop_hits_the_limit", [spf(f"v=spf1 include:{D} -all")], "permerror"),
    Case("include_without_domain_is_permerror", [spf("v=spf1 include -all")], "permerror"),
    Case("include_single_label_is_permerror", [spf("v=spf1 include:localhost -all")], "permerror"),
    # §6.1 redirect
    Case("redirect_uses_target_result", [spf(f"v=spf1 redirect=_spf.{D}"), spf(f"v=spf1 ip4:{IP} -all", f"_spf.{D}")],
         "pass"),
    Case("redirect_target_fail", [spf(f"v=spf1 redirect=_spf.{D}"), spf("v=spf1 -all", f"_spf.{D}")], "fail"),
    Case("redirect_target_without_spf_is_permerror", [spf(f"v=spf1 redirect=_spf.{D}")], "permerror"),
    Case("redirect_ignored_when_all_present", [spf(f"v=spf1 -all redirect=_spf.{D}"), spf("v=spf1 +all", f"_spf.{D}")],
         "fail"),
    Case("redirect_after_earlier_match_not_used", [spf(f"v=spf1 ip4:{IP} redirect=_spf.{D}")], "pass"),
    Case("redirect_twice_is_permerror", [spf(f"v=spf1 redirect=a.{D} redirect=b.{D}")], "permerror"),
    # §6.2 exp
    Case("exp_text_is_expanded", [spf(f"v=spf1 -all exp=why.{D}"),
                                  txt(f"why.{D}", "%{i} is not one of %{d}'s designated mail servers.")],
         "fail", explanation=f"{IP} is not one of {D}'s designated mail servers."),
    Case("exp_allows_c_r_t_macros", [spf(f"v=spf1 -all exp=why.{D}"), txt(f"why.{D}", "client %{c} rejected%_%%")],
         "fail", explanation=f"client {IP} rejected %"),
    Case("exp_with_two_records_uses_default", [spf(f"v=spf1 -all exp=why.{D}"), txt(f"why.{D}", "one"),
                                               txt(f"why.{D}", "two")], "fail", explanation="does not designate"),
    Case("exp_dns_failure_keeps_fail", [spf(f"v=spf1 -all exp=why.{D}")], "fail", fail={f"why.{D}": "servfail"},
         explanation="does not designate"),
    Case("exp_twice_is_permerror", [spf(f"v=spf1 -all exp=a.{D} exp=b.{D}")], "permerror"),
    # §6 unknown modifiers, §12 syntax
    Case("unknown_modifier_is_ignored", [spf(f"v=spf1 foo=bar ip4:{IP} -all")], "pass"),
    Case("unknown_modifier_with_bad_macro_is_permerror", [spf(f"v=spf1 foo=%{{z}} ip4:{IP} -all")], "permerror"),
    Case("unknown_mechanism_is_permerror", [spf("v=spf1 foo -all")], "permerror"),
    Case("all_with_argument_is_permerror", [spf("v=spf1 all:foo")], "permerror"),
    Case("syntax_error_after_match_is_permerror", [spf(f"v=spf1 ip4:{IP} ip4:999.1.1.1 -all")], "permerror"),
    # §7 macros
    Case("macro_unknown_letter_is_permerror", [spf(f"v=spf1 exists:%{{z}}.{D} -all")], "permerror"),
    Case("macro_c_outside_exp_is_permerror", [spf(f"v=spf1 exists:%{{c}}.{D} -all")], "permerror"),
    Case("macro_zero_digit_is_permerror", [spf(f"v=spf1 exists:%{{d0}}.{D} -all")], "permerror"),
    Case("macro_bare_percent_is_permerror", [spf(f"v=spf1 exists:%x.{D} -all")], "permerror"),
    Case("macro_l_defaults_to_postmaster", [spf(f"v=spf1 exists:%{{l}}.lp.{D} -all"), (f"postmaster.lp.{D}", "A",
                                                                                       "127.0.0.2")], "pass"),
    Case("macro_l_and_o_of_sender", [spf(f"v=spf1 exists:%{{l}}.%{{o}}.x.{D} -all"),
                                     (f"jo.mail.example.org.x.{D}", "A", "127.0.0.2")], "pass",
         sender="jo@mail.example.org"),
    Case("macro_uppercase_is_url_escaped", [spf(f"v=spf1 exists:%{{L}}.u.{D} -all"),
                                            (f"a%2Bb.u.{D}", "A", "127.0.0.2")], "pass", sender="a+b@example.com"),
    Case("macro_h_is_helo", [spf(f"v=spf1 exists:%{{h}}.h.{D} -all"), (f"mta.example.org.h.{D}", "A", "127.0.0.2")],
         "pass"),
    Case("macro_ir_v_d2_rfc_example", [spf("v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all", f"email.{D}"),
                                       (f"3.2.0.192.in-addr._spf.{D}", "A", "127.0.0.2")], "pass",
         domain=f"email.{D}"),
    Case("macro_ir_ipv6_nibbles", [spf("v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all", f"email.{D}"),
                                   ("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf." + D,
                                    "A", "127.0.0.2")], "pass", domain=f"email.{D}", ip="2001:db8::cb01"),
    Case("macro_lr_dash_rfc_example", [spf("v=spf1 exists:%{lr-}.lp._spf.%{d2} -all", f"email.{D}"),
                                       (f"bad.strong.lp._spf.{D}", "A", "127.0.0.2")], "pass", domain=f"email.{D}",
         sender="strong-bad@email.example.com"),
    Case("macro_p_is_validated_ptr", [spf(f"v=spf1 exists:%{{p}}.p.{D} -all"), *PTR_OK,
                                      (f"host.{D}.p.{D}", "A", "127.0.0.2")], "pass"),
    # §4.6.4 limits
    *_a_terms(10, True),
    *_a_terms(11, True),
    _include_chain(10),
    _include_chain(11),
    Case("ip4_terms_do_not_count", [spf("v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 30))
                                        + f" ip4:{IP} -all")], "pass"),
    Case("two_void_lookups_are_allowed", [spf(f"v=spf1 a:n1.{D} a:n2.{D} -all")], "fail"),
    Case("third_void_lookup_is_permerror", [spf(f"v=spf1 a:n1.{D} a:n2.{D} a:n3.{D} -all")], "permerror"),
    Case("void_counts_empty_answers_too", [spf(f"v=spf1 a:n1.{D} mx:n2.{D} exists:n3.{D} -all"),
                                           (f"n1.{D}", "MX", f"10 x.{D}."), (f"n2.{D}", "A", "192.0.2.9"),
                                           (f"n3.{D}", "MX", f"10 x.{D}.")], "permerror"),
    # error precedence
    Case("temperror_on_record_lookup", [], "temperror", fail={D: "servfail"}),
    Case("temperror_on_a_lookup", [spf(f"v=spf1 a:broken.{D} -all")], "temperror", fail={f"broken.{D}": "servfail"}),
    Case("temperror_on_mx_host_address", [spf("v=spf1 mx -all"), (D, "MX", f"10 broken.{D}.")], "temperror",
         fail={f"broken.{D}": "servfail"}),
    Case("temperror_on_exists", [spf(f"v=spf1 exists:broken.{D} -all")], "temperror", fail={f"broken.{D}": "servfail"}),
    Case("match_before_broken_term_passes", [spf(f"v=spf1 ip4:{IP} a:broken.{D} -all")], "pass",
         fail={f"broken.{D}": "servfail"}),
    Case("syntax_error_beats_temperror", [spf(f"v=spf1 a:broken.{D} ip4:bad -all")], "permerror",
         fail={f"broken.{D}": "servfail"}),
    Case("lookup_limit_beats_temperror", [spf("v=spf1 " + " ".join(f"a:h{i}.{D}" for i in range(1, 11))
                                              + f" a:broken.{D} -all"),
                                          *[(f"h{i}.{D}", "A", "203.0.113.1") for i in range(1, 11)]], "permerror",
         fail={f"broken.{D}": "servfail"}),
]
