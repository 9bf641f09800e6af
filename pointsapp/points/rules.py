"""The rule book (积分细则): rules, their versions, and the YAML format they load from.

A rule is identified by its stable ``code``. Every change creates a new version that applies
from its ``effective_from``; entries keep the version they were awarded under, so a later
version never rescores the past.
"""

from __future__ import annotations

import datetime as dt
import enum
import reprlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .db import Base, UTCDateTime, str_enum, utcnow
from .bounds import closed_through
from .registry import Village

PER = ("occasion", "unit")
SCOPES = ("person", "household")
EVIDENCE = ("none", "sign_in", "photo", "document")
LOGGERS = ("grid_worker", "reviewer", "admin")
CAP_PERIODS = ("day", "month", "year")
FIELDS = (
    "code",
    "name",
    "category",
    "points",
    "per",
    "unit",
    "scope",
    "caps",
    "evidence",
    "logged_by",
    "effective_from",
    "effective_to",
    "max_quantity",
)
# Bounds that keep every line's points (points x quantity) far inside a 32-bit column.
MAX_POINTS = 100_000  # |points| of one rule
MAX_QUANTITY_LIMIT = 10_000  # the largest max_quantity a rule may state
DEFAULT_MAX_QUANTITY = 1_000  # per-unit rules that state none (hours, stars, points of a special award)
RESERVED_CODES = ("SP-00",)  # the special-award rule; only the system defines it

REQUIRED = ("code", "name", "category", "points", "per", "unit", "scope", "evidence", "logged_by", "effective_from")


class Scope(enum.StrEnum):
    person = "person"
    household = "household"


class Rule(Base):
    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("village_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))

    versions: Mapped[list[RuleVersion]] = relationship(back_populates="rule", order_by="RuleVersion.version")

    @property
    def latest(self) -> RuleVersion:
        return self.versions[-1]

    def version_on(self, day: dt.date) -> RuleVersion | None:
        """The version in effect on ``day``: the latest that started on or before it."""
        current = None
        for v in self.versions:
            if v.effective_from <= day:
                current = v
        if current is None or (current.effective_to is not None and day > current.effective_to):
            return None
        return current


class RuleVersion(Base):
    __tablename__ = "rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50))
    points: Mapped[int] = mapped_column(Integer)
    per: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(16))
    scope: Mapped[Scope] = mapped_column(str_enum(Scope))
    cap_day: Mapped[int | None] = mapped_column(Integer)
    cap_month: Mapped[int | None] = mapped_column(Integer)
    cap_year: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(String(16))
    logged_by: Mapped[str] = mapped_column(String(100))  # comma-separated roles
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    max_quantity: Mapped[int | None] = mapped_column(Integer)  # per-unit rules; None: DEFAULT_MAX_QUANTITY
    version_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    rule: Mapped[Rule] = relationship(back_populates="versions")

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def logged_by_roles(self) -> tuple[str, ...]:
        return tuple(r for r in self.logged_by.split(",") if r)

    @property
    def caps(self) -> dict[str, int]:
        return {p: getattr(self, f"cap_{p}") for p in CAP_PERIODS if getattr(self, f"cap_{p}") is not None}

    @property
    def quantity_limit(self) -> int:
        """The most one line may count: 1 for a per-occasion rule, else the stated maximum."""
        return 1 if self.per == "occasion" else (self.max_quantity or DEFAULT_MAX_QUANTITY)

    @property
    def is_household(self) -> bool:
        return self.scope == Scope.household  # also before a flush, when it may still be the text

    def spec(self) -> RuleSpec:
        return RuleSpec(
            code=self.rule.code,
            name=self.name,
            category=self.category,
            points=self.points,
            per=self.per,
            unit=self.unit,
            scope=str(getattr(self.scope, "value", self.scope)),
            caps=self.caps,
            evidence=self.evidence,
            logged_by=self.logged_by_roles,
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            max_quantity=self.max_quantity,
        )


