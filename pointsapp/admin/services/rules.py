"""The rule book for admins: a table by category, version history, a change with a dry run
(old → new values, and who would have gained or lost in the last closed month), and the YAML
upload/download. Every change goes through the core's apply_rulebook, which versions it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...points.ledger import ClosedPeriod, EntryKind, LedgerEntry
from ...points.periods import cap_window, parse_month, previous_month_of
from ...points.registry import Household, StaffUser, Village
from ...points.rules import (
    LoadReport,
    Rule,
    RuleBook,
    RuleSpec,
    RuleVersion,
    apply_rulebook,
    export_rulebook,
    parse_rulebook,
    rules_by_code,
)
from ...points.policy import require
from . import audit

DIFF_FIELDS = (
    "name",
    "category",
    "points",
    "per",
    "unit",
    "scope",
    "caps",
    "evidence",
    "logged_by",
    "max_quantity",
    "effective_from",
    "effective_to",
)


def _row(rule: Rule) -> dict:
    row = _row_of_version(rule.latest)
    row.update(code=rule.code, version=rule.latest.version)
    return row


def rule_table(session: Session, actor: StaffUser, village: Village) -> list[dict]:
    """[{category, rules: [row...]}] in rule-book order (first appearance of each category)."""
    require(actor, village, "village.admin")
    rules = sorted(rules_by_code(session, village).values(), key=lambda r: r.id)
    groups: dict[str, list[dict]] = {}
    for rule in rules:
        groups.setdefault(rule.latest.category, []).append(_row(rule))
    return [{"category": c, "rules": rows} for c, rows in groups.items()]


def get_rule(session: Session, village: Village, code: str) -> Rule | None:
    return session.execute(select(Rule).where(Rule.village_id == village.id, Rule.code == code)).scalar_one_or_none()


def history(rule: Rule) -> list[dict]:
    out = []
    for v in reversed(rule.versions):
        row = _row_of_version(v)
        row.update(version=v.version, note=v.version_note, created_at=v.created_at)
        out.append(row)
    return out


def _row_of_version(v: RuleVersion) -> dict:
    """Raw values (caps as a dict, logged_by as a tuple); the view puts them into words."""
    return {
        "name": v.name,
        "category": v.category,
        "points": v.points,
        "per": v.per,
        "unit": v.unit,
        "scope": str(getattr(v.scope, "value", v.scope)),
        "caps": v.caps,
        "evidence": v.evidence,
        "logged_by": v.logged_by_roles,
        "since": v.effective_from,
        "until": v.effective_to,
        "max_quantity": v.max_quantity,
    }


def _comparable(spec: RuleSpec, name: str):
    value = getattr(spec, name)
    if name == "caps":
        return tuple(sorted(value.items()))
    if name == "logged_by":
        return tuple(sorted(value))
    return value


def spec_diff(old: RuleSpec, new: RuleSpec) -> list[dict]:
    """[{field, old, new}] for every field that differs (raw values)."""
    return [
        {"field": f, "old": getattr(old, f), "new": getattr(new, f)}
        for f in DIFF_FIELDS
        if _comparable(old, f) != _comparable(new, f)
    ]


def build_spec(fields: dict) -> RuleBook:
    """Validate one rule's fields with the core's own YAML rules; raises RuleBookError."""
    raw = {k: v for k, v in fields.items() if v not in (None, "", {}) or k == "caps"}
    if not raw.get("caps"):
        raw.pop("caps", None)
    note = raw.pop("version_note", None)
    doc = {"rules": [raw]}
    if note:
        doc["version_note"] = note
    return parse_rulebook(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


def change_rule(
    session: Session,
    actor: StaffUser,
    village: Village,
    rule: Rule,
    book: RuleBook,
    *,
    dry_run: bool,
    ip: str | None = None,
) -> LoadReport:
    """A new version of one rule (through the core). Dry run writes nothing."""
    require(actor, village, "village.admin")
    if rule.village_id != village.id or len(book.rules) != 1 or book.rules[0].code != rule.code:
        raise ValueError("the rule book must hold exactly this rule")
    old = rule.latest.spec()
    report = apply_rulebook(session, village, book, by_id=actor.id, dry_run=dry_run)
    if not dry_run and (report.changed or report.retired):
        session.refresh(rule, ["versions"])
        audit(
            session,
            actor,
            village,
            "rule.change",
            f"rule {rule.code}",
            ip,
            code=rule.code,
            version=rule.latest.version,
            effective_from=book.rules[0].effective_from,
            changes={d["field"]: [str(d["old"]), str(d["new"])] for d in spec_diff(old, book.rules[0])},
            note=book.version_note,
        )
    return report


def load_book(
    session: Session,
    actor: StaffUser,
    village: Village,
    text: str,
    *,
    dry_run: bool,
    filename: str | None = None,
    ip: str | None = None,
) -> LoadReport:
    """Apply a whole uploaded YAML rule book; raises RuleBookError listing every problem."""
    require(actor, village, "village.admin")
    report = apply_rulebook(session, village, parse_rulebook(text), by_id=actor.id, dry_run=dry_run)
    if not dry_run and (report.added or report.changed or report.retired):
        audit(
            session,
            actor,
            village,
            "rule.upload",
            filename,
            ip,
            added=report.added,
            changed=report.changed,
            retired=report.retired,
        )
    return report


def export_book(session: Session, actor: StaffUser, village: Village) -> str:
    require(actor, village, "village.admin")
    return export_rulebook(session, village)


# --- what the change would have done to the last closed month ------------------------------


@dataclass
class Impact:
    month: str | None
    closed: bool
    entries: int = 0
    rows: list[dict] = field(default_factory=list)  # households whose total would differ
    old_total: int = 0
    new_total: int = 0

    @property
    def gainers(self) -> int:
        return sum(1 for r in self.rows if r["delta"] > 0)

    @property
    def losers(self) -> int:
        return sum(1 for r in self.rows if r["delta"] < 0)


def _last_month(session: Session, village: Village, today: dt.date) -> tuple[str, bool]:
    closed = session.execute(
        select(ClosedPeriod.month)
        .where(ClosedPeriod.village_id == village.id)
        .order_by(ClosedPeriod.month.desc())
        .limit(1)
    ).scalar()
    if closed:
        return closed, True
    return previous_month_of(today), False


def impact(session: Session, village: Village, rule: Rule, new: RuleSpec, today: dt.date) -> Impact:
    """Recompute the rule's entries of the last closed month (or last month if none is closed) with
    the new points and caps, per household. Read-only. Day and month caps are applied in the
    order the entries were posted; a year cap counts what the subject already had earlier that year."""
    month, closed = _last_month(session, village, today)
    period = parse_month(month)
    entries = list(
        session.execute(
            select(LedgerEntry)
            .where(
                LedgerEntry.village_id == village.id,
                LedgerEntry.rule_id == rule.id,
                LedgerEntry.kind.in_([EntryKind.award, EntryKind.deduction]),
                LedgerEntry.occurred_on.between(period.start, period.end),
            )
            .order_by(LedgerEntry.occurred_on, LedgerEntry.seq)
        ).scalars()
    )
    result = Impact(month, closed, len(entries))
    if not entries:
        return result
    household_scope = new.scope == "household"
    caps = new.caps if new.points > 0 else {}
    used: dict[tuple, int] = defaultdict(int)
    if "year" in caps:
        lo, _ = cap_window("year", period.start)
        for e in session.execute(
            select(LedgerEntry).where(
                LedgerEntry.village_id == village.id,
                LedgerEntry.rule_id == rule.id,
                LedgerEntry.occurred_on >= lo,
                LedgerEntry.occurred_on < period.start,
            )
        ).scalars():
            subject = e.household_id if household_scope or e.villager_id is None else e.villager_id
            used[("year", lo, subject)] += e.points
    old_by: dict[int, int] = defaultdict(int)
    new_by: dict[int, int] = defaultdict(int)
    for e in entries:
        old_by[e.household_id] += e.points
        requested = new.points * (e.quantity or 1)
        subject = e.household_id if household_scope or e.villager_id is None else e.villager_id
        granted = requested
        if caps and requested > 0:
            keys = [(p, cap_window(p, e.occurred_on)[0], subject) for p in caps]
            room = min(caps[k[0]] - used[k] for k in keys)
            granted = max(0, min(requested, room))
            for k in keys:
                used[k] += granted
        new_by[e.household_id] += granted
    households = {h.id: h for h in session.execute(select(Household).where(Household.id.in_(set(old_by)))).scalars()}
    for hid in old_by:
        h = households[hid]
        delta = new_by[hid] - old_by[hid]
        result.old_total += old_by[hid]
        result.new_total += new_by[hid]
        if delta:
            result.rows.append(
                {
                    "number": h.number,
                    "head": h.head_name,
                    "group": h.group.name,
                    "old": old_by[hid],
                    "new": new_by[hid],
                    "delta": delta,
                }
            )
    result.rows.sort(key=lambda r: (-r["delta"], r["number"]))
    return result
