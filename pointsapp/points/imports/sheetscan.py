"""Measure a spreadsheet's first sheet before anyone loads it.

Spreadsheet readers (calamine, which ``pandas.read_excel`` uses here, and openpyxl alike) build a dense
grid from the top-left to the farthest filled cell. A 4.9 KB ``.xlsx`` with one value in XFD1 and one in
A2000 becomes a 2,000 x 16,384 grid: about 1 GB of memory, and 10 GB with A20000. So the reader first
streams the sheet's own records, which costs time in proportion to the file and no more memory than a
row, and refuses a sheet whose filled area is over the limits before any grid is built.

The scan also notes formula cells: a formula saved without its value (a file written by a program, never
opened in Excel or WPS) reads as an empty cell, which must not pass as "empty means 1".

Three formats, each scanned from its own structure:

- ``.xlsx``/``.xlsm``: a zip; the first ``<sheet>`` of ``xl/workbook.xml``, its part found through the
  relationships, read with expat (no DTDs, so no entity expansion).
- ``.xls`` (BIFF8, Excel 97-2003 and WPS): a Compound File; the ``Workbook`` stream, the first
  BOUNDSHEET's substream, its cell records.
- ``.ods``: a zip; the first ``table:table`` of ``content.xml``, repeated rows and columns counted.

Framework-free, standard library only.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

__all__ = ["FormulaCell", "ScanError", "SheetScan", "cell_name", "scan"]

MAX_PART_BYTES = 64 * 1024 * 1024
"""Largest uncompressed sheet XML, shared-strings part or .xls stream that is scanned or read."""


class ScanError(ValueError):
    """The file is not a readable workbook of its kind; the message says why (without the file name)."""


@dataclass(frozen=True)
class FormulaCell:
    """A cell whose value a reader cannot be trusted to give: a formula, or an error value."""

    formula: str  # as written, e.g. "=1+2" (empty when the format does not keep it)
    cached: bool | None  # True: a value was saved with it; False: none was; None: cannot tell
    error: str | None = None  # an error value such as "#N/A" or "#DIV/0!" (readers give it as empty)


@dataclass
class SheetScan:
    sheet: str | None = None  # the first sheet's name
    rows: int = 0  # 1-based index of the last row with a filled cell
    columns: int = 0  # 1-based index of the last column with a filled cell
    farthest_row_cell: str | None = None  # a filled cell in the last row, e.g. "A200000"
    farthest_column_cell: str | None = None  # a filled cell in the last column, e.g. "XFD1"
    formulas: dict[tuple[int, int], FormulaCell] = field(default_factory=dict)  # (row, col), 0-based

    def see(self, row: int, col: int) -> None:
        """A filled cell at 0-based (row, col)."""
        if row + 1 > self.rows:
            self.rows, self.farthest_row_cell = row + 1, cell_name(row, col)
        if col + 1 > self.columns:
            self.columns, self.farthest_column_cell = col + 1, cell_name(row, col)

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def cell_name(row: int, col: int) -> str:
    """0-based (row, col) -> "A1" style."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def _parse_ref(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref)
    if not m:
        return None
    col = 0
    for ch in m[1].upper():
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


def scan(kind: str, data: bytes) -> SheetScan:
    """Scan the first sheet of a workbook; ``kind`` is "xlsx", "xls" or "ods"."""
    if kind == "xlsx":
        return _scan_xlsx(data)
    if kind == "ods":
        return _scan_ods(data)
    if kind == "xls":
        return _scan_xls(data)
    raise ValueError(f"unknown workbook kind {kind!r}")


# --------------------------------------------------------------------------------------------
# XML helpers
# --------------------------------------------------------------------------------------------


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_doctype(*_args: object) -> None:
        raise ScanError("the workbook's XML declares a DTD, which is not allowed")

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    return parser


