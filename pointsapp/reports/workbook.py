"""The ceremony pack's Excel workbook, Chinese sheet names and headers.

pandas assembles each sheet as a DataFrame; openpyxl writes it in write-only (streaming)
mode, about twice as fast as ``DataFrame.to_excel``. Codes such as 户号 and 门牌号 are
written as text, so "001" keeps its zeros.

Sheets: 本月明细 (every posted entry of the month), 户积分 (household totals and ranks),
小组汇总 (group totals, per head, participation), 分类统计 (totals by category),
待审核 (pending captures, with notes), 兑换明细 (the month's redemptions, cancelled ones marked),
库存台账 (stock per item: opening, in, redeemed, written off, closing). Totals equal the core leaderboard's: the household
and group sheets are the leaderboard rows themselves. An empty month keeps every header.

Dates are real Excel dates, times are the village's local time, the data sheets end with
a 合计 row (values, never formulas), and every sheet has an autofilter and prints on A4,
one page wide, with the header repeated.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter


from .exports import local_time, set_autofilter, sheet_setup, typed_cell
from ..points.spreadsheets import xlsx_row
from .packdata import PackData, date_label

DETAIL_COLUMNS = (
    "序号",
    "记录ID",
    "日期",
    "村民小组",
    "户号",
    "户主",
    "姓名",
    "规则编号",
    "事项",
    "类别",
    "类型",
    "数量",
    "申请积分",
    "积分",
    "封顶",
    "更正原记录",
    "原记录日期",
    "备注",
    "录入人",
    "审核人",
    "登记时间",
    "哈希",
)
HOUSEHOLD_COLUMNS = ("名次", "户号", "门牌号", "户主", "村民小组", "在册人数", "积分", "人均积分", "条目数")
GROUP_COLUMNS = ("名次", "村民小组", "户数", "在册人数", "积分", "人均积分", "参与户数", "参与率")
CATEGORY_COLUMNS = ("类别", "条目数", "积分", "占比")
PENDING_COLUMNS = ("项目", "数量", "积分", "说明")
REDEMPTION_COLUMNS = (
    "兑换单号",
    "日期",
    "时间(UTC)",
    "村民小组",
    "户号",
    "户主",
    "领取人",
    "兑换物品",
    "积分",
    "兑换员",
    "账本序号",
    "撤销日期",
    "撤销原因",
)
STOCK_COLUMNS = (
    "商品编号",
    "商品",
    "单位",
    "单价(积分)",
    "期初库存",
    "本月入库",
    "本月兑换",
    "本月报损",
    "期末库存",
    "期末价值(积分)",
    "入库金额(元)",
)
BOLD = Font(bold=True)


def detail_frame(data: PackData) -> pd.DataFrame:
    zone = data.timezone
    rows = [
        (
            e.seq,
            e.id,
            e.occurred_on,
            e.group,
            e.household_no,
            e.head,
            e.villager or "",
            e.rule_code or "",
            e.rule_name or "",
            e.category or "",
            e.kind_label,
            e.quantity,
            e.requested_points,
            e.points,
            "是" if e.capped else "",
            e.corrects_seq,
            e.corrects_on or "",
            e.note or "",
            e.captured_by or "",
            e.approved_by or "",
            local_time(e.recorded_at, zone),
            e.hash,
        )
        for e in data.entries
    ]
    df = pd.DataFrame(rows, columns=list(DETAIL_COLUMNS))
    df["更正原记录"] = df["更正原记录"].astype("Int64")
    return df


def household_frame(data: PackData) -> pd.DataFrame:
    rows = []
    for r in data.households:
        number, house, members = data.household_details.get(r.id, ("", None, 0))
        rows.append(
            (
                r.rank,
                number,
                house or "",
                r.name,
                r.group,
                members,
                r.points,
                r.per_head or 0.0,
                data.household_entries.get(r.id, 0),
            )
        )
    return pd.DataFrame(rows, columns=list(HOUSEHOLD_COLUMNS))


def group_frame(data: PackData) -> pd.DataFrame:
    part = {g.group_id: g for g in data.group_participation}
    rows = []
    for r in data.groups:
        g = part.get(r.id)
        rows.append(
            (
                r.rank,
                r.name,
                g.households if g else 0,
                g.villagers if g else 0,
                r.points,
                r.per_head or 0.0,
                g.took_part if g else 0,
                round(g.rate, 4) if g and g.rate is not None else None,
            )
        )
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))


def category_frame(data: PackData) -> pd.DataFrame:
    total = sum(p for _c, p, _n in data.categories)
    rows = [(c, n, p, round(p / total, 4) if total > 0 else None) for c, p, n in data.categories]
    return pd.DataFrame(rows, columns=list(CATEGORY_COLUMNS))


def pending_frame(data: PackData) -> pd.DataFrame:
    p = data.pending
    rows = [
        (
            "本月待审核",
            p.in_month,
            p.in_month_points,
            "已录入、尚未审核通过的记录；不计入本工作簿其他各表的合计，审核通过后计入其发生月份。",
        ),
        ("全村待审核（所有月份）", p.total, None, "含其他月份的待审核记录。"),
    ]
    rows += [(f"{code} {name}".strip(), count, points, "本月待审核，按规则") for code, name, count, points in p.by_rule]
    notes = [
        *data.seal_lines(),
        (
            f"公示期：{date_label(data.notice.opens_on)} 至 {date_label(data.notice.closes_on)}"
            if data.notice
            else "公示：本月尚未发布公示"
        ),
        f"生成日期：{date_label(data.issued_on)}",
    ]
    rows += [("说明", None, None, n) for n in notes]
    return pd.DataFrame(rows, columns=list(PENDING_COLUMNS))


def redemption_frame(data: PackData) -> pd.DataFrame:
    rows = [
        (
            r.number,
            r.day.isoformat(),
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.group,
            r.household_no,
            r.head,
            r.collector,
            r.items,
            r.points,
            r.clerk,
            r.entry_seq,
            r.cancelled_on.isoformat() if r.cancelled_on else "",
            r.cancel_reason or "",
        )
        for r in data.redemptions
    ]
    return pd.DataFrame(rows, columns=list(REDEMPTION_COLUMNS))


def stock_frame(data: PackData) -> pd.DataFrame:
    rows = [
        (
            r.code,
            r.name,
            r.unit,
            r.price,
            r.opening,
            r.stock_in,
            r.redeemed,
            r.written_off,
            r.closing,
            r.closing_value,
            round(r.value_in_fen / 100, 2),
        )
        for r in data.stock
    ]
    return pd.DataFrame(rows, columns=list(STOCK_COLUMNS))


def _cell_value(value):
    if value is None or (not isinstance(value, (str, dt.date)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def totals(data: PackData) -> dict[str, dict[str, object]]:
    """The 合计 row of each data sheet: sums of the counted columns (rates recomputed)."""
    s = data.summary
    households = sum(g.households for g in data.group_participation)
    people = sum(g.villagers for g in data.group_participation)
    took = sum(g.took_part for g in data.group_participation)
    members = sum(data.household_details.get(r.id, ("", None, 0))[2] for r in data.households)
    return {
        "本月明细": {
            "申请积分": sum(e.requested_points for e in data.entries),
            "积分": sum(e.points for e in data.entries),
        },
        "户积分": {
            "在册人数": members,
            "积分": sum(r.points for r in data.households),
            "条目数": sum(data.household_entries.get(r.id, 0) for r in data.households),
        },
        "小组汇总": {
            "户数": households,
            "在册人数": people,
            "积分": sum(r.points for r in data.groups),
            "人均积分": round(s.points / people, 2) if people else 0.0,
            "参与户数": took,
            "参与率": round(took / households, 4) if households else None,
        },
        "分类统计": {
            "条目数": sum(n for _c, _p, n in data.categories),
            "积分": sum(p for _c, p, _n in data.categories),
            "占比": 1.0 if sum(p for _c, p, _n in data.categories) > 0 else None,
        },
    }


def _write_sheet(book, name: str, df: pd.DataFrame, percent: set[str], total: dict | None = None) -> None:
    """One sheet in openpyxl's write-only (streaming) mode: header, rows, then the 合计 row."""
    ws = book.create_sheet(name)
    ws.freeze_panes = "A2"
    sheet_setup(ws, landscape=len(df.columns) > 8)
    for i, col in enumerate(df.columns, start=1):
        sample = [str(col)] + [str(v) for v in df[col].head(200).tolist()]
        width = max(len(s) + sum(1 for ch in s if ord(ch) > 0x2E80) for s in sample)
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(6, width + 2))
    header = []
    for col in df.columns:
        cell = WriteOnlyCell(ws, value=str(col))
        cell.font = BOLD
        header.append(cell)
    ws.append(header)
    pct = [i for i, col in enumerate(df.columns) if col in percent]

    def write(values: list, bold: bool = False) -> None:
        values = [typed_cell(ws, v) for v in values]
        for i in pct:
            if values[i] is not None:
                cell = WriteOnlyCell(ws, value=values[i])
                cell.number_format = "0.0%"
                values[i] = cell
        if bold:
            values = [v if isinstance(v, Cell) else WriteOnlyCell(ws, value=v) for v in values]
            for v in values:
                v.font = BOLD
        ws.append(xlsx_row(ws, values))  # text stays text, never a formula

    for row in df.itertuples(index=False, name=None):
        write([_cell_value(v) for v in row])
    set_autofilter(ws, len(df.columns), len(df))  # the 合计 row stays outside the filter
    if total is not None:
        write(["合计", *(total.get(col) for col in list(df.columns)[1:])], bold=True)


def build_workbook(data: PackData, path: Path) -> Path:
    sheets = {
        "本月明细": (detail_frame(data), set()),
        "户积分": (household_frame(data), set()),
        "小组汇总": (group_frame(data), {"参与率"}),
        "分类统计": (category_frame(data), {"占比"}),
        "待审核": (pending_frame(data), set()),
        "兑换明细": (redemption_frame(data), set()),
        "库存台账": (stock_frame(data), set()),
    }
    book = Workbook(write_only=True)
    book.properties.title = f"{data.village} {data.label} 积分月报"
    book.properties.creator = "pointsapp"
    sums = totals(data)
    for name, (df, percent) in sheets.items():
        _write_sheet(book, name, df, percent, sums.get(name))
    book.save(path)
    return path
