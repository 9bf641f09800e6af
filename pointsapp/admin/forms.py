"""Forms of the admin feature (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..points.rules import EVIDENCE, LOGGERS, MAX_QUANTITY_LIMIT, PER, SCOPES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _int_or_none(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=50)])
    sort_key = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(0, 10_000)])
    submit = SubmitField(_l("Save"))


class NewHouseholdForm(FlaskForm):
    group = SelectField(_l("Group"), coerce=int)
    number = StringField(
        _l("Household number (户号)"),
        validators=[DataRequired(_l("Please enter the household number.")), Length(max=20)],
    )
    house_number = StringField(_l("House number (门牌号)"), validators=[Optional(), Length(max=50)])
    submit = SubmitField(_l("Add household"))


class HouseholdForm(FlaskForm):
    group = SelectField(_l("Group"), coerce=int)
    number = StringField(
        _l("Household number (户号)"),
        validators=[DataRequired(_l("Please enter the household number.")), Length(max=20)],
    )
    house_number = StringField(_l("House number (门牌号)"), validators=[Optional(), Length(max=50)])
    head = SelectField(_l("Head of household"), coerce=_int_or_none, validate_choice=True)
    active = BooleanField(_l("Household is active"))
    submit = SubmitField(_l("Save"))


class VillagerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=50)])
    sex = SelectField(_l("Sex"), choices=[("", "—"), ("男", "男"), ("女", "女")], validators=[Optional()])
    birth_year = IntegerField(
        _l("Birth year"), validators=[Optional(), NumberRange(1900, 2100, _l("A year like 1958, please."))]
    )
    birth_month = IntegerField(
        _l("Birth month"), validators=[Optional(), NumberRange(1, 12, _l("A month from 1 to 12, please."))]
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])
    relation = StringField(_l("Relation to the head (与户主关系)"), validators=[Optional(), Length(max=20)])
    make_head = BooleanField(_l("Head of this household"))
    submit = SubmitField(_l("Save"))


class MoveForm(FlaskForm):
    to_number = StringField(
        _l("New household number (户号)"),
        validators=[DataRequired(_l("Please enter the household number.")), Length(max=20)],
    )
    moved_on = DateField(_l("Moved on"), validators=[DataRequired(_l("A date like 2026-11-20, please."))])
    relation = StringField(_l("Relation to the new head"), validators=[Optional(), Length(max=20)])
    make_head = BooleanField(_l("Becomes the head of the new household"))
    submit = SubmitField(_l("Move"))


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"), choices=[("active", _l("Active")), ("moved_out", _l("Moved out")), ("deceased", _l("Deceased"))]
    )
    submit = SubmitField(_l("Change status"))


class RosterUploadForm(FlaskForm):
    file = FileField(
        _l("Roster file (.xlsx, .xls, .ods or .csv)"),
        validators=[
            FileRequired(_l("Please choose a file.")),
            FileAllowed(
                ["xlsx", "xls", "ods", "csv"],
                _l("Only Excel (.xlsx, .xls), OpenDocument (.ods) or .csv files can be imported."),
            ),
        ],
    )
    submit = SubmitField(_l("Check the file"))


class RuleBookUploadForm(FlaskForm):
    file = FileField(
        _l("Rule book (.yaml)"),
        validators=[
            FileRequired(_l("Please choose a file.")),
            FileAllowed(["yaml", "yml"], _l("Only a YAML rule book (.yaml) can be uploaded.")),
        ],
    )
    submit = SubmitField(_l("Check the rule book"))


PER_CHOICES = [("occasion", _l("each time")), ("unit", _l("per unit"))]
SCOPE_CHOICES = [("person", _l("person")), ("household", _l("household"))]
EVIDENCE_CHOICES = [
    ("none", _l("none")),
    ("sign_in", _l("sign-in sheet")),
    ("photo", _l("photo")),
    ("document", _l("document")),
]
LOGGER_CHOICES = [("grid_worker", _l("grid worker")), ("reviewer", _l("reviewer")), ("admin", _l("admin"))]
CAP_LABELS = {"day": _l("per day"), "month": _l("per month"), "year": _l("per year")}
assert [c[0] for c in PER_CHOICES] == list(PER) and [c[0] for c in SCOPE_CHOICES] == list(SCOPES)
assert [c[0] for c in EVIDENCE_CHOICES] == list(EVIDENCE) and [c[0] for c in LOGGER_CHOICES] == list(LOGGERS)


class RuleForm(FlaskForm):
    name = StringField(_l("Rule name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=200)])
    category = StringField(_l("Category"), validators=[DataRequired(_l("Please enter a category.")), Length(max=50)])
    points = IntegerField(_l("Points"), validators=[DataRequired(_l("A whole number other than 0, please."))])
    per = SelectField(_l("Per"), choices=PER_CHOICES)
    unit = StringField(_l("Unit"), validators=[DataRequired(_l("Please enter a unit.")), Length(max=16)])
    scope = SelectField(_l("Scope"), choices=SCOPE_CHOICES)
    cap_day = IntegerField(_l("Cap per day"), validators=[Optional(), NumberRange(1, 100_000)])
    cap_month = IntegerField(_l("Cap per month"), validators=[Optional(), NumberRange(1, 100_000)])
    cap_year = IntegerField(_l("Cap per year"), validators=[Optional(), NumberRange(1, 100_000)])
    # Per-unit rules: the largest quantity one entry may have (hours, kg …); empty: the default.
    max_quantity = IntegerField(
        _l("Most units on one entry"),
        validators=[
            Optional(),
            NumberRange(
                1, MAX_QUANTITY_LIMIT, _l("Most units on one entry: a whole number from 1 to %(max)s, please.")
            ),
        ],
    )
    evidence = SelectField(_l("Evidence"), choices=EVIDENCE_CHOICES)
    # Not DataRequired: that would mark every checkbox "required" in the browser.
    logged_by = MultiCheckboxField(_l("Recorded by"), choices=LOGGER_CHOICES)
    effective_from = DateField(_l("Takes effect on"), validators=[DataRequired(_l("A date like 2026-12-01, please."))])
    version_note = StringField(_l("Why (e.g. the meeting that decided it)"), validators=[Optional(), Length(max=500)])
    preview = SubmitField(_l("Preview the change"))
    confirm = SubmitField(_l("Save the new version"))

    def validate_logged_by(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one role."))

    def validate_max_quantity(self, field):
        if self.per.data == "occasion" and field.data not in (None, 1):
            raise ValidationError(
                _l(
                    "Most units on one entry: a rule counted each time has one occasion per "
                    "entry; leave it empty or choose per unit."
                )
            )

    def validate_points(self, field):
        if field.data == 0:
            raise ValidationError(_l("A whole number other than 0, please."))


class UserForm(FlaskForm):
    username = StringField(
        _l("User name"), validators=[DataRequired(_l("Please enter a user name.")), Length(min=3, max=64)]
    )
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=50)])
    role = SelectField(_l("Role"))
    groups = MultiCheckboxField(_l("Groups (grid workers)"), coerce=int)
    villager_number = StringField(
        _l("Also a villager: household number (户号)"), validators=[Optional(), Length(max=20)]
    )
    villager_name = StringField(_l("Also a villager: name"), validators=[Optional(), Length(max=50)])
    submit = SubmitField(_l("Save"))


class SettingsForm(FlaskForm):
    notice_days = IntegerField(
        _l("Objection window for 公示 (days)"),
        validators=[
            InputRequired(_l("A number of days from 0 to 30, please.")),
            NumberRange(0, 30, _l("A number of days from 0 to 30, please.")),
        ],
    )
    show_blacklist = BooleanField(_l("Show the 黑榜 (deductions board) to villagers"))
    committee_phone = StringField(_l("Village committee phone"), validators=[Optional(), Length(max=32)])
    award_tiers = StringField(_l("Award tiers of the monthly ranking"), validators=[Optional(), Length(max=300)])
    certificate_date = DateField(_l("Date on the certificates"), validators=[Optional()])
    submit = SubmitField(_l("Save"))


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter

    action = SelectField(_l("Action"), validators=[Optional()])
    user = SelectField(_l("User"), coerce=_int_or_none, validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))


class ActivityForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please enter a title.")), Length(max=200)])
    held_on = DateField(_l("Held on"), validators=[DataRequired(_l("A date like 2026-11-20, please."))])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    group = SelectField(_l("Group"), coerce=_int_or_none)
    submit = SubmitField(_l("Save"))


class CancelActivityForm(FlaskForm):
    reason = StringField(
        _l("Why is it cancelled?"), validators=[DataRequired(_l("Please give a reason.")), Length(max=500)]
    )
    submit = SubmitField(_l("Cancel the activity"))
