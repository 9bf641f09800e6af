"""Village administration: registry, roster import/export, rule book, staff users, audit log."""