def _member(book: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        info = book.getinfo(name)
    except KeyError:
        raise ScanError(f"the part {name} is missing") from None
    if info.file_size > MAX_PART_BYTES:
        raise ScanError(f"the part {name} unpacks to {info.file_size:,} bytes (at most {MAX_PART_BYTES:,} are read)")
    return info


def _parse_member(book: zipfile.ZipFile, name: str, parser: expat.XMLParserType) -> None:
    info = _member(book, name)
    try:
        with book.open(info) as stream:
            parser.ParseFile(stream)
    except expat.ExpatError as exc:
        raise ScanError(f"the part {name} is not well-formed XML ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as exc:
        raise ScanError(f"the part {name} cannot be unpacked ({exc})") from None


def _small_xml(book: zipfile.ZipFile, name: str) -> list[tuple[str, dict[str, str]]]:
    """(local tag name, attributes) of every element of a small part."""
    out: list[tuple[str, dict[str, str]]] = []
    parser = _parser()
    parser.StartElementHandler = lambda tag, attrs: out.append((_local(tag), attrs))
    _parse_member(book, name, parser)
    return out


def _open_zip(data: bytes) -> zipfile.ZipFile:
    import io

    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ScanError(f"not a zip package ({exc})") from None


# --------------------------------------------------------------------------------------------
# .xlsx
# --------------------------------------------------------------------------------------------


def _first_xlsx_sheet(book: zipfile.ZipFile) -> tuple[str | None, str]:
    """(sheet name, part name) of the first sheet listed in the workbook."""
    rels_target = {}
    if "xl/_rels/workbook.xml.rels" in book.namelist():
        for tag, attrs in _small_xml(book, "xl/_rels/workbook.xml.rels"):
            if tag == "Relationship" and "Id" in attrs and "Target" in attrs:
                rels_target[attrs["Id"]] = attrs["Target"]
    for tag, attrs in _small_xml(book, "xl/workbook.xml"):
        if tag != "sheet":
            continue
        rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
        target = rels_target.get(rid or "")
        if target is None:
            break
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        return attrs.get("name"), part
    sheets = sorted(n for n in book.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    if not sheets:
        raise ScanError("the workbook has no worksheet")
    return None, min(sheets, key=lambda n: int(re.findall(r"\d+", n)[-1]))


def _scan_xlsx(data: bytes) -> SheetScan:
    with _open_zip(data) as book:
        if "xl/workbook.xml" not in book.namelist():
            raise ScanError("not an Excel workbook (no xl/workbook.xml)")
        sheet, part = _first_xlsx_sheet(book)
        for extra in ("xl/sharedStrings.xml",):  # read whole by every reader: bound it too
            if extra in book.namelist():
                _member(book, extra)
        result = SheetScan(sheet=sheet)
        state = _XlsxCells(result)
        parser = _parser()
        parser.StartElementHandler = state.start
        parser.EndElementHandler = state.end
        parser.CharacterDataHandler = state.text
        _parse_member(book, part, parser)
    return result


class _XlsxCells:
    """expat handlers for a worksheet part: extents of filled cells and formulas."""

    def __init__(self, result: SheetScan):
        self.result = result
        self.row = -1
        self.col = -1
        self.in_cell = False
        self.filled = False
        self.formula: str | None = None
        self.value: list[str] | None = None
        self.string_result = False
        self.error_value = False
        self.collect: list[str] | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "row":
            r = attrs.get("r")
            self.row = int(r) - 1 if r and r.isdigit() else self.row + 1
            self.col = -1
        elif name == "c":
            ref = _parse_ref(attrs.get("r", ""))
            if ref is not None:
                self.row, self.col = ref
            else:
                self.col += 1
            self.in_cell, self.filled, self.formula, self.value = True, False, None, None
            self.string_result = attrs.get("t") == "str"
            self.error_value = attrs.get("t") == "e"
        elif self.in_cell and name == "f":
            self.formula = ""
            self.collect = []
            self.filled = True
        elif self.in_cell and name == "v":
            self.value = []
            self.collect = self.value
        elif self.in_cell and name == "is":
            self.filled = True

    def text(self, data: str) -> None:
        if self.collect is not None:
            self.collect.append(data)

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name == "f" and self.in_cell and self.collect is not None:
            self.formula = "=" + "".join(self.collect)
            self.collect = None
        elif name == "v" and self.in_cell:
            self.collect = None
            if self.value:
                self.filled = True
        elif name == "c" and self.in_cell:
            self.in_cell = False
            if self.filled and self.row >= 0 and self.col >= 0:
                self.result.see(self.row, self.col)
                if self.error_value:
                    self.result.formulas[(self.row, self.col)] = FormulaCell(
                        self.formula or "", True, "".join(self.value or ()) or "#VALUE!"
                    )
                elif self.formula is not None:
                    # openpyxl and other writers that compute nothing save an empty <v/>; an empty
                    # string result is saved as t="str" with an empty <v>.
                    cached = bool(self.value) or (self.value is not None and self.string_result)
                    self.result.formulas[(self.row, self.col)] = FormulaCell(self.formula, cached)


# --------------------------------------------------------------------------------------------
# .ods
# --------------------------------------------------------------------------------------------


def _scan_ods(data: bytes) -> SheetScan:
    with _open_zip(data) as book:
        if "content.xml" not in book.namelist():
            raise ScanError("not an OpenDocument spreadsheet (no content.xml)")
        result = SheetScan()
        state = _OdsCells(result)
        parser = _parser()
        parser.StartElementHandler = state.start
        parser.EndElementHandler = state.end
        try:
            _parse_member(book, "content.xml", parser)
        except _Done:
            pass
    return result


class _Done(Exception):
    """The first table has ended."""


def _repeat(attrs: dict[str, str], key: str) -> int:
    for k, v in attrs.items():
        if _local(k) == key:
            try:
                return max(1, int(v))
            except ValueError:
                return 1
    return 1


class _OdsCells:
    def __init__(self, result: SheetScan):
        self.result = result
        self.depth = 0  # nesting of table:table (sub-tables are not sheets)
        self.row = 0
        self.row_repeat = 1
        self.col = 0
        self.cell: tuple[int, dict[str, str]] | None = None  # (column repeat, attributes)
        self.cell_filled = False

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "table":
            if self.result.sheet is None and self.depth == 0:
                self.result.sheet = next((v for k, v in attrs.items() if _local(k) == "name"), "")
            self.depth += 1
        elif self.depth == 0:
            return
        elif name == "table-row":
            self.row_repeat = _repeat(attrs, "number-rows-repeated")
            self.col = 0
        elif name in ("table-cell", "covered-table-cell"):
            self.cell = (_repeat(attrs, "number-columns-repeated"), attrs)
            self.cell_filled = any(_local(k) in ("value-type", "formula") for k in attrs)
        elif self.cell is not None and name in ("p", "h", "span", "a", "s"):
            self.cell_filled = True

    def end(self, tag: str) -> None:
        name = _local(tag)
        if self.depth == 0:
            return
        if name == "table":
            self.depth -= 1
            if self.depth == 0:
                raise _Done
        elif name in ("table-cell", "covered-table-cell") and self.cell is not None:
            repeat, attrs = self.cell
            if self.cell_filled:
                self.result.see(self.row + self.row_repeat - 1, self.col + repeat - 1)
                formula = next((v for k, v in attrs.items() if _local(k) == "formula"), None)
                if formula is not None:
                    cached = any(_local(k) == "value-type" for k in attrs)
                    text = formula.split(":", 1)[1] if formula.startswith(("of:", "oooc:", "msoxl:")) else formula
                    for r in range(self.row, self.row + min(self.row_repeat, 10)):
                        for c in range(self.col, self.col + min(repeat, 10)):
                            self.result.formulas[(r, c)] = FormulaCell(text, cached)
            self.col += repeat
            self.cell = None
        elif name == "table-row":
            self.row += self.row_repeat


# --------------------------------------------------------------------------------------------
# .xls: Compound File Binary, then BIFF8 records
# --------------------------------------------------------------------------------------------

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END = 0xFFFFFFFE
_FREE = 0xFFFFFFFF


def _cfb_stream(data: bytes, wanted: tuple[str, ...]) -> bytes:
    """The first stream named in ``wanted`` (case-insensitive) of a Compound File."""
    if len(data) < 512 or data[:8] != _CFB_MAGIC:
        raise ScanError("not an Excel 97-2003 workbook (no compound file header)")
    sector_shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise ScanError("damaged compound file header")
    size = 1 << sector_shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    mini_cutoff, first_minifat, n_minifat, first_difat, n_difat = struct.unpack_from("<IIIII", data, 0x38)
    total = (len(data) - size + size - 1) // size  # sectors after the header

    def sector(n: int) -> bytes:
        start = (n + 1) * size
        if start >= len(data):
            raise ScanError("a sector lies outside the file")
        return data[start : start + size].ljust(size, b"\0")  # the last sector may be short

    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s != _FREE]
    d, seen = first_difat, 0
    while d not in (_END, _FREE) and seen < n_difat + 1:
        slots = struct.unpack(f"<{size // 4}I", sector(d))
        fat_sectors += [s for s in slots[:-1] if s != _FREE]
        d, seen = slots[-1], seen + 1
    fat_sectors = fat_sectors[:n_fat]
    fat: list[int] = []
    for s in fat_sectors:
        fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))

    def chain(start: int, table: list[int], limit: int) -> list[int]:
        out: list[int] = []
        n = start
        while n not in (_END, _FREE):
            if n >= len(table) or len(out) > limit:
                raise ScanError("damaged sector chain")
            out.append(n)
            n = table[n]
        return out

    def read(start: int, length: int) -> bytes:
        if length > MAX_PART_BYTES:
            raise ScanError(f"a stream of {length:,} bytes (at most {MAX_PART_BYTES:,} are read)")
        blob = b"".join(sector(n) for n in chain(start, fat, total))
        return blob[:length]

    directory = b"".join(sector(n) for n in chain(first_dir, fat, total))
    entries: list[tuple[str, int, int, int]] = []
    for off in range(0, len(directory) - 127, 128):
        raw = directory[off : off + 128]
        name_len = struct.unpack_from("<H", raw, 0x40)[0]
        name = raw[: max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        kind = raw[0x42]
        start, length = struct.unpack_from("<IQ", raw, 0x74)
        if size == 512:
            length &= 0xFFFFFFFF
        entries.append((name, kind, start, length))
    if not entries or entries[0][1] != 5:
        raise ScanError("damaged compound file directory")
    for name, kind, start, length in entries:
        if kind != 2 or name.lower() not in wanted:
            continue
        if length >= mini_cutoff:
            return read(start, length)
        root = entries[0]
        ministream = read(root[2], root[3])
        minifat: list[int] = []
        for n in chain(first_minifat, fat, total)[:n_minifat]:
            minifat.extend(struct.unpack(f"<{size // 4}I", sector(n)))
        blob = b"".join(ministream[m * 64 : (m + 1) * 64] for m in chain(start, minifat, len(minifat)))
        return blob[:length]
    if any(e[0] == "EncryptedPackage" for e in entries):
        raise ScanError("the workbook is protected by a password; save it without one")
    raise ScanError("no Workbook stream: not an Excel 97-2003 workbook")


_BOF, _EOF, _BOUNDSHEET, _CONTINUE = 0x0809, 0x000A, 0x0085, 0x003C
_SINGLE_CELLS = {
    0x0203,
    0x027E,
    0x00FD,
    0x0204,
    0x0205,
    0x00D6,
    0x0006,
}  # NUMBER RK LABELSST LABEL BOOLERR RSTRING FORMULA
_MULRK = 0x00BD
_FORMULA = 0x0006
_FILEPASS = 0x002F
_BOOLERR = 0x0205
_XLS_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
}


