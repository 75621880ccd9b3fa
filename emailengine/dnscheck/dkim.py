"""DKIM key record checks (RFC 6376 §3.6.1, RFC 8301, RFC 8463) and the published-key match.

Pure over the Resolver protocol and bytes: the caller reads the private key file PowerMTA signs
with and passes its content (or the read error). Grading follows the reference note §5.1:
error for missing/unparsable/revoked/unknown k/s excluding email/h excluding sha256/RSA < 1024/
key mismatch; warning for RSA < 2048 (or > 8192), t=y, v= not first.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from emailengine.dnscheck.findings import Finding, Problem, dns_failure, fold
from emailengine.dnscheck.resolver import DnsTempError, Resolver, txt_strings

CHECK = "dkim"
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def selector_name(selector: str, domain: str) -> str:
    """Return the DNS name of a DKIM key record."""
    return f"{selector}._domainkey.{domain}"


def parse_tag_list(text: str) -> dict[str, str]:
    """Parse an RFC 6376 §3.2 tag-list into {tag: value}; raise ValueError on bad syntax or duplicates."""
    tags: dict[str, str] = {}
    for index, part in enumerate(text.split(";")):
        if not part.strip():
            if index == len(text.split(";")) - 1:
                continue  # a trailing ";" is allowed
            raise ValueError("empty tag (two ';' in a row)")
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or not _TAG.match(name):
            raise ValueError(f"malformed tag {part.strip()[:30]!r}")
        if name in tags:
            raise ValueError(f"tag {name}= appears twice")
        tags[name] = value.strip()
    return tags


def load_private_key(pem: bytes) -> Any:
    """Return the private key object of a PEM (PKCS#1 or PKCS#8, RSA or Ed25519); raise ValueError."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not an unencrypted PEM private key ({error})") from None


def public_record_value(private_key: Any) -> str:
    """Return the DKIM TXT value (`v=DKIM1; k=...; p=...`) for the public half of private_key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    public = private_key.public_key()
    if isinstance(private_key, rsa.RSAPrivateKey):
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    raise ValueError(f"unsupported DKIM key type {type(private_key).__name__}")


def check_dkim(resolver: Resolver, domain: str, selector: str | None, private_pem: bytes | None = None,
               key_error: str | None = None) -> Finding:
    """Check the key record of selector at domain against the private key PowerMTA uses.

    private_pem: content of the key file (None when not configured); key_error: why it could not
    be read. Return one Finding for (domain, "dkim"): DNS failures are errors, never ok.
    """
    if not selector:
        return Finding(domain, CHECK, "error", f"no DKIM selector is configured for {domain}: mail is unsigned",
                       "generate a key and set it with `ee domain add/update --dkim-selector --dkim-key`, "
                       "then publish `ee dns records`")
    name = selector_name(selector, domain)
    try:
        answer = resolver.query(name, "TXT")
    except DnsTempError as error:
        return dns_failure(domain, CHECK, error, f"the DKIM key at {name}")
    records = txt_strings(answer)
    details: dict[str, Any] = {"selector": selector, "name": name, "records": records}
    fix_publish = f"publish the TXT record from `ee dns records {domain}` at {name}"
    if not records:
        return Finding(domain, CHECK, "error", f"no DKIM key is published at {name}: every signature fails",
                       fix_publish, details)
    problems: list[Problem] = []
    if len(records) > 1:
        problems.append(Problem("error", f"{len(records)} TXT records at {name}; verifiers need exactly one",
                                "delete all but the current key record"))
    key, summary = _check_record(records[0], problems, fix_publish, details)
    _check_match(key, private_pem, key_error, problems, fix_publish, details)
    return fold(domain, CHECK, problems, f"DKIM key {name} is valid ({summary}) and matches the signing key",
                details)


def _check_record(text: str, problems: list[Problem], fix_publish: str, details: dict[str, Any]) -> tuple[Any, str]:
    """Validate the tag-list; append problems; return (public key object or None, summary)."""
    try:
        tags = parse_tag_list(text)
    except ValueError as error:
        problems.append(Problem("error", f"the DKIM record does not parse: {error}", fix_publish))
        return None, ""
    details["tags"] = {k: v for k, v in tags.items() if k != "p"}
    if "v" in tags:
        if tags["v"] != "DKIM1":
            problems.append(Problem("error", f"v={tags['v']} is not DKIM1", fix_publish))
        elif next(iter(tags)) != "v":
            problems.append(Problem("warning", "v=DKIM1 is not the first tag (RFC 6376 §3.6.1)", fix_publish))
    key_type = tags.get("k", "rsa").lower()
    if key_type not in ("rsa", "ed25519"):
        problems.append(Problem("error", f"k={tags.get('k')} is not a DKIM key type (rsa or ed25519)", fix_publish))
        return None, ""
    hashes = [h.strip().lower() for h in tags["h"].split(":")] if "h" in tags else ["sha256"]
    if "sha256" not in hashes:
        problems.append(Problem("error", f"h={tags['h']} excludes sha256 (sha1 is forbidden by RFC 8301)",
                                "remove the h= tag or set h=sha256"))
    services = [s.strip().lower() for s in tags["s"].split(":")] if "s" in tags else ["*"]
    if "*" not in services and "email" not in services:
        problems.append(Problem("error", f"s={tags['s']} excludes email: the key is not for mail",
                                "remove the s= tag"))
    flags = [f.strip().lower() for f in tags.get("t", "").split(":") if f.strip()]
    if "y" in flags:
        problems.append(Problem("warning", "t=y (testing) is still set: receivers may treat signed mail as "
                                "unsigned", "remove t=y from the record"))
    return _check_key(tags, key_type, problems, fix_publish, details)


def _check_key(tags: dict[str, str], key_type: str, problems: list[Problem], fix_publish: str,
               details: dict[str, Any]) -> tuple[Any, str]:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    if "p" not in tags:
        problems.append(Problem("error", "the DKIM record has no p= tag", fix_publish))
        return None, ""
    data = re.sub(r"\s+", "", tags["p"])
    if not data:
        problems.append(Problem("error", "p= is empty: the key is revoked", fix_publish))
        return None, ""
    if "BEGIN" in data or "-----" in data:
        problems.append(Problem("error", "p= contains PEM armour (-----BEGIN ...)", "publish the base64 body only"))
        return None, ""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        problems.append(Problem("error", "p= is not valid base64 (a quote, space or backslash got in?)",
                                fix_publish))
        return None, ""
    try:
        if key_type == "ed25519":
            key = ed25519.Ed25519PublicKey.from_public_bytes(raw)
            details["key"] = {"type": "ed25519", "bits": 256}
            return key, "ed25519"
        key = load_der_public_key(raw)
    except ValueError:
        problems.append(Problem("error", f"p= does not hold a valid {key_type} public key", fix_publish))
        return None, ""
    if not isinstance(key, rsa.RSAPublicKey):
        problems.append(Problem("error", "k=rsa but p= holds a non-RSA key", fix_publish))
        return None, ""
    bits = key.key_size
    details["key"] = {"type": "rsa", "bits": bits}
    rotate = "generate a 2048-bit RSA key, publish it under a new selector, then switch PowerMTA to it"
    if bits < 1024:
        problems.append(Problem("error", f"the RSA key has {bits} bits; verifiers reject keys under 1024 "
                                "(RFC 8301)", rotate))
    elif bits < 2048:
        problems.append(Problem("warning", f"the RSA key has {bits} bits; 2048 is recommended (RFC 8301, Gmail, "
                                "Yahoo)", rotate))
    elif bits > 8192:
        problems.append(Problem("warning", f"the RSA key has {bits} bits; many verifiers refuse keys over 8192",
                                rotate))
    return key, f"rsa {bits} bits"


def _check_match(key: Any, private_pem: bytes | None, key_error: str | None, problems: list[Problem],
                 fix_publish: str, details: dict[str, Any]) -> None:
    """Compare the published key with the one derived from the private key file (numbers, not text)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if key_error:
        problems.append(Problem("error", f"the signing key file cannot be used: {key_error}",
                                "fix the key path in `ee domain` or the file permissions"))
        return
    if private_pem is None:
        problems.append(Problem("warning", "no private key file is configured, so the published key could not "
                                "be compared with the signing key", "set the key path with `ee domain`"))
        return
    try:
        private = load_private_key(private_pem)
    except ValueError as error:
        problems.append(Problem("error", f"the signing key file is unusable: {error}",
                                "point the domain at PowerMTA's PEM key file"))
        return
    if key is None:
        return
    derived = private.public_key()
    if isinstance(key, rsa.RSAPublicKey) and isinstance(derived, rsa.RSAPublicKey):
        same = key.public_numbers() == derived.public_numbers()
    elif isinstance(key, ed25519.Ed25519PublicKey) and isinstance(derived, ed25519.Ed25519PublicKey):
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        same = key.public_bytes(*raw) == derived.public_bytes(*raw)
    else:
        same = False
    details["matches_private_key"] = same
    if not same:
        problems.append(Problem("error", "the published key does not match the private key PowerMTA signs "
                                "with: every signature fails", fix_publish))
