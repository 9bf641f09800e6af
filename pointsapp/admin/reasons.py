"""The roster importer's row reasons (English, from the core) in the user's language."""
from __future__ import annotations

import re

from flask_babel import gettext as _

PATTERNS = [
    (re.compile(r"^is empty$"), lambda m: _("is empty")),
    (re.compile(r"^is longer than (\d+) characters$"), lambda m: _("is longer than %(n)s characters", n=m[1])),
    (re.compile(r"^must be 男 or 女$"), lambda m: _("must be 男 or 女")),
    (re.compile(r"^is marked 户主 but the 户主姓名 column says (.+)$"),
     lambda m: _("is marked 户主 but the 户主姓名 column says %(name)s", name=m[1])),
    (re.compile(r"^household (.+) is in (.+) on row (\d+)$"),
     lambda m: _("household %(number)s is in %(group)s on row %(row)s", number=m[1], group=m[2], row=m[3])),
    (re.compile(r"^household (.+) has head (.+) on row (\d+)$"),
     lambda m: _("household %(number)s has head %(name)s on row %(row)s", number=m[1], name=m[2], row=m[3])),
    (re.compile(r"^the head of household (.+) is not listed as a member$"),
     lambda m: _("the head of household %(number)s is not listed as a member", number=m[1])),
    (re.compile(r"^listed twice in household (.+) \(also row (\d+)\)$"),
     lambda m: _("listed twice in household %(number)s (also row %(row)s)", number=m[1], row=m[2])),
    (re.compile(r"^not a year and month: .*$"),
     lambda m: _("not a birth month like 1958-05 or 1958年5月") + " (" + m[0] + ")"),
    (re.compile(r"^not a (Chinese )?phone number: .*$"),
     lambda m: _("not a phone number: a mobile number has 11 digits") + " (" + m[0] + ")"),
]


READ_PATTERNS = [
    (re.compile(r"^(.+?): missing columns? (.+?) \((.+)\)$"),
     lambda m: _("%(file)s: the column(s) %(names)s are missing", file=m[1], names=m[2])),
    (re.compile(r"^(.+?): the file has no data"), lambda m: _("%(file)s: the file has no data", file=m[1])),
    (re.compile(r"^(.+?): the file is empty$"), lambda m: _("%(file)s: the file has no data", file=m[1])),
    (re.compile(r"^(.+?): not a valid \.xlsx file"),
     lambda m: _("%(file)s: not a valid .xlsx file; save it from Excel or WPS as .xlsx", file=m[1])),
    (re.compile(r"^(.+?): cannot decode the text"),
     lambda m: _("%(file)s: the text cannot be read; save it as a UTF-8 CSV or an .xlsx file", file=m[1])),
]


def read_error_text(message: str) -> str:
    for pattern, make in READ_PATTERNS:
        if m := pattern.match(message):
            return make(m)
    return message


def reason_text(reason: str) -> str:
    for pattern, make in PATTERNS:
        if m := pattern.match(reason):
            return make(m)
    return reason


def error_rows(errors) -> list[dict]:
    return [{"row": e.row, "column": e.column, "value": e.value, "reason": reason_text(e.reason)} for e in errors]
