"""Bounce classification: the ONE rule table, and the pure function that applies it.

Every record gets a class (delivered, complaint, hard, soft, block; r → received, rs → status)
and a reason from the taxonomy in docs/bounces.md (Sisimai's vocabulary, lower case).

Order of decision for b, rb, t, tq (first hit wins):
1. TEXT_RULES on the remote reply (dsnDiag): provider-specific and phrase rules, most specific
   first, so a 5.7.1 naming a blocklist is a block and a 5.7.1 saying "user unknown" is hard;
2. PowerMTA's own expiry (dsnStatus 4.4.7 / bounceCat message-expired) → soft, expired;
3. CODE_RULES on the enhanced status code (the most specific one in dsnDiag, else dsnStatus);
4. BASIC_CODES on the three-digit SMTP reply code;
5. BOUNCECAT, PowerMTA's guess from the same text, as the last tie-breaker;
6. soft, undefined.
A transient record (t, tq) is never `hard`: the receiver said "try again" (hard → soft).

Each rule carries a real response string it must match; tests/unit/test_bounces_classify.py
checks every example against the whole table, so a rule shadowed by an earlier one fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLASSES = ("delivered", "hard", "soft", "block", "complaint", "received", "status")
REASONS = (
    "userunknown", "hostunknown", "mailboxfull", "blocked", "spamdetected", "policyviolation",
    "toomanyconn", "speeding", "rejected", "norelaying", "securityerror", "authfailure",
    "badreputation", "contenterror", "mesgtoobig", "expired", "systemerror", "systemfull",
    "suspend", "filtered", "notaccept", "requireptr", "virusdetected", "syntaxerror",
    "networkerror", "undefined", "delivered", "feedback", "received", "status",
)


@dataclass(frozen=True)
class Rule:
    """One classification rule: a regex over the reply text (case-insensitive) and its verdict.

    `reputation` marks replies a big provider uses as reputation pushback; a t/tq record
    that matches one counts as rep_deferred in delivery_stats.
    """

    name: str
    pattern: str
    bounce_class: str
    reason: str
    example: str
    reputation: bool = False


@dataclass(frozen=True)
class Verdict:
    """The outcome for one record: class, reason, the rule that decided, reputation flag."""

    bounce_class: str
    reason: str
    rule: str
    reputation: bool = False


H, S, B = "hard", "soft", "block"

# fmt: off
TEXT_RULES: tuple[Rule, ...] = (
    # --- the sender's IP is on a blocklist (named lists first: they beat any code) ---
    Rule("microsoft-banned-ip", r"\bS3150\b|\bS3140\b|\bS3115\b|banned sending ip|5\.7\.6[0-4]\d|"
         r"part of their network is on our block list|\b(SC|OU|DY|RP|CS)-00\d\b",
         B, "blocked",
         "smtp;550 5.7.1 Unfortunately, messages from [203.0.113.10] weren't sent. Please contact your Internet "
         "service provider since part of their network is on our block list (S3150). You can also refer your "
         "provider to http://mail.live.com/mail/troubleshooting.aspx#errors.", reputation=True),
    Rule("dnsbl-named", r"spamhaus|spamcop|\bsorbs\b|uceprotect|barracuda ?(central|reputation|rbl)|b\.barracudacentral|"
         r"psbl|\bivmsip|abuseat|\bcbl\b|hostkarma|0spam|mailspike|senderscore\.org|truncate\.gbudb|"
         r"blocked using|(?<!not )listed (at|on|in|by) |\b(dnsbl|rbl)s?\b|black ?list|block ?list|blacklisted|blocklisted",
         B, "blocked",
         "smtp;554 5.7.1 Service unavailable; Client host [203.0.113.11] blocked using zen.spamhaus.org; "
         "https://www.spamhaus.org/query/ip/203.0.113.11", reputation=True),
    Rule("proofpoint-ipcheck", r"ipcheck\.proofpoint\.com|cloudmark|\bcsi\.cloudmark|"
         r"rejected by .{0,30}reputation service|client host rejected: .{0,40}blocked",
         B, "blocked",
         "smtp;554 5.7.1 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.10", reputation=True),
    # --- reputation pushback of the big providers ---
    Rule("gmail-unusual-rate", r"unusual rate of unsolicited mail|4\.7\.28|5\.7\.28",
         B, "badreputation",
         "smtp;421-4.7.28 [203.0.113.10      15] Our system has detected an unusual rate of unsolicited mail "
         "originating from your IP address. To protect our users from spam, mail sent from your IP address "
         "has been temporarily rate limited. - gsmtp", reputation=True),
    Rule("yahoo-tss", r"\[TS[S]?0\d\]|temporarily deferred due to unexpected volume or user complaints|"
         r"deferred due to user complaints|\bRTR:(BL|GE|DU|RD)\b|\bDYN:T\d\b|\bRLY:B\d\b|\bCON:B1\b",
         B, "badreputation",
         "smtp;421 4.7.0 [TSS04] Messages from 203.0.113.10 temporarily deferred due to unexpected volume "
         "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", reputation=True),
    Rule("reputation-words", r"(low|poor|bad) (ip |domain |sender |sending )?reputation|reputation (of|for) "
         r"(the|your) (ip|domain|sender)|ip reputation|sender reputation|5\.7\.708|5\.7\.750|"
         r"traffic not accepted from this ip|\bBL0000\d\d\b|reputation service|too many (invalid|unknown|bad) recipients|"
         r"(?:your|this) ip (address )?has (a )?(poor|low|bad)",
         B, "badreputation",
         "smtp;550 5.7.1 [203.0.113.10] Our system has detected that this message is suspicious due to the "
         "very low reputation of the sending IP address. - gsmtp", reputation=True),
    Rule("authentication", r"\bdmarc\b|\bspf\b|\bdkim\b|5\.7\.2[346]|5\.7\.50[9]|5\.7\.515|"
         r"unauthenticated|not pass authentication|fails to pass authentication|authentication (checks|failed)|"
         r"sender policy framework|domainkeys",
         B, "authfailure",
         "smtp;550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
         "all senders to authenticate with either SPF or DKIM. - gsmtp"),
    Rule("microsoft-throttle", r"\(S77\d+\)|\bS775\b|4\.7\.(500|650)",
         B, "badreputation",
         "smtp;451 4.7.500 Server busy. Please try again later from [203.0.113.10]. (S77719) "
         "[Name=Protocol Filter Agent]", reputation=True),
    Rule("recipient-rate", r"receiving mail (at a rate|too quickly)|recipient is receiving",
         S, "speeding",
         "smtp;450-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
         "additional messages from being delivered. Please resend your message at a later point. - gsmtp"),
    Rule("rate-limited", r"rate limit|rate-limit|ratelimit|sending rate|too many (messages|mails|emails)|"
         r"exceeded (the )?(message|sending|connection)? ?rate|throttl|slow down|too fast|"
         r"message submission rate|\bHL:(ITC|IHD)\b|too much (mail|traffic)",
         B, "speeding",
         "smtp;452 4.7.0 Rate limit exceeded for 203.0.113.10, try again later", reputation=True),
    Rule("too-many-connections", r"too many (concurrent |simultaneous |smtp |parallel )*(connections|sessions)|"
         r"connection limit|maximum (number of )?connections|too many hosts|too many connects|"
         r"connection rate",
         B, "toomanyconn",
         "smtp;421 4.7.0 mta1234.mail.example.net Error: too many connections from 203.0.113.10"),
    # --- the sender (envelope) is refused, not the recipient ---
    Rule("sender-rejected", r"sender address rejected|sender (domain|address) (does not exist|not found|"
         r"must exist|is invalid)|sender verify failed|sender verification|unverified sender|"
         r"invalid sender|mail from <.{0,40}(rejected|refused)|return.?path|bounce address|outbound sender|"
         r"sender address has null mx",
         B, "rejected",
         "smtp;553 5.1.8 <bounces+c7a1@bounce.example.com>: Sender address rejected: Domain not found"),
    # --- authentication: SPF, DKIM, DMARC ---
    Rule("reverse-dns", r"reverse dns|reverse (hostname|lookup|mapping)|\bptr\b|\brdns\b|5\.7\.25|"
         r"no hostname|cannot find your hostname|client host .{0,40}(unknown|not resolve)|"
         r"does not resolve to|helo .{0,40}(rejected|invalid|not )|bad helo|invalid helo",
         B, "requireptr",
         "smtp;550 5.7.25 [203.0.113.10] The IP address sending this message does not have a PTR record "
         "setup, or the corresponding forward DNS entry does not point to the sending IP. - gsmtp"),
    Rule("relay-denied", r"relay(ing)? (access )?(denied|not permitted|prohibited|not allowed)|unable to relay|"
         r"not permitted to relay|we do not relay|relay not authorized|no relaying|relay attempt",
         B, "norelaying",
         "smtp;554 5.7.1 <user@example.org>: Relay access denied"),
    Rule("tls-required", r"starttls|tls (is )?required|must issue a starttls|encryption required|"
         r"requires? (a )?secure connection|5\.7\.1[01]\b",
         B, "securityerror",
         "smtp;530 5.7.0 Must issue a STARTTLS command first"),
    Rule("virus", r"virus|malware|infected|trojan|\bworm\b|malicious (content|attachment)",
         B, "virusdetected",
         "smtp;554 5.7.1 The message was rejected because it contains prohibited virus or spam content"),
    # --- greylisting, the recipient domain, address syntax (before the broad user-unknown words) ---
    Rule("greylisting", r"grey.?list|gray.?list|greylisted|try again in \d+ (seconds|minutes)|"
         r"please retry later|temporarily rejected|deferred for \d+ seconds|postgrey",
         S, "undefined",
         "smtp;450 4.2.0 <user@example.de>: Recipient address rejected: Greylisted, see "
         "http://postgrey.schweikert.ch/help/example.de.html"),
    Rule("null-mx", r"null ?mx|does not accept (e-?)?mail|accepts no mail|not accept(ing)? mail",
         H, "notaccept",
         "smtp;556 5.1.10 Recipient address rejected: Domain example.org does not accept mail (nullMX)"),
    Rule("host-unknown", r"host (or domain name )?(unknown|not found)|domain (not found|unknown|does not exist|"
         r"doesn.t exist|is not hosted|not hosted)|no such domain|unrouteable (mail )?domain|"
         r"name service error|nxdomain|no (valid )?mx|unresolvable|cannot be resolved|not resolve domain|"
         r"domain .{0,40}(has expired|is not configured)|unknown domain|invalid domain|domaine inexistant|"
         r"dominio (inesistente|inexistente|no existe)|domain existiert nicht",
         H, "hostunknown",
         "smtp;550 5.1.2 Host unknown (Name server: nxdomain.example.org: host not found)"),
    Rule("address-syntax", r"bad address syntax|address syntax|syntax error in (the )?(recipient|address|parameters)|"
         r"invalid address format|malformed address|illegal address|5\.1\.3",
         H, "syntaxerror",
         "smtp;553 5.1.3 The recipient address <john..doe@example.com> is not a valid RFC-5321 address. - gsmtp"),
    # --- the recipient does not exist (hard) ---
    Rule("mailbox-full", r"over ?quota|quota (exceeded|exceed|full|limit)|mailbox (is )?full|mail ?box full|"
         r"exceeded (the )?(storage|quota|mailbox)|out of storage|insufficient (disk )?(space|storage)|"
         r"storage (space )?(limit|quota|exceeded|full)|mailbox size limit|user.?s? mailbox is full|"
         r"full mailbox|inbox (is )?full|"
         r"postfach (ist )?voll|speicherplatz|bo[iî]te (aux lettres )?(pleine|satur)|casilla llena|"
         r"buz[oó]n (lleno|completo)|casella (piena|postale piena)|caixa (postal )?cheia|skrzynka .{0,20}pe[lł]na|"
         r"ящик переполнен|переполнен|превышен\w* (квот|лимит|размер)|mailbox quota|"
         r"size limit.{0,40}mailbox|over the storage|account is full",
         S, "mailboxfull",
         "smtp;452-4.2.2 The email account that you tried to reach is over quota. Please direct the recipient "
         "to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp"),
    Rule("user-unknown-en", r"user(name)? (unknown|not found|does not exist|doesn.t exist|invalid)|unknown user|"
         r"no such (user|mailbox|recipient|account|address|person)|recipient (unknown|not found|invalid|"
         r"does not exist|rejected)|invalid (recipient|mailbox|address|user)|mailbox (unavailable|not found|"
         r"does not exist|doesn.t exist|unknown|invalid|name not allowed)|"
         r"(address|account|mailbox|recipient|user) .{0,40}(does not exist|doesn.t exist|not exist)|"
         r"address rejected|unrouteable address|not a valid (recipient|mailbox|user)|"
         r"no mailbox here by that name|doesn.t have a .{0,30} account|not our customer|"
         r"account (that you tried to reach )?does not exist|unknown (or illegal )?(alias|local.?part|recipient)|"
         r"resolver\.adr\.recipientnotfound|recipientnotfound|rejected: unknown|unknown address|"
         r"undeliverable address|bad destination mailbox|not listed in|no valid recipients|"
         r"user is unknown|this user doesn.t|is not a valid|unknown email address|email address could not be found|"
         r"addressee unknown|account is unavailable|is unavailable: user|no such local user|not a known user",
         H, "userunknown",
         "smtp;550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking "
         "the recipient's email address for typos or unnecessary spaces. - gsmtp"),
    Rule("user-unknown-intl", r"utilisateur inconnu|destinataire inconnu|adresse (e-?mail )?(inconnue|invalide|"
         r"introuvable)|n.existe pas|benutzer unbekannt|unbekannter (benutzer|empf.nger)|empf.nger unbekannt|"
         r"existiert nicht|adresse (ist )?ung.ltig|postfach (existiert nicht|nicht gefunden|unbekannt)|"
         r"nie istnieje|nieznany (u.ytkownik|adresat)|не существует|нет такого|несуществующ|"
         r"пользовател. не найден|неизвестн\w* (пользовател|адрес|получател)|"
         r"no existe|usuario (desconocido|inexistente|no existe)|destinatario (desconocido|inexistente)|"
         r"utente (sconosciuto|inesistente)|indirizzo (inesistente|non valido)|non esiste|"
         r"usu.rio (desconhecido|inexistente|n.o existe)|n.o existe|endere.o (inexistente|inv.lido)|"
         r"gebruiker onbekend|bestaat niet|onbekende gebruiker|kullan.c. bulunamad.|"
         r"不存在|用户不存在|宛先不明|존재하지 않",
         H, "userunknown",
         "smtp;550 5.1.1 <hans@example.de>: Empfänger unbekannt"),
    Rule("mailbox-moved", r"5\.1\.6|mailbox (has )?moved|no longer (available|active|valid)|"
         r"has been (deleted|removed|closed)|account (has been )?(closed|deleted|terminated|removed)|"
         r"address no longer|does no longer exist",
         H, "userunknown",
         "smtp;550 5.1.6 Recipient addresses in this domain no longer valid"),
    # --- the recipient's mailbox is (temporarily) unable (soft) ---
    Rule("mailbox-disabled", r"(account|mailbox|user|address) (is |has been )?(disabled|deactivated|inactive|"
         r"suspended|blocked for inactivity|locked|frozen|not active)|disabled (account|mailbox|user)|"
         r"inactive (account|mailbox|user)|account expired|mailbox (is )?inactive|is disabled|dormant|"
         r"deaktiviert|d[ée]sactiv[ée]|suspendid|disattivat|отключен",
         S, "suspend",
         "smtp;550 5.2.1 The email account that you tried to reach is disabled. - gsmtp"),
    Rule("message-too-big", r"message (size )?(is )?too (big|large)|message size exceeds|exceeds (the )?"
         r"(maximum|max|fixed|size)|size limit|message length exceeds|too large|mail too big|"
         r"5\.3\.4|5\.2\.3|552 5\.2\.3",
         S, "mesgtoobig",
         "smtp;552 5.3.4 Message size exceeds fixed maximum message size"),
    Rule("system-full", r"insufficient system storage|system (storage|disk) (is )?full|disk full|"
         r"no space left|4\.3\.1",
         S, "systemfull",
         "smtp;452 4.3.1 Insufficient system storage"),
    Rule("expired", r"delivery time expired|message expired|retry time(out)? (exceeded|expired)|"
         r"too old|queue(d)? too long|maximum (queue )?time|expired after",
         S, "expired",
         "smtp;554 5.4.7 Delivery expired (message too old) 'timeout'"),
    Rule("network", r"connection (timed out|refused|reset|lost|closed|dropped)|timed out|no route to host|"
         r"lost connection|network (is )?unreachable|no answer from host|unable to connect|could not connect|"
         r"broken pipe|tls handshake|host is down|\btimeout\b|conversation with .{0,60}timed out",
         S, "networkerror",
         "smtp;421 4.4.1 connection timed out"),
    # --- content and policy (after the recipient families: they use broad words) ---
    Rule("spam-content", r"\bspam\b(?![-/]|\.\w)|спам|:\s*bulk\b|looks like spam|spam content|likely unsolicited|unsolicited (mail|bulk)|"
         r"junk mail|phishing|suspicious (message|content|url|link)|message content rejected|"
         r"content (rejected|filter)|bulk mail|\bUBE\b|\bUCE\b|scored as|high spam score|"
         r"spam-?like|spam detected|filtered as",
         B, "spamdetected",
         "smtp;550-5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce "
         "the amount of spam sent to Gmail, this message has been blocked. - gsmtp"),
    Rule("content-error", r"attachment|file type|(url|link)s? (is |are )?(blocked|not allowed|prohibited)|"
         r"contains a (url|link)|prohibited content|message content|\bmime\b|8bit|encoding (is )?not|"
         r"header (is )?(invalid|malformed)|missing (a )?(valid )?[\w-]+ header|invalid header|duplicate header|line too long|bare lf|"
         r"message (is )?(not rfc|malformed)|rfc ?5322|rfc ?2822|5\.6\.\d",
         B, "contenterror",
         "smtp;552 5.7.0 This message was blocked because its content presents a potential security issue. "
         "Please visit https://support.google.com/mail/?p=BlockedMessage to review our message content and "
         "attachment content guidelines. - gsmtp"),
    Rule("policy", r"\bpolicy\b|policies|not authori[sz]ed|administrative prohibition|prohibited|"
         r"access denied|refused|not allowed|denied|rejected for|unacceptable|blocked|block(ed)? by|"
         r"resolver\.rst\.|message rejected|transaction failed|spoof|"
         r"mail rejected|rejected by|abgelehnt|rejet[ée]|rechazad|rifiutat|отклонен",
         B, "policyviolation",
         "smtp;550 5.7.1 Message rejected due to local policy"),
    Rule("system-error", r"internal (server )?error|local error|system error|server error|temporary (local |system )?"
         r"(failure|problem|error)|temporarily unavailable|"
         r"resources temporarily|service (is )?(currently )?unavailable|mail system problem|"
         r"routing (loop|error)|mail loop|too many hops|loop detected",
         S, "systemerror",
         "smtp;451 4.3.0 Temporary local problem - please try later"),
    Rule("421-try-later", r"^\s*421\b.*(try again|later|closing)|^\s*421[ -]",
         B, "blocked",
         "smtp;421 4.7.0 Try again later, closing connection"),
)

# Enhanced status codes: (prefix of "subject.detail", verdict). Longest prefix wins.
CODE_RULES: dict[str, tuple[str, str]] = {
    "1.1": (H, "userunknown"), "1.0": (H, "userunknown"), "1.6": (H, "userunknown"),
    "1.2": (H, "hostunknown"), "1.10": (H, "notaccept"), "1.3": (H, "syntaxerror"),
    "1.4": (H, "userunknown"), "1.5": (H, "userunknown"),
    "1.7": (B, "rejected"), "1.8": (B, "rejected"),
    "2.0": (S, "undefined"), "2.1": (S, "suspend"), "2.2": (S, "mailboxfull"), "2.3": (S, "mesgtoobig"),
    "2.4": (S, "systemerror"),
    "3.0": (S, "systemerror"), "3.1": (S, "systemfull"), "3.2": (S, "notaccept"), "3.3": (S, "systemerror"),
    "3.4": (S, "mesgtoobig"), "3.5": (S, "systemerror"),
    "4.0": (S, "networkerror"), "4.1": (S, "networkerror"), "4.2": (S, "networkerror"),
    "4.3": (S, "networkerror"), "4.4": (S, "networkerror"), "4.5": (S, "systemerror"),
    "4.6": (S, "systemerror"), "4.7": (S, "expired"),
    "5.0": (S, "syntaxerror"), "5.1": (S, "syntaxerror"), "5.2": (S, "syntaxerror"), "5.3": (S, "speeding"),
    "5.4": (S, "syntaxerror"), "5.5": (S, "syntaxerror"),
    "6.0": (B, "contenterror"), "6.1": (B, "contenterror"), "6.2": (B, "contenterror"),
    "6.3": (B, "contenterror"), "6.4": (B, "contenterror"), "6.5": (B, "contenterror"),
    "7.0": (B, "securityerror"), "7.1": (B, "policyviolation"), "7.2": (B, "policyviolation"),
    "7.3": (B, "securityerror"), "7.4": (B, "securityerror"), "7.8": (B, "authfailure"), "7.9": (B, "securityerror"),
    "7.10": (B, "securityerror"), "7.11": (B, "securityerror"),
    "7.13": (S, "suspend"), "7.14": (B, "policyviolation"),
    "7.23": (B, "authfailure"), "7.24": (B, "authfailure"), "7.25": (B, "requireptr"),
    "7.26": (B, "authfailure"), "7.27": (B, "rejected"), "7.28": (B, "badreputation"),
    "7.5": (B, "authfailure"), "7.6": (B, "blocked"), "7.7": (B, "badreputation"),
}
# Codes whose deferral is reputation pushback (rep_deferred).
REPUTATION_CODES = frozenset({"7.28", "7.6", "7.7"})

# Three-digit reply codes without a useful enhanced code.
BASIC_CODES: dict[str, tuple[str, str]] = {
    "421": (B, "blocked"), "450": (S, "undefined"), "451": (S, "systemerror"), "452": (S, "systemfull"),
    "550": (S, "undefined"), "551": (H, "userunknown"), "552": (S, "mailboxfull"),
    "553": (H, "syntaxerror"), "554": (B, "rejected"), "571": (B, "policyviolation"),
}

# PowerMTA bounceCat → verdict (the last tie-breaker; see reference/bounces.md §4).
BOUNCECAT: dict[str, tuple[str, str]] = {
    "bad-mailbox": (H, "userunknown"), "bad-domain": (H, "hostunknown"), "inactive-mailbox": (S, "suspend"),
    "quota-issues": (S, "mailboxfull"), "no-answer-from-host": (S, "networkerror"),
    "bad-connection": (S, "networkerror"), "message-expired": (S, "expired"),
    "routing-errors": (S, "systemerror"), "protocol-errors": (S, "syntaxerror"),
    "bad-configuration": (S, "systemerror"), "policy-related": (B, "policyviolation"),
    "spam-related": (B, "spamdetected"), "content-related": (B, "contenterror"),
    "virus-related": (B, "virusdetected"), "invalid-sender": (B, "rejected"),
    "relaying-issues": (B, "norelaying"),
}
# fmt: on

_COMPILED = tuple((rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in TEXT_RULES)
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"(?:^|;)\s*([245]\d\d)(?=[\s\-]|$)")
_PREFIX = re.compile(r"(?:^|(?<=;))\s*(?:smtp|x-unix|x-local|x-postfix|dns|x-smtp|x-pmta);", re.IGNORECASE)


def reply_text(diag: str) -> str:
    """Return dsnDiag without its `smtp;` type prefixes (nested diagnostics keep their `;`)."""
    return _PREFIX.sub("", diag).strip()


def enhanced_code(text: str) -> str:
    """Return the most specific enhanced status code in a text (`5.7.1` beats `4.0.0`), or ""."""
    codes = [".".join(match) for match in _ENHANCED.findall(text)]
    for code in codes:
        if not code.endswith(".0.0"):
            return code
    return codes[0] if codes else ""


def _code_rule(code: str) -> tuple[str, str, bool] | None:
    """Return (class, reason, reputation) for an enhanced code by its longest known prefix."""
    _, _, subject_detail = code.partition(".")
    subject, _, detail = subject_detail.partition(".")
    for key in (f"{subject}.{detail}", f"{subject}.{detail[:1]}"):
        if key in CODE_RULES:
            bounce_class, reason = CODE_RULES[key]
            return bounce_class, reason, key in REPUTATION_CODES
    return None


def classify_text(status: str, diag: str, bounce_cat: str) -> Verdict:
    """Given dsnStatus, dsnDiag and bounceCat of a failure record, return its Verdict (pure)."""
    text = reply_text(diag)
    if text:
        for rule, regex in _COMPILED:
            if regex.search(text):
                return Verdict(rule.bounce_class, rule.reason, rule.name, rule.reputation)
    status_code = status.split(" ", 1)[0].strip()
    if status_code.startswith(("4.4.7", "5.4.7")) or bounce_cat == "message-expired":
        return Verdict(S, "expired", "pmta-expired")
    code = enhanced_code(text) or (status_code if _ENHANCED.fullmatch(status_code) else "")
    if code and not code.endswith(".0.0"):
        found = _code_rule(code)
        if found:
            return Verdict(found[0], found[1], f"code:{code}", found[2])
    basic = _BASIC.findall(text)
    if basic and basic[-1] in BASIC_CODES:
        bounce_class, reason = BASIC_CODES[basic[-1]]
        return Verdict(bounce_class, reason, f"reply:{basic[-1]}")
    if bounce_cat in BOUNCECAT:
        bounce_class, reason = BOUNCECAT[bounce_cat]
        return Verdict(bounce_class, reason, f"bounceCat:{bounce_cat}")
    return Verdict(S, "undefined", "default")


_FIXED = {
    "d": Verdict("delivered", "delivered", "type:d"),
    "f": Verdict("complaint", "feedback", "type:f"),
    "r": Verdict("received", "received", "type:r"),
    "rs": Verdict("status", "status", "type:rs"),
}


def classify(record_type: str, status: str, diag: str, bounce_cat: str) -> Verdict:
    """Given a record's type, dsnStatus, dsnDiag and bounceCat, return its Verdict (pure).

    d → delivered, f → complaint, r → received, rs → status; b, rb, t, tq by the rules above,
    where t and tq are never hard.
    """
    fixed = _FIXED.get(record_type)
    if fixed is not None:
        return fixed
    verdict = classify_text(status, diag, bounce_cat)
    if verdict.bounce_class == H and record_type in ("t", "tq"):
        return Verdict(S, verdict.reason, verdict.rule, verdict.reputation)
    return verdict


CLASSIFY_CHARS = 4096  # of dsnDiag read by the classifier (records may carry up to 256 KiB)


class CachedClassifier:
    """classify() with a bounded cache keyed by the reply text with addresses, IPs and ids masked.

    Real traffic repeats a few hundred reply shapes; masking what varies per message keeps the
    hit rate high. Rules that look at digits only see codes and short tokens, which are kept.
    """

    _MASK = re.compile(r"[\w.+-]+@[\w.-]+|\b\d{1,3}(?:\.\d{1,3}){3}\b|\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{9,}\b")

    def __init__(self, max_size: int = 20_000) -> None:
        self._cache: dict[tuple[str, ...], Verdict] = {}
        self._max_size = max_size

    def __call__(self, record_type: str, status: str, diag: str, bounce_cat: str, rcpt: str = "") -> Verdict:
        """Return classify(...) for the record, from the cache when an equal shape was seen.

        Only the first CLASSIFY_CHARS characters of dsnDiag are read: real replies are far shorter
        and say what matters first, and masking an unbounded text costs quadratic time.
        With the record's `rcpt`, a reply that differs from one seen only by naming its own
        recipient (the common case: "<rcpt>: Recipient address rejected ...") is found without
        masking; the recipient is masked anyway.
        """
        fixed = _FIXED.get(record_type)
        if fixed is not None:
            return fixed
        if len(diag) > CLASSIFY_CHARS:
            diag = diag[:CLASSIFY_CHARS]
        exact = (record_type, status, diag, bounce_cat)
        verdict = self._cache.get(exact)
        if verdict is not None:
            return verdict
        if len(rcpt) > 2 and rcpt in diag:  # a 5-tuple: never equal to an exact or masked key
            exact = (record_type, status, diag.replace(rcpt, "\x00"), bounce_cat, "")
            verdict = self._cache.get(exact)
            if verdict is not None:
                return verdict
        key = (record_type, status, self._MASK.sub("#", diag), bounce_cat)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = classify(record_type, status, diag, bounce_cat)
            if len(self._cache) >= self._max_size:
                self._cache.clear()
            self._cache[key] = verdict
        if len(self._cache) < self._max_size:
            self._cache[exact] = verdict
        return verdict
