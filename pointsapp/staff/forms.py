"""Forms of the staff pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

try:  # WTForms >= 3.3 deprecates tuple choices
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms

    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


class DayField(DateField):
    """A date field whose parse error names the expected format."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("Please give the date as YYYY-MM-DD."))) from None


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )
    remember = BooleanField(_l("Keep me signed in on this phone (personal phones only)"))
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password (at least 12 characters)"),
        validators=[
            DataRequired(),
            Length(min=12, max=200, message=_l("The new password needs at least 12 characters.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class EmptyForm(FlaskForm):
    """Buttons that only need a CSRF token (log out)."""


class ActivityForm(FlaskForm):
    rule = SelectField(_l("Rule"), coerce=int, validators=[InputRequired()])
    title = StringField(_l("Title (leave empty to use the rule's name)"), validators=[Optional(), Length(max=200)])
    held_on = DayField(_l("Date"), validators=[InputRequired(message=_l("Please give the date as YYYY-MM-DD."))])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    group = SelectField(_l("Group"), coerce=int, validators=[InputRequired()])
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*"})


class CaptureForm(FlaskForm):
    """The marking form; the marks themselves (p, h, q-*) are read from the request."""

    # Made when the form is rendered: a double tap or a retry of this page records once. A page
    # fetched again (back button) gets a new key; the activity then refuses people already recorded.
    key = HiddenField(validators=[DataRequired(), Length(max=128)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])
    photo = FileField(_l("Photo of the sign-in sheet or scene (optional)"), render_kw={"accept": "image/*"})


class AwardForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=128)])  # see CaptureForm.key
    rule = SelectField(_l("Rule"), coerce=int, validators=[InputRequired()])
    subject = SelectField(_l("Person or household"), validators=[InputRequired()])
    occurred_on = DayField(
        _l("Date it happened"), validators=[InputRequired(message=_l("Please give the date as YYYY-MM-DD."))]
    )
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[
            InputRequired(message=_l("The quantity must be a whole number of at least 1.")),
            NumberRange(min=1, max=1000, message=_l("The quantity must be a whole number of at least 1.")),
        ],
    )
    note = TextAreaField(
        _l("Reason and evidence (document number, who witnessed it)"),
        validators=[DataRequired(message=_l("Please give the reason for the award.")), Length(max=500)],
    )
    photo = FileField(_l("Photo of the document (optional)"), render_kw={"accept": "image/*"})


class DecisionForm(FlaskForm):
    """Approve or reject the ticked captures of the review queue (ids come as ``sub``)."""

    reason = StringField(_l("Reason for rejecting"), validators=[Optional(), Length(max=500)])


class PublishForm(FlaskForm):
    """Step 1 chooses the month; step 2 (the confirmation page) posts it again with ``confirm``."""

    month = SelectField(_l("Month"), validators=[InputRequired()])
    confirm = BooleanField(_l("I have checked the list: publish it now. It cannot be changed afterwards."))


class ObjectionForm(FlaskForm):
    reason = TextAreaField(
        _l("What is wrong, in the villager's words"),
        validators=[DataRequired(message=_l("Please give a reason.")), Length(max=500)],
    )


class ResolveForm(FlaskForm):
    outcome = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("uphold", _l("Uphold the entry (it stands)")),
            SelectChoice("correct", _l("Correct it: post a correction that reverses the entry")),
        ],
        validators=[InputRequired(message=_l("Please choose uphold or correct."))],
    )
    answer = TextAreaField(
        _l("Answer to the villager"), validators=[DataRequired(message=_l("Please give a reason.")), Length(max=500)]
    )


class CloseForm(FlaskForm):
    month = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(_l("I understand: after closing, nothing can be posted with a date in this month."))
