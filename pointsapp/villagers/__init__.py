"""Villager pages: household card pages, the public board, 公示 and objections."""