@dataclass(frozen=True)
class RuleSpec:
    """One rule as written in the YAML file."""

    code: str
    name: str
    category: str
    points: int
    per: str
    unit: str
    scope: str
    caps: dict[str, int]
    evidence: str
    logged_by: tuple[str, ...]
    effective_from: dt.date
    effective_to: dt.date | None = None
    max_quantity: int | None = None

    def content(self) -> tuple[object, ...]:
        """What makes two versions different (dates excluded)."""
        return (
            self.name,
            self.category,
            self.points,
            self.per,
            self.unit,
            self.scope,
            tuple(sorted(self.caps.items())),
            self.evidence,
            tuple(sorted(self.logged_by)),
            self.max_quantity,
        )

    def as_yaml_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "category": self.category,
            "points": self.points,
            "per": self.per,
            "unit": self.unit,
            "scope": self.scope,
        }
        if self.caps:
            d["caps"] = {p: self.caps[p] for p in CAP_PERIODS if p in self.caps}
        d.update(evidence=self.evidence, logged_by=list(self.logged_by), effective_from=self.effective_from)
        if self.effective_to:
            d["effective_to"] = self.effective_to
        if self.max_quantity is not None:
            d["max_quantity"] = self.max_quantity
        return d


class RuleBookError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class RuleBook:
    rules: list[RuleSpec]
    version_note: str | None = None


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise ValueError(f"not a date: {_show(value)}")


# Limits on an uploaded rule book, checked while it is read, before any value is built:
# a few hundred rules need far less. Aliases (``*name``) are allowed, but the document they
# expand to is counted, so a few hundred bytes of nested aliases cannot grow to gigabytes.
MAX_RULEBOOK_BYTES = 1_000_000
MAX_RULEBOOK_EXPANDED = 2_000_000  # characters of text (and 1 per list/mapping) once aliases are expanded
MAX_RULEBOOK_ALIASES = 1_000

_shown = reprlib.Repr()
_shown.maxstring = _shown.maxother = 60
_shown.maxlist = _shown.maxdict = _shown.maxtuple = _shown.maxset = 4
_shown.maxlevel = 2


