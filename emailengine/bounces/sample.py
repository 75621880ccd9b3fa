"""Generate realistic PowerMTA accounting CSV (for the benchmark, the demo and tests).

Mix by default: 90% d, 5% b, 3% t, 1% rb, 1% f, over the given source IPs and the big
providers' domains, with real reply texts (quoted fields, commas, doubled quotes), both time
formats, and the MailWizz header columns. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator

HEADER = ("type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,srcType,srcMta,"
          "dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,envId,queue,vmtaPool,"
          "header_Message-Id,header_X-Mw-Campaign-Uid,header_X-Mw-Subscriber-Uid,dsnReportingMta,format,"
          "feedbackType,userAgent,reportingMta,reportedDomain").split(",")

DOMAINS = (
    ("gmail.com", "gmail-smtp-in.l.google.com (142.250.1.26)"),
    ("outlook.com", "outlook-com.olc.protection.outlook.com (104.47.1.33)"),
    ("hotmail.com", "hotmail-com.olc.protection.outlook.com (104.47.2.33)"),
    ("yahoo.com", "mta7.am0.yahoodns.net (67.195.204.72)"),
    ("aol.com", "mx-aol.mail.gm0.yahoodns.net (67.195.204.73)"),
    ("icloud.com", "mx01.mail.icloud.com (17.57.154.6)"),
    ("gmx.de", "mx00.emig.gmx.net (212.227.15.9)"),
    ("example-corp.com", "example-corp-com.mail.protection.outlook.com (52.101.1.2)"),
    ("mail.ru", "mxs.mail.ru (94.100.180.31)"),
    ("example.org", "mx.example.org (198.51.100.40)"),
)

# (status, diag, bounceCat, weight)
BOUNCES = (
    ("5.1.1 (bad destination mailbox address)", "smtp;550-5.1.1 The email account that you tried to reach does "
     "not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. - gsmtp",
     "bad-mailbox", 30),
    ("5.1.1 (bad destination mailbox address)", "smtp;550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown "
     "in virtual mailbox table", "bad-mailbox", 15),
    ("5.2.2 (mailbox full)", "smtp;552 5.2.2 <{rcpt}>: Recipient address rejected: Mailbox is full", "quota-issues", 10),
    ("5.7.1 (delivery not authorized, message refused)", "smtp;554 5.7.1 Service unavailable; Client host [{ip}] "
     "blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}", "spam-related", 10),
    ("5.7.1 (delivery not authorized, message refused)", "smtp;550 5.7.1 Unfortunately, messages from [{ip}] weren't "
     "sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
     "policy-related", 10),
    ("5.7.26 (multiple authentication checks failed)", "smtp;550-5.7.26 This mail has been blocked because the sender "
     "is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp",
     "policy-related", 5),
    ("5.2.1 (mailbox disabled, not accepting messages)", "smtp;550 5.2.1 The email account that you tried to reach is "
     "disabled. - gsmtp", "inactive-mailbox", 10),
    ("5.1.2 (bad destination system: no such domain)", "smtp;550 5.1.2 Host unknown (Name server: {domain}: host not "
     "found)", "bad-domain", 5),
    ("4.4.7 (delivery time expired)", "smtp;451 4.7.1 Please try again later", "message-expired", 5),
)
DEFERRALS = (
    ("4.7.0 (other or undefined security status)", "smtp;421 4.7.0 [TSS04] Messages from {ip} temporarily deferred "
     "due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
     "policy-related", 30),
    ("4.7.28 (other or undefined security status)", "smtp;421-4.7.28 [{ip}      15] Our system has detected an "
     "unusual rate of unsolicited mail originating from your IP address. - gsmtp", "policy-related", 20),
    ("4.2.2 (mailbox full)", "smtp;452 4.2.2 Mailbox full, try again later", "quota-issues", 20),
    ("4.4.1 (no answer from host)", "smtp;421 4.4.1 connection timed out", "no-answer-from-host", 20),
    ("4.2.0 (other or undefined mailbox status)", "smtp;450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, "
     "see http://postgrey.schweikert.ch/help/{domain}.html", "other", 10),
)
D_DIAGS = ("smtp;250 2.0.0 OK  1715677923 a1si123456qkb.12 - gsmtp", "smtp;250 2.0.0 Ok: queued as 4VdX1a2B3c",
           "smtp;250 ok dirdel", "smtp;250 2.6.0 {mid} [InternalId=123] Queued mail for delivery")
ESMTP = "pipelining,size,starttls,8bitmime,enhancedstatuscodes,chunking"


def _pick(rng: random.Random, table: tuple) -> tuple:
    total = sum(row[-1] for row in table)
    point = rng.uniform(0, total)
    for row in table:
        point -= row[-1]
        if point <= 0:
            return row
    return table[-1]


def rows(count: int, ips: list[tuple[str, str]], seed: int = 1, start: int = 1_715_650_000,
         mix: tuple[float, float, float, float, float] = (0.90, 0.05, 0.03, 0.01, 0.01),
         iso_times: bool = True, users: int = 200_000) -> Iterator[list[str]]:
    """Yield `count` accounting rows (after the header) for (ip, vmta) pairs, about 12 per second."""
    rng = random.Random(seed)
    cumulative = []
    total = 0.0
    for share in mix:
        total += share
        cumulative.append(total)
    for index in range(count):
        epoch = start + index // 12
        stamp = _stamp(epoch, iso_times)
        queued = _stamp(epoch - rng.randint(1, 30), iso_times)
        domain, mx = DOMAINS[rng.randrange(len(DOMAINS))]
        user = rng.randrange(users)
        rcpt = f"user{user}@{domain}"
        ip, vmta = ips[rng.randrange(len(ips))]
        mid = f"<{index:x}.{seed}@mailer.example.com>"
        campaign, subscriber = f"cmp{index % 97:05d}", f"sub{user:07d}"
        orig = f"bounces+{index:x}@bounce.example.com"
        point = rng.random() * cumulative[-1]
        row = dict.fromkeys(HEADER, "")
        row.update({"timeLogged": stamp, "timeQueued": queued, "orig": orig, "rcpt": rcpt, "srcType": "smtp",
                    "srcMta": "mailwizz.example.com (192.0.2.5)", "dlvType": "smtp", "dlvSourceIp": ip,
                    "dlvDestinationIp": mx.split("(")[-1].rstrip(")"), "dlvEsmtpAvailable": ESMTP,
                    "dlvSize": str(rng.randint(8000, 60000)), "vmta": vmta, "jobId": campaign,
                    "queue": f"{domain}/{vmta}", "vmtaPool": "main", "header_Message-Id": mid,
                    "header_X-Mw-Campaign-Uid": campaign, "header_X-Mw-Subscriber-Uid": subscriber})
        if point < cumulative[0]:
            row.update({"type": "d", "dsnAction": "relayed", "dsnStatus": "2.0.0 (success)",
                        "dsnDiag": rng.choice(D_DIAGS).format(mid=mid), "dsnMta": mx})
        elif point < cumulative[2]:
            kind = "b" if point < cumulative[1] else "t"
            status, diag, cat, _ = _pick(rng, BOUNCES if kind == "b" else DEFERRALS)
            row.update({"type": kind, "dsnAction": "failed" if kind == "b" else "delayed", "dsnStatus": status,
                        "dsnDiag": diag.format(rcpt=rcpt, ip=ip, domain=domain), "dsnMta": mx, "bounceCat": cat})
        elif point < cumulative[3]:
            status, diag, cat, _ = _pick(rng, BOUNCES[:4])
            row.update({"type": "rb", "dsnAction": "failed", "dsnStatus": status, "dlvSourceIp": "",
                        "dsnDiag": diag.format(rcpt=rcpt, ip=ip, domain=domain), "dsnMta": mx, "bounceCat": cat,
                        "dsnReportingMta": mx.split()[0], "format": "dsn", "vmta": "", "queue": "",
                        "dlvDestinationIp": "", "dlvEsmtpAvailable": "", "dlvSize": ""})
        else:
            row.update({"type": "f", "feedbackType": "abuse", "format": "arf", "userAgent": "Yahoo!-Mail-Feedback/2.0",
                        "reportingMta": "feedback.yahoo.com", "reportedDomain": "example.com",
                        "dlvSourceIp": "203.0.113.200", "vmta": "", "queue": "", "dlvDestinationIp": "",
                        "dlvEsmtpAvailable": "", "dlvSize": ""})
        yield [row[name] for name in HEADER]


def _stamp(epoch: int, iso_times: bool) -> str:
    if not iso_times:
        return str(epoch)
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S+0000")


def generate(count: int, ips: list[tuple[str, str]], seed: int = 1, **options: object) -> Iterator[bytes]:
    """Yield the CSV (header first, CRLF line ends) in chunks of about 1 MiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows(count, ips, seed, **options):  # type: ignore[arg-type]
        writer.writerow(row)
        if buffer.tell() > 1 << 20:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def write_file(path: str, count: int, ips: list[tuple[str, str]], seed: int = 1, **options: object) -> None:
    """Write a generated accounting file."""
    with open(path, "wb") as handle:
        for chunk in generate(count, ips, seed, **options):
            handle.write(chunk)
