"""Caps (封顶): how many points of a capture still count under a rule's caps."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .ledger import EntryKind, LedgerEntry, Submission, SubmissionStatus
from .periods import cap_window
from .rules import RuleVersion


#: (rule id, cap period, first day of the cap window, subject id)
CapKey = tuple[int, str, dt.date, int]


class CapLedger:
    """Points already used against caps, per rule and subject, counting pending captures.

    Corrections are not counted: a reversed award keeps its place under the cap.

    Sums are fetched with one grouped query per (rule, cap period, window) for all the
    subjects of the call, then kept up to date in memory as lines are granted.
    """

    def __init__(self, session: Session):
        self.session = session
        self.used: dict[CapKey, int] = {}
        self.loaded: set[CapKey] = set()

    def prefetch(self, version: RuleVersion, day: dt.date, subject_ids: set[int]) -> None:
        """Used = posted awards of the rule in the window + captures still pending."""
        for period in version.caps if version.points > 0 else {}:
            lo, hi = cap_window(period, day)
            wanted = {sid for sid in subject_ids if (version.rule_id, period, lo, sid) not in self.loaded}
            if not wanted:
                continue
            found: dict[int, int] = defaultdict(int)
            for model, extra in (
                (LedgerEntry, LedgerEntry.kind == EntryKind.award),
                (Submission, Submission.status == SubmissionStatus.pending),
            ):
                col = model.household_id if version.is_household else model.villager_id
                q = (
                    select(col, func.sum(model.points))
                    .where(model.rule_id == version.rule_id, col.in_(wanted), model.occurred_on.between(lo, hi), extra)
                    .group_by(col)
                )
                if version.is_household:
                    q = q.where(model.villager_id.is_(None))
                for sid, used in self.session.execute(q):
                    if sid is not None:  # the query asks for the wanted ids only
                        found[sid] += int(used or 0)
            for sid in wanted:
                key = (version.rule_id, period, lo, sid)
                self.loaded.add(key)
                self.used[key] = found.get(sid, 0)

    def grant(self, version: RuleVersion, day: dt.date, subject_id: int, requested: int) -> int:
        caps = version.caps if version.points > 0 else {}
        if requested <= 0 or not caps:
            return requested
        self.prefetch(version, day, {subject_id})
        keys = {p: (version.rule_id, p, cap_window(p, day)[0], subject_id) for p in caps}
        room = min(cap - self.used[keys[p]] for p, cap in caps.items())
        granted = max(0, min(requested, room))
        for key in keys.values():
            self.used[key] += granted
        return granted
