"""C2PA Content Credentials: who signed the file, what it claims was done, whether it holds.

Pure: bytes in, facts and findings out. c2pa-python reads the manifest with every network
feature off (no remote manifests, no OCSP), so a check is reproducible offline.

What the findings mean:
- `c2pa_signed` (fact): signed by <certificate common name> (<organisation>), with the claim
  generator and the validation state. A signer whose certificate does not chain to a trust
  anchor postcheck was given is stated, not flagged: anyone can make a certificate, so
  "signed" proves integrity since signing, not who the signer is.
- `c2pa_actions` (fact): the claimed actions (created, edited, opened, placed...) with their
  digitalSourceType and software agent.
- `c2pa_invalid` (red flag): validation failed (the bytes changed after signing, a broken
  signature, an assertion changed) or a manifest is there but cannot be decoded. Someone
  changed the file after it was signed, or forged the credentials.
- `c2pa_ai_generated` (red flag): the manifest itself declares the picture made by a
  generative model (IPTC digitalSourceType trainedAlgorithmicMedia) or composited with one
  (compositeWithTrainedAlgorithmicMedia). A red flag because a picture posted as evidence
  of an event that its own credentials call AI-made contradicts the post; the claim is the
  signer's, and it is reported even when the signature does not validate.
- `c2pa_absent` (fact): no manifest. Most files have none and platforms strip them.
- `c2pa_remote` (fact): the manifest lives at a URL; postcheck does not fetch it.
- `c2pa_unreadable` (fact, standalone use only): no C2PA box, and c2pa could not parse
  the bytes at all (not an image it knows). metadata_findings leaves this one out.
"""

from __future__ import annotations

import io
import json
from typing import Any

from postcheck.domain import Finding, ProvenanceFacts

IPTC_AI = "trainedAlgorithmicMedia"
IPTC_AI_COMPOSITE = "compositeWithTrainedAlgorithmicMedia"

# Plain words for the validation codes a person is likely to meet (C2PA spec, 15.x).
FAILURE_MEANING = {
    "assertion.dataHash.mismatch": "the image bytes changed after signing",
    "assertion.boxesHash.mismatch": "the file's boxes changed after signing",
    "assertion.bmffHash.mismatch": "the media data changed after signing",
    "assertion.hashedURI.mismatch": "an assertion changed after signing",
    "assertion.missing": "an assertion the claim lists is missing",
    "claimSignature.mismatch": "the signature does not match the claim",
    "claimSignature.missing": "the claim has no signature",
    "claimSignature.outsideValidity": "signed outside the certificate's validity period",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.expired": "the signing certificate had expired",
    "signingCredential.untrusted": "the signer's certificate is not on a trust list postcheck has",
    "manifest.inaccessible": "the manifest could not be reached",
    "timeStamp.mismatch": "the timestamp does not match the signature",
}
# Failures that say nothing about integrity: who vouches for the signer is a separate fact.
TRUST_ONLY = frozenset({"signingCredential.untrusted", "signingCredential.ocsp.skipped"})

