"""Score sheet (积分登记表) import: each row awards one rule to one person (or their household).

The whole sheet is one capture with an idempotency key derived from its content, so the
same sheet imported twice awards nothing the second time, whatever the file format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bounds import DateBounds, date_bounds, quantity_refusal
from ..capture import CaptureResult, Line, capture, find_batch
from ..errors import Refused
from ..ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from ..moves import Residence
from ..policy import require
from ..registry import Group, Household, StaffUser, Village, Villager
from ..review import approve
from ..rules import Rule, rules_by_code
from .errors import ImportErrors, RowError
from .reader import Column, SheetRow, Table
from .values import as_text, content_digest, parse_date, parse_quantity

SCORE_COLUMNS = (
    Column("date", ("日期", "活动日期", "时间")),
    Column("group", ("村民小组", "组别", "小组"), required=False),
    Column("name", ("姓名", "户主姓名", "户主")),
    Column("rule_code", ("细则编号", "编号", "规则编号", "项目编号")),
    Column("item", ("积分项目", "项目"), required=False),
    Column("quantity", ("数量", "时长", "星级"), required=False),
    Column("recorder", ("记录人", "登记人"), required=False),
    Column("note", ("备注",), required=False),
)


@dataclass
class ScoreReport:
    dry_run: bool
    rows: int = 0
    pending: int = 0
    posted: int = 0
    points: int = 0
    capped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # rows that match entries recorded before
    batch_id: int | None = None

    def lines(self) -> list[str]:
        verb = "would record" if self.dry_run else "recorded"
        state = "posted" if self.posted else "waiting for review"
        out = [f"{verb} {self.rows} rows, {self.points} points ({state})"]
        if self.already:
            out.append(f"warning: {len(self.already)} rows match entries recorded before (check for a double entry)")
            out += [f"  {a}" for a in self.already]
        out += [f"cap reached: {c}" for c in self.capped]
        out += [f"skipped {s}" for s in self.skipped]
        return out


def _people_index(session: Session, village: Village) -> People:
    rows = session.execute(
        select(Villager, Group.name, Household.number)
        .join(Household, Villager.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(Villager.village_id == village.id)
    ).all()
    index: People = defaultdict(list)
    for v, gname, hno in rows:
        index[v.name].append((v, gname, hno))
    return index


def sheet_key(lines: list[Line]) -> str:
    """The import's idempotency key: the parsed content, sorted, so that the same rows re-sorted,
    re-typed (2026/11/5 for 2026-11-05) or with an empty 数量 filled in with 1 are the same import."""
    content = sorted((str(ln.occurred_on), ln.villager_id or 0, ln.rule_code or "", ln.quantity) for ln in lines)
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return "import:scores:v2:" + hashlib.sha256(body.encode()).hexdigest()


def _already_imported(session: Session, village: Village, key: str) -> None:
    if (first := find_batch(session, village, key)) is not None:
        raise Refused(
            "already_imported",
            f"this score sheet was already imported on {first.created_at:%Y-%m-%d %H:%M} UTC "
            f"by {first.actor.username}; nothing was awarded again",
            at=first.created_at,
            by=first.actor.username,
        )


def _matches(session: Session, village: Village, lines: list[Line], rules: dict[str, Rule]) -> list[str]:
    """Rows that match an entry already posted or waiting for review: same day, rule, subject, quantity."""
    if not lines:
        return []
    days = [ln.occurred_on for ln in lines if ln.occurred_on is not None]  # every parsed line has its day
    lo, hi = min(days), max(days)
    rule_ids = {rules[ln.rule_code].id for ln in lines if ln.rule_code in rules}
    found: dict[tuple[dt.date, int | None, int | None, int], str] = {}
    for model, status, label in (
        (LedgerEntry, LedgerEntry.kind.in_((EntryKind.award, EntryKind.deduction)), "posted"),
        (Submission, Submission.status == SubmissionStatus.pending, "waiting for review"),
    ):
        for day, rid, vid, hid, qty in session.execute(
            select(model.occurred_on, model.rule_id, model.villager_id, model.household_id, model.quantity).where(
                model.village_id == village.id, model.rule_id.in_(rule_ids), model.occurred_on.between(lo, hi), status
            )
        ):
            found.setdefault((day, rid, vid, qty), label)
            if hid is not None:
                found.setdefault((day, rid, -hid, qty), label)
    villagers = {
        v.id: v
        for v in session.execute(select(Villager).where(Villager.id.in_({ln.villager_id for ln in lines}))).scalars()
    }
    residence = Residence(session, villagers.values())
    out = []
    for ln in lines:
        rule = rules.get(ln.rule_code or "")
        if rule is None or ln.occurred_on is None:  # not so for a parsed line
            continue
        version = rule.version_on(ln.occurred_on)
        person = villagers.get(ln.villager_id) if ln.villager_id is not None else None
        subject = ln.villager_id
        if version is not None and version.is_household and person is not None:
            subject = -residence.household_on(person.id, ln.occurred_on)
        state = found.get((ln.occurred_on, rule.id, subject, ln.quantity))
        if state:
            out.append(
                f"{ln.ref}: {ln.occurred_on} {ln.rule_code} × {ln.quantity} for "
                f"{person.name if person is not None else '?'} is already {state}"
            )
    return out


People = dict[str, list[tuple[Villager, str, str]]]  # name -> (villager, group name, 户号)


def _person(err: Callable[..., None], people: People, name: str | None, group: str | None) -> Villager | None:
    """The one villager a row names (by name, and group when given); errors say why there is none."""
    if not name:
        err("name", "row.empty", "is empty")
        return None
    found = people.get(name, [])
    if group:
        in_group = [c for c in found if c[1] == group]
        if not in_group and found:
            elsewhere = ", ".join(sorted({c[1] for c in found}))
            err(
                "name",
                "row.not_in_group",
                f"no {name} in {group}; found in {elsewhere}",
                name=name,
                group=group,
                found=elsewhere,
            )
        found = in_group
    if not found and not (group and people.get(name)):
        err("name", "row.no_villager", f"no villager named {name}" + (f" in {group}" if group else ""), name=name)
    elif len(found) > 1:
        cands = "; ".join(f"{c[0].name} ({c[1]}, 户号 {c[2]})" for c in found)
        err(
            "name",
            "row.ambiguous",
            f"{name} is ambiguous: {cands}; add the 村民小组 column value",
            name=name,
            candidates=cands,
        )
    elif found:
        return found[0][0]
    return None


def _parse_row(
    r: SheetRow, col: dict[str, str], bounds: DateBounds, rules: dict[str, Rule], people: People, errors: list[RowError]
) -> Line | None:
    """One row as a capture line, or None after adding its errors (every error of the row, not the first)."""
    v = r.values

    def err(k: str, code: str, reason: str, **params: object) -> None:
        errors.append(RowError(r.number, col.get(k, k), v.get(k), reason, code, params))

    bad = len(errors)
    day: dt.date | None
    try:
        day = parse_date(v["date"])
    except (ValueError, TypeError) as exc:
        err("date", "row.bad_date", str(exc), detail=str(exc))
        day = None
    code = as_text(v["rule_code"])
    rule = rules.get(code) if code else None
    if day is not None and (refused := bounds.refusal(day)) is not None:
        err("date", refused.code, refused.message, **refused.params)
        day = None
    version = None
    if rule is None:
        if not code:
            err("rule_code", "row.empty", "is empty")
        else:
            err("rule_code", "unknown_rule", "is not a rule in this village's rule book", rule=code)
    elif day is not None and (version := rule.version_on(day)) is None:
        err("rule_code", "rule_not_in_effect", f"rule {code} is not in effect on {day}", rule=code, day=day.isoformat())
    try:
        qty = parse_quantity(v.get("quantity"))
    except ValueError as exc:
        err("quantity", "row.bad_quantity", str(exc), detail=str(exc))
        qty = 1
    else:
        if (
            rule is not None
            and version is not None
            and (refused := quantity_refusal(version.quantity_limit, version.per, version.unit, rule.code, qty))
            is not None
        ):
            err("quantity", refused.code, refused.message, **refused.params)
    person = _person(err, people, as_text(v["name"]), as_text(v.get("group")))
    if len(errors) > bad or person is None or day is None:
        return None
    recorder = as_text(v.get("recorder"))
    note = "; ".join(x for x in (as_text(v.get("note")), f"记录人 {recorder}" if recorder else None) if x)
    return Line(
        villager_id=person.id, quantity=qty, note=note or None, ref=f"row {r.number}", rule_code=code, occurred_on=day
    )


def import_scores(
    session: Session,
    village: Village,
    table: Table,
    *,
    by: StaffUser,
    approve_as: StaffUser | None = None,
    dry_run: bool = False,
    filename: str | None = None,
    now: dt.datetime | None = None,
) -> ScoreReport:
    """Validate every row, then capture them all in one idempotent call (and approve them)."""
    if approve_as is not None:
        if approve_as.id == by.id:
            raise Refused("maker_checker", "--approve-as must be a different person from --by")
        require(approve_as, village, "review")
    # The same file as before (the key of earlier versions): say so before reading the rows.
    _already_imported(session, village, "import:scores:" + content_digest(table))
    bounds = date_bounds(session, village, now)
    rules = rules_by_code(session, village)
    people = _people_index(session, village)
    errors: list[RowError] = []
    parsed: list[tuple[dt.date, int, Line]] = []
    for order, r in enumerate(table.rows):
        line = _parse_row(r, table.columns, bounds, rules, people, errors)
        if line is not None and line.occurred_on is not None:
            parsed.append((line.occurred_on, order, line))
    if errors:
        raise ImportErrors(errors)
    parsed.sort(key=lambda t: (t[0], t[1]))  # date order, then sheet order
    lines = [p[2] for p in parsed]
    key = sheet_key(lines)
    _already_imported(session, village, key)
    already = _matches(session, village, lines, rules)
    skipped = [f"row {s.number} ({s.reason}): {s.text}" for s in table.skipped]
    # The capture runs in its own session inside a SAVEPOINT of the caller's transaction:
    # a dry run or a refused row rolls it back and leaves nothing behind, not even objects
    # in the caller's identity map.
    session.flush()
    inner = Session(bind=session.connection(), join_transaction_mode="create_savepoint")
    try:
        report = _capture_sheet(
            inner,
            inner.get_one(Village, village.id),
            lines,
            key,
            skipped,
            by=inner.get_one(StaffUser, by.id),
            approve_as=inner.get(StaffUser, approve_as.id) if approve_as else None,
            dry_run=dry_run,
            filename=filename,
            now=now,
        )
        report.already = already
        if dry_run:
            inner.rollback()
        else:
            inner.commit()
    finally:
        inner.close()
    session.expire_all()
    return report


def _capture_sheet(
    session: Session,
    village: Village,
    lines: list[Line],
    key: str,
    skipped: list[str],
    *,
    by: StaffUser,
    approve_as: StaffUser | None,
    dry_run: bool,
    filename: str | None,
    now: dt.datetime | None,
) -> ScoreReport:
    result: CaptureResult = capture(
        session, actor=by, village=village, lines=lines, key=key, source="import", label=filename, now=now
    )
    if result.replayed:
        # Another import of the same sheet committed while this one was being read: say so,
        # and leave its captures (and their review) alone.
        _already_imported(session, village, key)
    refused = [lr for lr in result.lines if lr.status in ("refused", "duplicate")]
    if refused:
        raise ImportErrors(
            [
                RowError(
                    int(lr.ref.split()[1]) if lr.ref else None,
                    None,
                    None,
                    lr.message or lr.code or "",
                    lr.code,
                    lr.params,
                )
                for lr in refused
            ]
        )
    report = ScoreReport(dry_run=dry_run, rows=len(lines), batch_id=result.batch_id, skipped=skipped)
    for lr in result.lines:
        report.points += lr.points
        if lr.status == "capped":
            report.capped.append(f"{lr.ref}: {lr.points} of {lr.requested} points count")
    if approve_as is not None:
        subs = (
            session.execute(
                select(Submission)
                .where(Submission.batch_id == result.batch_id, Submission.status == SubmissionStatus.pending)
                .order_by(Submission.line_no)
            )
            .scalars()
            .all()
        )
        approve(session, subs, approve_as, now=now)
        report.posted = len(subs)
    else:
        report.pending = len(lines)
    return report
