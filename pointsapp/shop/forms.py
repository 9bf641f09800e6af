"""Forms of the shop pages (Flask-WTF: every form carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

try:  # WTForms >= 3.3 deprecates tuple choices
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms

    def SelectChoice(value, label):  # type: ignore[no-redef]  # noqa: N802
        return (value, label)


class ItemForm(FlaskForm):
    code = StringField(_l("Item code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Item name"), validators=[DataRequired(), Length(max=100)])
    unit = StringField(_l("Unit"), default="件", validators=[DataRequired(), Length(max=16)])
    price = IntegerField(_l("Price in points"), validators=[InputRequired(), NumberRange(min=1, max=1_000_000)])
    active = BooleanField(_l("Offered at the desk"), default=True)
    # Checked and re-encoded like evidence photos (pointsapp.web.photos); served from this server.
    photo = FileField(_l("Photo of the goods (optional)"), render_kw={"accept": "image/*"})
    remove_photo = BooleanField(_l("Remove the photo"))


class StockInForm(FlaskForm):
    item = SelectField(_l("Goods"), coerce=int, validators=[InputRequired()])
    qty = IntegerField(_l("Quantity"), validators=[InputRequired(), NumberRange(min=1, max=100_000)])
    source = SelectField(
        _l("Source"),
        choices=[
            SelectChoice("purchase", _l("Purchase")),
            SelectChoice("donation", _l("Donation (爱心捐赠)")),
            SelectChoice("other", _l("Other")),
        ],
        validators=[InputRequired()],
    )
    donor = StringField(_l("Donor (for donations)"), validators=[Optional(), Length(max=100)])
    value = StringField(_l("Value in yuan (optional)"), validators=[Optional(), Length(max=20)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])


class WriteOffForm(FlaskForm):
    item = SelectField(_l("Goods"), coerce=int, validators=[InputRequired()])
    qty = IntegerField(_l("Quantity"), validators=[InputRequired(), NumberRange(min=1, max=100_000)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=500)])


class SettingsForm(FlaskForm):
    reset_on = BooleanField(_l("Clear redeemable points once a year (年底清零)"))
    reset_month = IntegerField(_l("Month of the reset"), validators=[Optional(), NumberRange(min=1, max=12)])
    reset_day = IntegerField(_l("Day of the reset"), validators=[Optional(), NumberRange(min=1, max=31)])
    points_budget = IntegerField(_l("This year's points budget"), validators=[Optional(), NumberRange(min=0)])
    star_period = SelectField(
        _l("Stars are given per"), choices=[SelectChoice("year", _l("Year")), SelectChoice("quarter", _l("Quarter"))]
    )
    star_mode = SelectField(
        _l("Bands by"),
        choices=[
            SelectChoice("points", _l("Points in the period")),
            SelectChoice("percent", _l("Top percentage of households")),
        ],
    )
    bands = StringField(_l("Bands (stars:threshold, highest first)"), validators=[DataRequired(), Length(max=200)])


class ResetForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    confirm = BooleanField(_l("I have checked the preview; clear these points now"))