_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_mime(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
            return "image/heif"
        return "video/mp4"
    return None


def has_c2pa_marker(data: bytes) -> bool:
    """A JUMBF box labelled c2pa: there is a manifest store, readable or not."""
    at = data.find(b"jumb")
    return at >= 0 and data.find(b"c2pa", at) >= 0


def _settings(trust_anchors: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    if trust_anchors:
        settings["trust"] = {"user_anchors": trust_anchors}
    return settings


def _text(value: Any) -> str:
    if isinstance(value, dict):
        name = value.get("name") or ""
        version = value.get("version") or ""
        return f"{name} {version}".strip()
    return "" if value is None else str(value)


def _short_source(value: str) -> str:
    """'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia' -> last part."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def _actions(manifest: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict):
            continue
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data")
        actions = data.get("actions") if isinstance(data, dict) else None
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, dict):
                continue
            row = {"action": _text(action.get("action"))}
            if action.get("digitalSourceType"):
                row["digitalSourceType"] = _text(action["digitalSourceType"])
            if action.get("softwareAgent"):
                row["softwareAgent"] = _text(action["softwareAgent"])
            if action.get("when"):
                row["when"] = _text(action["when"])
            params = action.get("parameters")
            if isinstance(params, dict) and params.get("description"):
                row["description"] = _text(params["description"])
            if action.get("description"):
                row["description"] = _text(action["description"])
            out.append(row)
    return out


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info:
        return "; ".join(_text(i) for i in info if i) or None
    return _text(manifest.get("claim_generator")) or None


def _failure(item: dict[str, Any]) -> dict[str, str]:
    code = str(item.get("code", ""))
    return {
        "code": code,
        "explanation": str(item.get("explanation", "")),
        "meaning": FAILURE_MEANING.get(code, ""),
        "url": str(item.get("url", "")),
    }


def _facts_from_store(store: dict[str, Any], state: str | None, sdk: str) -> ProvenanceFacts:
    manifests = store.get("manifests") or {}
    label = store.get("active_manifest")
    active = manifests.get(label) or {}
    sig = active.get("signature_info") or {}
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    raw_failures = results.get("failure")
    if raw_failures is None:  # older readers only give the flat status list
        raw_failures = store.get("validation_status") or []
    raw_failures = list(raw_failures)
    # Ingredients' own manifests fail under `ingredientDeltas`; a broken parent is a
    # broken chain too.
    for delta in (store.get("validation_results") or {}).get("ingredientDeltas") or []:
        raw_failures += (delta.get("validationDeltas") or {}).get("failure") or []
    failures = [_failure(item) for item in raw_failures]
    serious = [f for f in failures if f["code"] not in TRUST_ONLY]
    if state is None:
        state = "Invalid" if serious else "Valid"
    sources: list[str] = []
    for manifest in manifests.values():
        for action in _actions(manifest):
            src = action.get("digitalSourceType")
            if src and _short_source(src) not in sources:
                sources.append(_short_source(src))
    ingredients = [
        {
            "title": _text(i.get("title")),
            "relationship": _text(i.get("relationship")),
            "format": _text(i.get("format")),
        }
        for i in active.get("ingredients") or []
        if isinstance(i, dict)
    ]
    return ProvenanceFacts(
        present=True,
        sdk=sdk,
        active_manifest=label,
        manifest_count=len(manifests),
        title=_text(active.get("title")) or None,
        claim_generator=_claim_generator(active),
        signer=_text(sig.get("common_name")) or None,
        issuer=_text(sig.get("issuer")) or None,
        signed_at=_text(sig.get("time")) or None,
        cert_serial=_text(sig.get("cert_serial_number")) or None,
        algorithm=_text(sig.get("alg")) or None,
        actions=_actions(active),
        digital_source_types=sources,
        ai_generated=IPTC_AI in sources,
        ai_composite=IPTC_AI_COMPOSITE in sources,
        ingredients=ingredients,
        validation_state=state,
        validation_failures=failures,
        passed=state in ("Valid", "Trusted") and not serious,
        trusted=state == "Trusted",
    )


def read_provenance(
    data: bytes, mime: str | None = None, *, trust_anchors: str | None = None
) -> ProvenanceFacts:
    """C2PA facts of a file. Never raises: a missing library, an unsupported format or a
    hostile manifest all come back as facts with `error` set.

    `trust_anchors`: PEM root certificates whose signers count as trusted (the C2PA trust
    list, or a newsroom's own); without them a valid signature reads `Valid`, not `Trusted`.
    """
    try:
        import c2pa
    except Exception as exc:  # the library is optional at run time
        return ProvenanceFacts(readable=False, error=f"c2pa-python unavailable ({exc})")
    marker = has_c2pa_marker(data)
    mime = mime or sniff_mime(data)
    sdk = f"c2pa-python {getattr(c2pa, '__version__', '?')}"
    try:
        sdk += f", c2pa-rs {c2pa.sdk_version()}"
        context = c2pa.Context.from_dict(_settings(trust_anchors))
        reader = c2pa.Reader(mime, io.BytesIO(data), context=context)
    except Exception as exc:
        return _failed_read(exc, marker, sdk)
    try:
        with reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
            facts = _facts_from_store(store if isinstance(store, dict) else {}, state, sdk)
            if not reader.is_embedded():
                facts.remote_url = reader.get_remote_url()
            return facts
    except Exception as exc:
        return ProvenanceFacts(
            present=True,
            readable=False,
            passed=False,
            sdk=sdk,
            error=f"C2PA manifest could not be decoded ({_error_text(exc)})",
        )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__.lstrip('_')}: {str(exc)[:200]}"


def _failed_read(exc: BaseException, marker: bool, sdk: str) -> ProvenanceFacts:
    name = type(exc).__name__.lstrip("_").removeprefix("C2pa")
    if name == "ManifestNotFound" and not marker:
        return ProvenanceFacts(present=False, sdk=sdk)
    if name == "RemoteManifest":
        return ProvenanceFacts(
            present=True,
            readable=False,
            sdk=sdk,
            error=f"the manifest is remote; postcheck does not fetch it ({str(exc)[:200]})",
        )
    if not marker:
        # No C2PA box at all: the format is one c2pa cannot read, or the bytes are no image.
        unsupported = name == "NotSupported"
        return ProvenanceFacts(
            present=False,
            readable=unsupported,
            sdk=sdk,
            error=None if unsupported else f"not read ({_error_text(exc)})",
        )
    return ProvenanceFacts(
        present=True,
        readable=False,
        passed=False,
        sdk=sdk,
        error=f"C2PA manifest present but unreadable ({_error_text(exc)})",
    )


def provenance_findings(facts: ProvenanceFacts) -> list[Finding]:
    """Facts and red flags from Content Credentials (see the module docstring)."""
    if not facts.present:
        if facts.error:
            return [Finding(code="c2pa_unreadable", message=facts.error, source="c2pa")]
        return [
            Finding(
                code="c2pa_absent",
                message="no C2PA Content Credentials (most files have none; platforms strip them)",
                source="c2pa",
            )
        ]
    if facts.remote_url or (not facts.readable and "remote" in (facts.error or "")):
        return [
            Finding(
                code="c2pa_remote",
                message=facts.error or f"C2PA manifest is remote at {facts.remote_url}",
                source="c2pa",
                fields={"remote_url": facts.remote_url},
            )
        ]
    out: list[Finding] = []
    if not facts.readable:
        return [
            Finding(
                code="c2pa_invalid",
                message=facts.error or "C2PA manifest unreadable",
                red_flag=True,
                source="c2pa",
                fields={"error": facts.error},
            )
        ]
    signer = facts.signer or "an unnamed certificate"
    issuer = f" ({facts.issuer})" if facts.issuer else ""
    trust = (
        "signer trusted"
        if facts.trusted
        else "signer not on a trust list postcheck has"
        if facts.passed
        else "validation failed"
    )
    out.append(
        Finding(
            code="c2pa_signed",
            message=(
                f"Content Credentials signed by {signer}{issuer}"
                f"{f', made with {facts.claim_generator}' if facts.claim_generator else ''}: "
                f"{facts.validation_state} ({trust})"
            ),
            source="c2pa",
            fields={
                "signer": facts.signer,
                "issuer": facts.issuer,
                "claim_generator": facts.claim_generator,
                "signed_at": facts.signed_at,
                "validation_state": facts.validation_state,
                "trusted": facts.trusted,
                "manifest": facts.active_manifest,
            },
        )
    )
    if facts.actions:
        described = []
        for a in facts.actions:
            name = a.get("action", "").removeprefix("c2pa.")
            extra = [
                _short_source(a["digitalSourceType"]) if a.get("digitalSourceType") else "",
                f"by {a['softwareAgent']}" if a.get("softwareAgent") else "",
            ]
            detail = ", ".join(x for x in extra if x)
            described.append(f"{name} ({detail})" if detail else name)
        out.append(
            Finding(
                code="c2pa_actions",
                message="claimed actions: " + "; ".join(described),
                source="c2pa",
                fields={"actions": facts.actions},
            )
        )
    if facts.passed is False:
        codes = [f for f in facts.validation_failures if f["code"] not in TRUST_ONLY]
        why = "; ".join(f"{f['code']}: {f['meaning'] or f['explanation']}" for f in codes)
        out.append(
            Finding(
                code="c2pa_invalid",
                message=f"Content Credentials failed validation ({why or facts.validation_state})",
                red_flag=True,
                source="c2pa",
                fields={
                    "validation_state": facts.validation_state,
                    "failures": codes,
                },
            )
        )
    if facts.ai_generated or facts.ai_composite:
        what = (
            "generated by an AI model (trainedAlgorithmicMedia)"
            if facts.ai_generated
            else "composited with AI-generated content (compositeWithTrainedAlgorithmicMedia)"
        )
        out.append(
            Finding(
                code="c2pa_ai_generated",
                message=f"its Content Credentials declare the picture {what}",
                red_flag=True,
                source="c2pa",
                fields={
                    "digitalSourceType": facts.digital_source_types,
                    "signer": facts.signer,
                    "validation_state": facts.validation_state,
                },
            )
        )
    return out