def _records(stream: bytes, pos: int) -> Iterator[tuple[int, bytes]]:
    n = len(stream)
    while pos + 4 <= n:
        rtype, length = struct.unpack_from("<HH", stream, pos)
        yield rtype, stream[pos + 4 : pos + 4 + length]
        pos += 4 + length


def _scan_xls(data: bytes) -> SheetScan:
    stream = _cfb_stream(data, ("workbook", "book"))
    first: tuple[int, str] | None = None
    for rtype, body in _records(stream, 0):
        if rtype == _FILEPASS:
            raise ScanError("the workbook is protected by a password; save it without one")
        if rtype == _BOUNDSHEET and len(body) >= 8 and first is None:
            offset = struct.unpack_from("<I", body, 0)[0]
            cch, flags = body[6], body[7]
            raw = body[8 : 8 + cch * (2 if flags & 1 else 1)]
            name = raw.decode("utf-16-le" if flags & 1 else "latin-1", "replace")
            first = (offset, name)
        if rtype == _EOF:
            break
    if first is None:
        raise ScanError("the workbook has no worksheet")
    offset, name = first
    result = SheetScan(sheet=name)
    if offset >= len(stream):
        raise ScanError("the first sheet lies outside the workbook stream")
    for rtype, body in _records(stream, offset):
        if rtype == _EOF:
            break
        if rtype in _SINGLE_CELLS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body, 0)
            result.see(row, col)
            if rtype == _BOOLERR and len(body) >= 8 and body[7] == 1:
                result.formulas[(row, col)] = FormulaCell("", True, _XLS_ERRORS.get(body[6], "#VALUE!"))
            elif rtype == _FORMULA and len(body) >= 14 and body[12:14] == b"\xff\xff" and body[6] == 2:
                result.formulas[(row, col)] = FormulaCell("", True, _XLS_ERRORS.get(body[8], "#VALUE!"))
            elif rtype == _FORMULA and len(body) >= 14:
                # FormulaValue: a double, or (fExprO == 0xFFFF) a type byte: 0 string, 1 boolean,
                # 2 error, 3 empty string. Writers that compute nothing (xlwt) store "empty string".
                special = body[12:14] == b"\xff\xff"
                cached: bool | None = True if not special or body[6] != 3 else None
                result.formulas[(row, col)] = FormulaCell("", cached)
        elif rtype == _MULRK and len(body) >= 6:
            row, first_col = struct.unpack_from("<HH", body, 0)
            last_col = struct.unpack_from("<H", body, len(body) - 2)[0]
            result.see(row, first_col)
            result.see(row, max(first_col, last_col))
    return result
