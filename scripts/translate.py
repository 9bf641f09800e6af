#!/usr/bin/env python3
"""Fill zh_Hans translations into a catalog from a JSON object {msgid: msgstr} on stdin.

    .venv/bin/python scripts/translate.py pointsapp/staff/translations < zh.json

then run `scripts/i18n compile`. Lists msgids that still have no translation.
"""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

folder = Path(sys.argv[1])
po = folder / "zh_Hans" / "LC_MESSAGES" / "messages.po"
with po.open("rb") as fh:
    catalog = read_po(fh, locale="zh_Hans")
pairs = json.load(sys.stdin) if not sys.stdin.isatty() else {}
for msg in catalog:
    if not msg.id:
        continue
    key = msg.id if isinstance(msg.id, str) else msg.id[0]
    if key in pairs:
        value = pairs[key]
        msg.string = tuple(value) if isinstance(msg.id, tuple) else value
        msg.flags.discard("fuzzy")
with po.open("wb") as fh:
    write_po(fh, catalog, width=120)
missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
for m in missing:
    print("untranslated:", m)
