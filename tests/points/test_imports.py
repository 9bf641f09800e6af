import csv
import datetime as dt

import openpyxl
import pytest
from sqlalchemy import func, select

from pointsapp.points.errors import Refused
from pointsapp.points.imports.errors import ImportErrors
from pointsapp.points.imports.reader import read_table
from pointsapp.points.imports.roster import ROSTER_COLUMNS, import_roster
from pointsapp.points.imports.scores import SCORE_COLUMNS, import_scores
from pointsapp.points.ledger import LedgerEntry, Submission
from pointsapp.points.registry import Group, Household, Role, StaffUser, Village, Villager
from pointsapp.points.rules import load_rulebook_text
from pointsapp.points.standings import leaderboard
from tests.samples import sample

ROSTER = sample("roster-longtianping.xlsx")
SCORES = sample("scores-2026-11.xlsx")


@pytest.fixture
def village(session):
    v = Village(name="龙天坪村")
    session.add(v)
    session.flush()
    import_roster(session, v, read_table(ROSTER, ROSTER_COLUMNS))
    load_rulebook_text(session, v, sample("rules-example.yaml").read_text(encoding="utf-8"))
    for name, role in (("xmh", Role.grid_worker), ("pdg", Role.reviewer)):
        u = StaffUser(username=name, role=role, village_id=v.id)
        u.set_password("correct horse 1")
        if role == Role.grid_worker:
            u.groups = list(session.execute(select(Group)).scalars())
        session.add(u)
    session.commit()
    return v


def _count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _user(session, name):
    return session.execute(select(StaffUser).where(StaffUser.username == name)).scalar_one()


def test_shared_roster_loads_as_it_is(village, session):
    assert (_count(session, Group), _count(session, Household), _count(session, Villager)) == (10, 529, 1582)
    h1 = session.execute(select(Household).where(Household.number == "1")).scalar_one()
    assert h1.house_number == "001" and h1.head.name == "唐海娟"
    names = set(session.execute(select(Villager.name)).scalars())
    assert {"贾德䶮", "杨明𠮷"} <= names
    phones = set(session.execute(select(Villager.phone)).scalars()) - {None}
    assert all(p.isdigit() and len(p) == 11 for p in phones)
    assert session.execute(select(func.count()).where(Villager.name == "鲁光")).scalar_one() == 2


def test_same_roster_twice_changes_nothing(village, session):
    report = import_roster(session, village, read_table(ROSTER, ROSTER_COLUMNS))
    assert report.changes == 0 and report.unchanged == 1582 and not report.not_in_file


