"""Post-process the generated initial revision: Alembic's create_table leaves out foreign keys
marked use_alter (households.head_id ↔ villagers); add them explicitly where ALTER works."""
import re
import sys
from pathlib import Path

path = Path(sys.argv[1])
text = path.read_text()
adds = []
for m in re.finditer(r"op\.create_table\('(\w+)',(.*?)\n    \)", text, re.S):
    table, body = m.group(1), m.group(2)
    for fk in re.finditer(r"sa\.ForeignKeyConstraint\(\['(\w+)'\], \['(\w+)\.(\w+)'\], name='(\w+)', use_alter=True\)", body):
        col, ref_table, ref_col, name = fk.groups()
        adds.append(f"        op.create_foreign_key('{name}', '{table}', '{ref_table}', ['{col}'], ['{ref_col}'])")
if adds and "use_alter foreign keys" not in text:
    block = ("    # use_alter foreign keys (a cycle): SQLite keeps them inline, elsewhere add them now.\n"
             "    if op.get_bind().dialect.name != 'sqlite':\n" + "\n".join(adds) + "\n")
    text = text.replace("    # ### end Alembic commands ###", block + "    # ### end Alembic commands ###", 1)
    path.write_text(text)