def _show(value: Any) -> str:
    """A value for an error message: bounded, whatever its size (never the whole expansion)."""
    return _shown.repr(value)


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """``yaml.SafeLoader`` that counts the expanded size of the document while composing it."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}
        self._aliases = 0
        self._total = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_RULEBOOK_ALIASES:
                raise _TooBig(f"more than {MAX_RULEBOOK_ALIASES} aliases (*name)")
            event = self.peek_event()
            anchored = self.anchors.get(event.anchor)
            self._count(self._sizes.get(id(anchored), 1) if anchored is not None else 1)
            return super().compose_node(parent, index)
        before = self._total
        node = super().compose_node(parent, index)
        self._count(max(1, len(node.value)) if isinstance(node, yaml.ScalarNode) else 1)
        self._sizes[id(node)] = self._total - before
        return node

    def _count(self, n: int) -> None:
        self._total += n
        if self._total > MAX_RULEBOOK_EXPANDED:
            raise _TooBig(
                f"its aliases (*name) expand to more than {MAX_RULEBOOK_EXPANDED // 1_000_000} million characters"
            )


class _TooBig(yaml.YAMLError):  # type: ignore[misc]
    pass


def _load_yaml(text: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULEBOOK_BYTES:
        raise RuleBookError([f"the file is larger than {MAX_RULEBOOK_BYTES // 1000} KB; a rule book is much smaller"])
    loader = None
    try:
        loader = _BoundedLoader(text)  # the reader checks the characters here already
        return loader.get_single_data()
    except _TooBig as exc:
        raise RuleBookError([f"the file is too large: {exc}"]) from None
    except yaml.YAMLError as exc:
        raise RuleBookError([f"not valid YAML: {str(exc)[:500]}"]) from None
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:  # e.g. a date like 2026-02-30
        raise RuleBookError([f"not valid YAML: {str(exc)[:200]}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def parse_rulebook(text: str) -> RuleBook:
    """Parse and validate a YAML rule book. Raises RuleBookError listing every problem."""
    data = _load_yaml(text)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RuleBookError(["the file needs a top-level 'rules:' list"])
    errors: list[str] = []
    specs: list[RuleSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["rules"], start=1):
        spec = _parse_rule(i, raw, seen, errors)
        if spec is not None:
            specs.append(spec)
    if errors:
        raise RuleBookError(errors)
    note = data.get("version_note")
    if isinstance(note, (dict, list)):
        raise RuleBookError([f"field 'version_note' must be text, got {_show(note)}"])
    return RuleBook(rules=specs, version_note=str(note) if note is not None else None)


def _parse_rule(i: int, raw: object, seen: set[str], errors: list[str]) -> RuleSpec | None:
    """The ``i``-th rule of the file, or None after adding every problem it has to ``errors``."""
    where = f"rule #{i}"
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a mapping of fields")
        return None
    code = raw.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)  # "code: 101" means the text 101
    if isinstance(code, str) and code.strip():
        code = code.strip()
        where = f"rule {code[:40]}"
    before = len(errors)
    if code not in (None, "") and not isinstance(code, str):
        errors.append(f"{where}: field 'code' must be text, got {_show(code)}")
        return None
    for key in raw:
        if key not in FIELDS:
            errors.append(f"{where}: unknown field {_show(key)}")
    for key in REQUIRED:
        if raw.get(key) in (None, ""):
            errors.append(f"{where}: field '{key}' is required")
    if len(errors) > before or not isinstance(code, str):  # code: required, and text (checked above)
        return None
    if code in seen:
        errors.append(f"{where}: field 'code' is used twice in this file")
    seen.add(code)
    for key in ("name", "category", "unit"):
        if not isinstance(raw[key], str):
            errors.append(f"{where}: field '{key}' must be text, got {_show(raw[key])}")
    points = raw["points"]
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors.append(f"{where}: field 'points' must be a non-zero whole number, got {_show(points)}")
    elif abs(points) > MAX_POINTS:
        errors.append(f"{where}: field 'points' must be between -{MAX_POINTS} and {MAX_POINTS}, got {points!r}")
    max_quantity = raw.get("max_quantity")
    if max_quantity is not None:
        if (
            isinstance(max_quantity, bool)
            or not isinstance(max_quantity, int)
            or not 1 <= max_quantity <= MAX_QUANTITY_LIMIT
        ):
            errors.append(
                f"{where}: field 'max_quantity' must be a whole number from 1 to "
                f"{MAX_QUANTITY_LIMIT}, got {max_quantity!r}"
            )
        elif raw["per"] == "occasion" and max_quantity != 1:
            errors.append(
                f"{where}: field 'max_quantity' must be 1 or left out for a per-occasion rule "
                f"(one line counts one occasion), got {max_quantity!r}"
            )
    for key, allowed in (("per", PER), ("scope", SCOPES), ("evidence", EVIDENCE)):
        if raw[key] not in allowed:
            errors.append(f"{where}: field '{key}' must be one of {', '.join(allowed)}, got {_show(raw[key])}")
    logged_by = raw["logged_by"]
    if isinstance(logged_by, str):
        logged_by = [logged_by]
    if not isinstance(logged_by, list) or not logged_by or any(r not in LOGGERS for r in logged_by):
        errors.append(
            f"{where}: field 'logged_by' must list roles from {', '.join(LOGGERS)}, got {_show(raw['logged_by'])}"
        )
        logged_by = []
    caps = _parse_caps(where, raw.get("caps") or {}, points, errors)
    dates = _parse_dates(where, raw, errors)
    if len(errors) > before:
        return None
    return RuleSpec(
        code=code,
        name=raw["name"].strip(),
        category=raw["category"].strip(),
        points=points,
        per=raw["per"],
        unit=raw["unit"].strip(),
        scope=raw["scope"],
        caps={p: caps[p] for p in CAP_PERIODS if p in caps},
        evidence=raw["evidence"],
        logged_by=tuple(logged_by),
        effective_from=dates["effective_from"],
        effective_to=dates.get("effective_to"),
        max_quantity=max_quantity if raw["per"] == "unit" else None,
    )


def _parse_caps(where: str, caps: object, points: object, errors: list[str]) -> dict[str, int]:
    if not isinstance(caps, dict):
        errors.append(f"{where}: field 'caps' must map day/month/year to points, got {_show(caps)}")
        return {}
    for period, cap in caps.items():
        if period not in CAP_PERIODS:
            errors.append(f"{where}: field 'caps' has unknown period '{period}' (use day, month, year)")
        elif isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
            errors.append(f"{where}: field 'caps.{period}' must be a positive whole number of points, got {_show(cap)}")
    if caps and isinstance(points, int) and points < 0:
        errors.append(f"{where}: field 'caps' applies to awards only; this rule deducts points")
    return caps


def _parse_dates(where: str, raw: dict[str, Any], errors: list[str]) -> dict[str, dt.date]:
    dates = {}
    for key in ("effective_from", "effective_to"):
        if raw.get(key) is None:
            continue
        try:
            dates[key] = _as_date(raw[key])
        except (ValueError, TypeError):
            errors.append(f"{where}: field '{key}' must be a date like 2026-01-01, got {_show(raw[key])}")
    if "effective_to" in dates and "effective_from" in dates and dates["effective_to"] < dates["effective_from"]:
        errors.append(f"{where}: field 'effective_to' is before 'effective_from'")
    return dates


@dataclass
class LoadReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"added {c}" for c in self.added]
        out += [f"changed {c}" for c in self.changed]
        out += [f"retired {c}" for c in self.retired]
        out.append(
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.retired)} retired, {len(self.unchanged)} unchanged"
        )
        return out


def rules_by_code(session: Session, village: Village) -> dict[str, Rule]:
    rows = session.execute(select(Rule).where(Rule.village_id == village.id)).scalars()
    return {r.code: r for r in rows}


def _new_version(rule: Rule, spec: RuleSpec, number: int, note: str | None, by_id: int | None) -> RuleVersion:
    return RuleVersion(
        rule=rule,
        version=number,
        name=spec.name,
        category=spec.category,
        points=spec.points,
        per=spec.per,
        unit=spec.unit,
        scope=spec.scope,
        cap_day=spec.caps.get("day"),
        cap_month=spec.caps.get("month"),
        cap_year=spec.caps.get("year"),
        evidence=spec.evidence,
        logged_by=",".join(spec.logged_by),
        effective_from=spec.effective_from,
        effective_to=spec.effective_to,
        max_quantity=spec.max_quantity,
        version_note=note,
        created_by_id=by_id,
    )


def apply_rulebook(
    session: Session, village: Village, book: RuleBook, *, by_id: int | None = None, dry_run: bool = False
) -> LoadReport:
    """Create versions for new and changed rules. Validates everything before writing anything.

    The reserved special-award rule (SP-00) cannot be defined by a rule book, and no version may
    start or end in or before the latest closed month: what was posted there stays as it was.
    """
    return _apply_rulebook(session, village, book, by_id=by_id, dry_run=dry_run)


def _apply_rulebook(
    session: Session, village: Village, book: RuleBook, *, by_id: int | None, dry_run: bool, reserved: bool = False
) -> LoadReport:
    existing = rules_by_code(session, village)
    report = LoadReport()
    errors: list[str] = []
    plan: list[tuple[str, RuleSpec, Rule | None]] = []
    closed = closed_through(session, village)
    for spec in book.rules:
        if spec.code in RESERVED_CODES and not reserved:
            errors.append(
                f"rule {spec.code}: field 'code' {spec.code} is reserved for special awards outside "
                "the rule book; give the rule another code"
            )
            continue
        rule = existing.get(spec.code)
        if rule is None:
            plan.append(("add", spec, None))
            continue
        latest = rule.latest
        old = latest.spec()
        if old.content() == spec.content() and old.effective_from == spec.effective_from:
            if old.effective_to != spec.effective_to:
                plan.append(("retire", spec, rule))
            else:
                report.unchanged.append(spec.code)
            continue
        if spec.effective_from <= latest.effective_from:
            errors.append(
                f"rule {spec.code}: field 'effective_from' must be after {latest.effective_from} "
                f"(the start of version {latest.version}) for a changed rule, got {spec.effective_from}"
            )
            continue
        plan.append(("change", spec, rule))
    for action, spec, rule in plan:
        if closed is None or reserved:
            continue
        key, day = (
            ("effective_to", spec.effective_to) if action == "retire" else ("effective_from", spec.effective_from)
        )
        if day is not None and day <= closed.end:
            errors.append(
                f"rule {spec.code}: field '{key}' {day} is in or before {closed.month}, which is "
                f"closed; a {'new version' if action != 'retire' else 'retirement'} must date from "
                f"{closed.end + dt.timedelta(days=1)} or later"
            )
    if errors:
        raise RuleBookError(errors)
    for action, spec, rule in plan:
        if action == "add":
            report.added.append(spec.code)
            if not dry_run:
                rule = Rule(village_id=village.id, code=spec.code)
                session.add(rule)
                session.add(_new_version(rule, spec, 1, book.version_note, by_id))
        elif action == "change":
            report.changed.append(spec.code)
            assert rule is not None  # a change and a retirement are planned with their rule
            if not dry_run:
                session.add(_new_version(rule, spec, rule.latest.version + 1, book.version_note, by_id))
        else:
            report.retired.append(spec.code)
            assert rule is not None
            if not dry_run:
                rule.latest.effective_to = spec.effective_to
    session.flush()
    return report


def load_rulebook_text(
    session: Session, village: Village, text: str, *, by_id: int | None = None, dry_run: bool = False
) -> LoadReport:
    return apply_rulebook(session, village, parse_rulebook(text), by_id=by_id, dry_run=dry_run)


class _FlowDumper(yaml.SafeDumper):  # type: ignore[misc]
    pass


def _flow_dict(dumper: Any, data: dict[str, Any]) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


def export_rulebook(session: Session, village: Village) -> str:
    """The current rule book (latest version of each rule) in the format it loads from."""
    rules = sorted(
        (r for r in rules_by_code(session, village).values() if r.code not in RESERVED_CODES), key=lambda r: r.id
    )
    notes = [r.latest.version_note for r in rules if r.latest.version_note]
    lines = ["# 积分细则 exported by pointsapp"]
    if notes:
        lines.append(yaml.safe_dump({"version_note": notes[-1]}, allow_unicode=True).rstrip())
    lines.append("rules:")
    for rule in rules:
        d = rule.latest.spec().as_yaml_dict()
        text = yaml.dump(
            d, Dumper=_FlowDumper, allow_unicode=True, default_flow_style=True, sort_keys=False, width=10_000
        ).strip()
        lines.append(f"  - {text}")
    return "\n".join(lines) + "\n"


_FlowDumper.add_representer(dict, _flow_dict)


# A reserved rule for special awards outside the rule book: one point per unit, so the
# quantity is the number of points; admin-only, so it always needs a second person to approve.
SPECIAL_AWARD = RuleSpec(
    code="SP-00",
    name="细则外特别奖励",
    category="特殊贡献",
    points=1,
    per="unit",
    unit="分",
    scope="person",
    caps={},
    evidence="document",
    logged_by=("admin",),
    effective_from=dt.date(2000, 1, 1),
)


def special_award_rule(session: Session, village: Village, *, by_id: int | None = None) -> Rule:
    """The village's special-award rule, created on first use."""
    rule = rules_by_code(session, village).get(SPECIAL_AWARD.code)
    if rule is None:
        _apply_rulebook(
            session,
            village,
            RuleBook([SPECIAL_AWARD], "细则外特别奖励（系统保留）"),
            by_id=by_id,
            dry_run=False,
            reserved=True,
        )
        rule = rules_by_code(session, village)[SPECIAL_AWARD.code]
    return rule
