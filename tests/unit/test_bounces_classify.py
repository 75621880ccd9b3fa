"""The rule table and the corpus of real-world replies (pure)."""

from __future__ import annotations

import pytest

from emailengine.bounces.classify import (
    BOUNCECAT,
    CODE_RULES,
    REASONS,
    TEXT_RULES,
    CachedClassifier,
    classify,
    classify_text,
    enhanced_code,
)
from tests.data.bounce_corpus import CORPUS

ISSUE_REASONS = set(
    "userunknown hostunknown mailboxfull blocked spamdetected policyviolation toomanyconn speeding rejected "
    "norelaying securityerror authfailure badreputation contenterror mesgtoobig expired systemerror systemfull "
    "suspend filtered notaccept requireptr virusdetected syntaxerror networkerror undefined".split()
)


@pytest.mark.parametrize("rule", TEXT_RULES, ids=lambda rule: rule.name)
def test_every_rule_matches_its_own_example_first(rule):
    verdict = classify_text("", rule.example, "")
    assert verdict.rule == rule.name
    assert (verdict.bounce_class, verdict.reason) == (rule.bounce_class, rule.reason)


def test_rule_names_are_unique_and_verdicts_use_the_taxonomy():
    names = [rule.name for rule in TEXT_RULES]
    assert len(names) == len(set(names))
    verdicts = [(r.bounce_class, r.reason) for r in TEXT_RULES] + list(CODE_RULES.values()) + list(BOUNCECAT.values())
    for bounce_class, reason in verdicts:
        assert bounce_class in ("hard", "soft", "block")
        assert reason in ISSUE_REASONS
    assert ISSUE_REASONS <= set(REASONS)


def test_corpus_is_large_and_varied():
    sources = {entry[0].split("-")[0] for entry in CORPUS}
    assert len(CORPUS) >= 150
    for provider in ("gmail", "outlook", "exchange", "yahoo", "aol", "icloud", "comcast", "gmx", "web.de", "mail.ru",
                     "yandex", "orange", "zoho", "proofpoint", "mimecast", "barracuda", "postfix", "exim"):
        assert provider in sources, provider
    texts = " ".join(entry[3] for entry in CORPUS)
    for phrase in ("unbekannt", "inconnu", "не существует", "nie istnieje", "no existe", "sconosciuto", "Postfach voll"):
        assert phrase in texts


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: f"{e[0]}:{e[3][:50]}")
def test_corpus_reply_gets_expected_class_and_reason(entry):
    source, record_type, status, diag, bounce_cat, expected_class, expected_reason = entry
    verdict = classify(record_type, status, diag, bounce_cat)
    assert (verdict.bounce_class, verdict.reason) == (expected_class, expected_reason), verdict.rule


def test_cached_classifier_agrees_with_classify_on_the_corpus():
    cached = CachedClassifier()
    for _, record_type, status, diag, bounce_cat, *_ in CORPUS * 2:
        assert cached(record_type, status, diag, bounce_cat) == classify(record_type, status, diag, bounce_cat)


def test_text_beats_generic_code_both_ways():
    blocklisted = classify("b", "5.7.1 (delivery not authorized)", "smtp;550 5.7.1 blocked using b.barracudacentral.org", "")
    unknown = classify("b", "5.7.1 (delivery not authorized)", "smtp;550 5.7.1 <x@example.org>: User unknown", "")
    full = classify("b", "5.2.2 (mailbox full)", "smtp;552 5.2.2 Mailbox full", "quota-issues")
    assert (blocklisted.bounce_class, blocklisted.reason) == ("block", "blocked")
    assert (unknown.bounce_class, unknown.reason) == ("hard", "userunknown")
    assert (full.bounce_class, full.reason) == ("soft", "mailboxfull")


def test_bouncecat_is_only_the_last_tie_breaker():
    assert classify("b", "", "", "bad-mailbox").reason == "userunknown"
    assert classify("b", "", "smtp;550 5.7.1 Blocked using zen.spamhaus.org", "bad-mailbox").bounce_class == "block"


def test_transient_records_are_never_hard():
    verdict = classify("t", "4.1.1 (bad destination mailbox address)", "smtp;450 4.1.1 User unknown", "bad-mailbox")
    assert verdict.bounce_class == "soft"
    assert classify("tq", "", "smtp;550 5.1.1 User unknown", "").bounce_class == "soft"


def test_fixed_classes_for_non_bounce_types():
    assert classify("d", "2.0.0 (success)", "smtp;250 ok", "").bounce_class == "delivered"
    assert classify("f", "", "", "").bounce_class == "complaint"
    assert classify("r", "", "", "").bounce_class == "received"
    assert classify("rs", "", "", "").bounce_class == "status"


def test_reputation_deferrals_are_flagged():
    gmail = classify("t", "", "smtp;421-4.7.28 [203.0.113.10] Our system has detected an unusual rate of "
                     "unsolicited mail originating from your IP address. - gsmtp", "")
    yahoo = classify("t", "", "smtp;421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred", "")
    full = classify("t", "", "smtp;452 4.2.2 Mailbox full", "")
    assert gmail.reputation and yahoo.reputation and not full.reputation


def test_enhanced_code_prefers_the_specific_code_in_nested_diagnostics():
    assert enhanced_code("450 4.0.0 (undefined status);421 4.7.0 try later") == "4.7.0"
    assert enhanced_code("550 5.1.1 user unknown") == "5.1.1"
    assert enhanced_code("no code 1.2.3.4 here") == ""


def test_expiry_uses_the_last_reply_when_it_is_specific():
    generic = classify("b", "4.4.7 (delivery time expired)", "smtp;451 4.7.1 Please try again later", "message-expired")
    specific = classify("b", "4.4.7 (delivery time expired)", "smtp;421 4.7.0 [TSS04] Messages from 203.0.113.10 "
                        "temporarily deferred due to unexpected volume or user complaints", "message-expired")
    assert (generic.bounce_class, generic.reason) == ("soft", "expired")
    assert (specific.bounce_class, specific.reason) == ("block", "badreputation")


def test_an_over_long_reply_is_classified_by_its_start():
    from emailengine.bounces.classify import CLASSIFY_CHARS, CachedClassifier

    start = "smtp;550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual mailbox table "
    # 250,000 characters of one token (without an "@", the address mask would scan it quadratically)
    verdict = CachedClassifier()("b", "5.1.1 (bad destination mailbox address)", start + "x" * 250_000, "")
    assert (verdict.bounce_class, verdict.reason) == ("hard", "userunknown")
    hidden = CachedClassifier()("b", "5.0.0", "smtp;550 " + "x" * CLASSIFY_CHARS + " user unknown", "")
    assert hidden.reason != "userunknown"  # text past the limit is not read
