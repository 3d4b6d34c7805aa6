"""The DPIA draft's fixed wording: facts about how deskwatch works, risks, open items.

Every safeguard stated here is a property of the product (each names where it lives);
configuration-dependent statements are built from the live settings in ``dpia.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deskwatch.privacy.categories import REVIEWED_TYPES


@dataclass(frozen=True)
class Recipient:
    who: str
    sees: str


@dataclass(frozen=True)
class Risk:
    """A risk to workers; ``when`` names the category (or "snapshot") it needs, if any."""

    risk: str
    likelihood: str
    severity: str
    mitigations: str
    when: str | None = None


SPECIAL: dict[str, str] = {
    "identity": (
        "Biometric data used to identify a person: special-category data (GDPR Art. 9). "
        "Only on explicit consent (Art. 9(2)(a)), which the worker can withdraw at any time; "
        "deskwatch refuses any other legal basis and any setting that stops objection."
    ),
    "environment": (
        "Room audio in a worker's home: only the sound level and how much of it is speech "
        "are measured, on the PC, and only by agents set up with a microphone "
        "('deskwatch agent run --audio mic'); elsewhere switching this category on collects "
        "nothing. No sound is recorded, stored, transcribed or sent."
    ),
    "security": "Can reveal other people in the worker's home (another person in view).",
}

# What a category reads beyond the video detectors its rules need (each rule's declared needs).
EXTRA_DETECTORS: dict[str, tuple[str, ...]] = {
    "environment": (
        "room audio on agents set up with a microphone: level and voice activity only "
        "(webrtcvad), analysed in memory and dropped",
    ),
    "identity": (
        "1:1 face verification (dlib 128-d descriptors) against a template kept encrypted "
        "on the worker's own PC, never uploaded; liveness from the face mesh",
        "or, for a worker who declines biometrics, re-confirmation with their password",
    ),
}

BALANCING: dict[str, tuple[str, str]] = {
    "security": (
        "Card-data rules (PCI DSS) forbid recording card numbers; at home the employer "
        "cannot see the room. Checks for a phone aimed at the screen, another person, or a "
        "covered camera are the least intrusive way found to notice these risks: no video, "
        "audio or screenshot is kept, only the event.",
        "Workers expect card-data controls in a contact centre; events are reviewed by a "
        "person before any consequence and can be disputed. The interest in protecting "
        "customers' card data is judged to outweigh the intrusion. To confirm.",
    ),
    "conduct": (
        "Long looks away and eating at the desk matter for service quality, but a "
        "supervisor's ordinary management (call quality reviews) may be enough. Record why "
        "that is not sufficient, or switch this category off.",
        "Intrusive relative to its benefit: it watches behaviour, not security. Workers may "
        "object by default. The privacy officer must weigh this per team. To decide.",
    ),
    "environment": (
        "Background noise and another voice can reach customers on calls; headsets with "
        "noise cancelling are a less intrusive alternative to consider first.",
        "Audio in a home touches family members and private life. Off by default; workers "
        "may object. To decide.",
    ),
    "attendance": (
        "Attendance during scheduled time, as an office would see it.",
        "Shows only at desk / away / paused / offline; a pause needs no reason; with the "
        "category off the agent reports only 'online'. To confirm.",
    ),
    "identity": (
        "Identity should not rest on legitimate interests: biometric data needs consent.",
        "deskwatch refuses any basis but consent for this category.",
    ),
}

TO_COMPLETE: tuple[str, ...] = (
    "Controller's name and contact, and the data protection officer's contact (Art. 13(1)).",
    "Consultation of workers' representatives (works council, trade union) and the date "
    "the affected workers were informed, before deployment (EU AI Act Art. 26(7); national "
    "co-determination law where it applies).",
    "The DPO's opinion (GDPR Art. 35(2)) and the views of workers or their representatives "
    "(Art. 35(9)).",
    "Where the server runs (own data centre or a hosting provider: a processor, Art. 28) "
    "and any transfers outside the EEA.",
    "Necessity: why each category in use is needed and why less intrusive means are not "
    "enough; decisions marked 'To decide' in the balancing tests.",
    "Residual risk after mitigations, sign-off, and prior consultation of the supervisory "
    "authority if a high risk remains (Art. 36).",
    "The date of the next review of this assessment (at least yearly and on every change of "
    "categories).",
)

RISKS: tuple[Risk, ...] = (
    Risk(
        "Workers feel constantly watched at home (chilling effect, stress).",
        "likely",
        "significant",
        "Only events leave the PC, no video or audio; pause at any time without a reason; "
        "categories switched off or objected to are not run; this notice before deployment.",
    ),
    Risk(
        "A wrong detection leads to an unfair consequence.",
        "possible",
        "significant",
        "No automated decision (GDPR Art. 22): events that can lead to a consequence count "
        "only once a person confirms them; any other event the worker disputes stops counting "
        "until a person confirms it, and a rejected event never counts (in adherence, its "
        "time away counts as at the desk).",
    ),
    Risk(
        "A supervisor or admin looks at data without a need, or beyond their team.",
        "possible",
        "limited",
        "Supervisors see only their teams; every read of someone else's data (the live "
        "board and the admin's lists included) is in the HMAC-chained audit log that the "
        "privacy officer reads, and each worker sees the reads that covered them.",
    ),
    Risk(
        "Data kept longer than needed, or a breach of the server.",
        "possible",
        "limited",
        "No images or audio on the server (unless evidence snapshots are enabled, sealed); "
        "per-category retention purged on a schedule; device tokens and passwords hashed.",
    ),
    Risk(
        "Household members or visitors are detected (another person, another voice).",
        "possible",
        "significant",
        "Only the fact 'another person/voice' is recorded, never who or what was said; "
        "nothing is recorded while paused.",
        when="security",
    ),
    Risk(
        "Biometric identity check: special-category data; consent at work may not be free.",
        "possible",
        "maximum",
        "Off unless enabled; explicit consent that can be withdrawn at any time without "
        "detriment; the template never leaves the PC and the server receives only the "
        "outcome; mismatches are reviewed by a person; a password alternative is offered.",
        when="identity",
    ),
    Risk(
        "Evidence snapshots show the inside of the worker's home.",
        "possible",
        "significant",
        "Only for security or conduct events, sealed on the PC with the server's key, kept at "
        "most 7 days, never for identity or audio.",
        when="snapshot",
    ),
    Risk(
        "Room audio reveals private conversations.",
        "unlikely",
        "significant",
        "Only level and voice activity are measured, in memory on the PC; no recording, no "
        "speech recognition; the microphone opens only while the category is on and the "
        "worker has not objected or paused; off by default; events wait for human review.",
        when="environment",
    ),
)


METRICS = Recipient(
    "The IT team's monitoring (Prometheus /metrics, on)",
    "Counts and timings only, with a bearer token: how many agents are in each status, "
    "heartbeats and events received, purges; never a name, username, team or agent id.",
)


def identity_provider(host: str) -> Recipient:
    return Recipient(
        f"The identity provider ({host}, single sign-on, on)",
        "A processor for sign-in: it learns when each user signs in to deskwatch; deskwatch "
        "receives from it their subject id, username, name and groups (the groups set role "
        "and team), and sends it nothing about monitoring.",
    )


WFM = Recipient(
    "The workforce-management (WFM) system (a WFM token is valid)",
    "Every agent's live state (at desk, away, paused, offline…) with its username, and each "
    "day's adherence in intervals against the imported schedule; read with a token an "
    "admin created, every read in the audit log; revoking the token ends it.",
)


def recipients(*, metrics: bool = False, sso: str = "", wfm: bool = False) -> list[Recipient]:
    """Who sees what (enforced by the server's role checks); the metrics scraper while
    ``metrics_enabled`` is on; the identity provider (its host ``sso``) while single
    sign-on is set up; the WFM system while a WFM token is valid."""
    provider = [identity_provider(sso)] if sso else []
    extra = [*([METRICS] if metrics else []), *provider, *([WFM] if wfm else [])]
    return [*_people(), *extra, _NOBODY_ELSE]


_NOBODY_ELSE = Recipient(
    "Nobody else",
    "deskwatch sends nothing to its vendor or any third party; a hosting provider, if "
    "any, is a processor (to complete).",
)


def _people() -> list[Recipient]:
    return [
        Recipient(
            "The worker",
            "Their own status, timeline and events (with CSV export), their categories and "
            "objections, their requests; comments and disputes on their events.",
        ),
        Recipient(
            "Supervisors of the worker's team",
            "Live status, timelines, events and reports of their own teams' agents only; "
            "they confirm or reject the events that can lead to a consequence, and any event "
            "a worker disputes.",
        ),
        Recipient(
            "Admins",
            "All teams' status, events and reports; devices, users, policies and category "
            "settings.",
        ),
        Recipient(
            "Privacy officer",
            "The audit log, data-subject requests and this DPIA; not the monitoring data itself.",
        ),
    ]


def safeguards(*, snapshots: bool, purge_every_s: float) -> list[str]:
    """What the product does to protect workers, as configured now."""
    frames = (
        "Video and audio are analysed on the worker's PC; frames and audio never leave the "
        "analysing process and are never written to disk."
    )
    if snapshots:
        frames += (
            " Exception enabled by a team: for security/conduct events one still image is "
            "sealed on the PC with the server's public key and kept at most 7 days."
        )
    reviewed = ", ".join(sorted(REVIEWED_TYPES))
    purge = (
        f"A retention purge runs every {purge_every_s / 3600:g} h and deletes data past its "
        "category's retention (also `deskwatch purge`)."
        if purge_every_s > 0
        else "The scheduled retention purge is OFF (purge_every_s = 0): run `deskwatch purge` "
        "regularly or switch it on."
    )
    return [
        frames,
        "Only typed events (type, start and end, confidence, numeric evidence) and a status "
        "(at desk, away, paused, camera problem, online, offline) reach the server; where "
        "attendance is off for a worker the agent reports only 'online', never presence.",
        "The worker can pause monitoring at any time without giving a reason; the camera is "
        "off while paused and the server sees only 'paused'.",
        "Categories a team switches off, or a worker objects to, are switched off on the "
        "worker's PC: their detectors are never started.",
        "No decision based solely on automated processing (GDPR Art. 22): events that can "
        f"lead to a consequence ({reviewed}) arrive pending and count in reports only once a "
        "person confirms them. Other events (away, identity not verified, self-check) and "
        "adherence (time at the desk, from the status history) count as recorded unless the "
        "worker disputes them: a disputed event waits for a person, a rejected one never "
        "counts, and the time shown away because of a rejected away event counts as at the "
        "desk.",
        "Workers can comment on and dispute each event.",
        "Every read of a worker's data by a supervisor, admin or privacy officer (timelines, "
        "events, stills, reports, the live board of each team, the device and user lists, "
        "the audit log itself), and every change of settings, is written to an append-only "
        "audit log chained with HMAC-SHA256 under a key kept outside the database, with a "
        "head record beside the key (`deskwatch audit verify` detects edited, deleted, "
        "truncated and forged entries). Each worker sees the reads that covered them in "
        "My data.",
        purge,
        "Data-subject rights: workers see and export their own data; erasure and "
        "rectification requests are tracked to completion by the privacy officer, and an "
        "erasure deletes the worker's monitoring data (events with comments and stills, "
        "status history, password re-confirmations, their imported schedule, when their PCs "
        "were last seen); the "
        "account, objections, device registry and audit log are kept.",
        "No emotion recognition (EU AI Act Art. 5(1)(f)): the policy loader refuses any "
        "configuration that asks for it.",
        "Device tokens and enrolment codes are stored only as SHA-256 hashes; passwords as "
        "Argon2 hashes.",
        "Role scoping: supervisors see only their teams; the privacy officer sees the audit "
        "log, not the monitoring data.",
    ]


def notice_paragraphs(*, supervisors: int, listens: bool = False) -> list[str]:
    """The worker notice's fixed paragraphs: what happens, who sees it, rights. ``listens``:
    room noise is monitored for the team."""
    devices = (
        "your PC's camera and, for room noise, its microphone (the sound level and how much "
        "of it is speech, nothing else)"
        if listens
        else "your PC's camera (never its microphone)"
    )
    return [
        f"deskwatch uses {devices} while you work from home. "
        "The analysis happens on your PC: no video or sound is recorded or sent. Only short "
        "events (what happened and when) reach the server.",
        f"Who sees it: you; your team's supervisors ({supervisors}); the system's admins. "
        "The privacy officer sees who looked at your data, not the data itself.",
        "You can pause at any time without giving a reason. No emotion is ever read. No "
        "decision about you is made by the system alone: an event that could have a "
        "consequence counts only once a person has confirmed it, and you can comment on or "
        "dispute any event; a disputed event counts only if a person confirms it.",
        "Your rights: see and download your data, ask for it to be corrected or erased, "
        "object where offered (in deskwatch, on your data page, or by writing to the privacy "
        "officer), and complain to the data protection authority. Contact: "
        "[privacy officer — to complete].",
    ]
