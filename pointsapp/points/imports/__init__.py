"""Importers for the files villages actually keep: rosters and score sheets in Excel or CSV."""