def _write_xlsx(path, rows, header):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["标题"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_updated_roster_adds_reports_and_detects_a_move(village, session, tmp_path):
    wb = openpyxl.load_workbook(ROSTER)
    rows = [list(r) for r in wb.active.iter_rows(min_row=3, max_row=1584, values_only=True)]
    header = [c.value for c in wb.active[2]]
    dropped = rows.pop(5)  # 欧阳兰宏 (household 2) leaves the roster
    mover = rows.pop(1)  # 谭高 marries into household 3
    mover[1], mover[2], mover[3], mover[5] = rows[5][1], rows[5][2], rows[5][3], "儿媳"
    rows.insert(6, mover)
    rows.append([9999, "第十组", 530, "新户主", "新户主", "户主", "男", "1990-01", None, "530", None])
    report = import_roster(session, village, read_table(_write_xlsx(tmp_path / "r.xlsx", rows, header), ROSTER_COLUMNS))
    session.commit()
    assert report.households_added == 1 and report.villagers_added == 1
    assert len(report.moved) == 1 and "谭高" in report.moved[0]
    assert [n for n in report.not_in_file if dropped[4] in n]
    assert _count(session, Villager) == 1583  # nobody duplicated, nobody deleted


def test_roster_errors_name_every_bad_row_and_write_nothing(session, tmp_path):
    v = Village(name="新村")
    session.add(v)
    session.flush()
    header = ["村民小组", "户号", "户主", "姓名", "与户主关系", "性别", "出生年月", "手机号", "门牌号"]
    rows = [
        ["第一组", 1, "张三", "张三", "户主", "男", "1960.03", "138 0000 1234", "001"],
        ["第一组", 1, "张三", "李四", "配偶", "X", "1962年13月", "12ab", "001"],
        ["第二组", 2, "王五", "", "户主", "男", None, None, "002"],
    ]
    with pytest.raises(ImportErrors) as info:
        import_roster(session, v, read_table(_write_xlsx(tmp_path / "bad.xlsx", rows, header), ROSTER_COLUMNS))
    text = str(info.value)
    assert "row 4, column 性别" in text and "row 4, column 出生年月" in text and "row 4, column 手机号" in text
    assert "row 5, column 姓名" in text
    assert _count(session, Villager) == 0 and _count(session, Household) == 0


def test_shared_score_sheet_imports_and_caps_are_reported(village, session):
    report = import_scores(
        session, village, read_table(SCORES, SCORE_COLUMNS), by=_user(session, "xmh"), approve_as=_user(session, "pdg")
    )
    session.commit()
    assert report.rows == 240 and report.posted == 240
    assert report.capped and report.capped[0].startswith("row ")
    assert _count(session, LedgerEntry) == 240
    total = sum(r.points for r in leaderboard(session, "household", "2026-11", village=village))
    assert total == report.points


def test_same_score_sheet_twice_is_refused_with_who_and_when(village, session):
    import_scores(session, village, read_table(SCORES, SCORE_COLUMNS), by=_user(session, "xmh"))
    session.commit()
    with pytest.raises(Refused) as info:
        import_scores(session, village, read_table(SCORES, SCORE_COLUMNS), by=_user(session, "xmh"))
    assert info.value.code == "already_imported" and "by xmh" in info.value.message
    assert _count(session, Submission) == 240


def test_gbk_csv_score_sheet_loads_and_counts_as_the_same_sheet(village, session, tmp_path):
    wb = openpyxl.load_workbook(SCORES)
    path = tmp_path / "scores.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        for row in wb.active.iter_rows(values_only=True):
            w.writerow(
                ["" if v is None else (v.strftime("%Y/%m/%d") if isinstance(v, dt.datetime) else v) for v in row]
            )
    table = read_table(path, SCORE_COLUMNS)
    assert table.encoding == "gb18030"
    report = import_scores(session, village, table, by=_user(session, "xmh"), dry_run=True)
    assert report.rows == 240 and _count(session, Submission) == 0
    import_scores(session, village, read_table(SCORES, SCORE_COLUMNS), by=_user(session, "xmh"))
    with pytest.raises(Refused, match="already imported"):
        import_scores(session, village, table, by=_user(session, "xmh"))


def test_bad_score_rows_are_all_named_and_nothing_is_written(village, session, tmp_path):
    header = ["日期", "村民小组", "姓名", "细则编号", "积分项目", "数量", "记录人", "备注"]
    rows = [
        [dt.datetime(2026, 11, 3), "第一组", "唐海娟", "DJ-01", None, None, "向明华", None],
        [dt.datetime(2026, 11, 3), None, "鲁光", "DJ-01", None, None, None, None],
        ["not a date", "第一组", "唐海娟", "DJ-01", None, None, None, None],
        [dt.datetime(2026, 11, 3), "第一组", "没有这人", "XX-99", None, 1.5, None, None],
    ]
    with pytest.raises(ImportErrors) as info:
        import_scores(
            session,
            village,
            read_table(_write_xlsx(tmp_path / "s.xlsx", rows, header), SCORE_COLUMNS),
            by=_user(session, "xmh"),
        )
    errs = {(e.row, e.column) for e in info.value.errors}
    assert (4, "姓名") in errs and (5, "日期") in errs and {(6, "姓名"), (6, "细则编号"), (6, "数量")} <= errs
    ambiguous = next(e for e in info.value.errors if e.row == 4)
    assert "ambiguous" in ambiguous.reason and "第" in ambiguous.reason  # lists the candidates' groups
    assert _count(session, Submission) == 0


def test_refused_rows_fail_the_whole_import(village, session, tmp_path):
    header = ["日期", "村民小组", "姓名", "细则编号"]
    rows = [
        [dt.datetime(2026, 11, 3), "第一组", "唐海娟", "DJ-01"],
        [dt.datetime(2026, 11, 3), "第一组", "唐海娟", "BZ-03"],
    ]  # admin-only rule, logged by a grid worker
    with pytest.raises(ImportErrors) as info:
        import_scores(
            session,
            village,
            read_table(_write_xlsx(tmp_path / "s.xlsx", rows, header), SCORE_COLUMNS),
            by=_user(session, "xmh"),
        )
    assert [e.row for e in info.value.errors] == [4]
    assert _count(session, Submission) == 0


def test_approve_as_must_be_someone_else(village, session):
    with pytest.raises(Refused, match="different person"):
        import_scores(
            session,
            village,
            read_table(SCORES, SCORE_COLUMNS),
            by=_user(session, "pdg"),
            approve_as=_user(session, "pdg"),
        )


def test_row_errors_show_dates_as_typed_not_as_python():
    import datetime as dt

    from pointsapp.points.imports.errors import RowError

    assert (
        str(RowError(4, "日期", dt.date(2099, 6, 15), "is in the future"))
        == "row 4, column 日期, value 2099-06-15: is in the future"
    )
    assert str(RowError(4, "日期", dt.datetime(2099, 6, 15), "x")) == "row 4, column 日期, value 2099-06-15: x"
    assert str(RowError(5, "数量", "=1+2", "x")) == "row 5, column 数量, value '=1+2': x"
