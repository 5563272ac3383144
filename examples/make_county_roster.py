"""Write county_roster.xlsx: a small 楚雄市 (532301) caseload with the Chinese headers a
county civil-affairs office (民政局) would use, for `gongfu batch` and the caseworker script.

    python examples/make_county_roster.py [OUTPUT.xlsx]     # default: examples/county_roster.xlsx

Dates are written as text cells 'YYYY-MM-DD' (batch reads Excel date cells as well: see
docs/batch.md, "Excel"). Every person here is invented.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import xlsxwriter

HEADERS = ["家庭编号", "人员编号", "与户主关系", "出生日期", "性别", "户籍地区划代码", "户口性质",
           "城乡居住类别", "是否孤儿", "养育方式（集中/散居）", "残疾等级", "残疾类别",
           "是否持有残疾人证", "是否特困人员", "特困供养方式（集中/分散）", "生活自理能力",
           "是否独生子女父母", "独生子女性别", "是否低保家庭", "家庭城乡类别（城市/农村）",
           "家庭月人均收入"]

# One row per person; household facts repeat on every member's row.
ROWS = [
    ["cx001", "1", "户主", "1946-03-02", "男", "532301", "农业", "农村", "", "", "", "", "", "是",
     "分散供养", "部分丧失", "", "", "", "", ""],
    ["cx002", "1", "户主", "1979-04-09", "男", "532301", "非农业", "城镇", "", "", "1", "肢体", "是",
     "否", "", "完全丧失", "", "", "是", "城市", "420"],
    ["cx002", "2", "父母", "1952-12-01", "女", "532301", "非农业", "城镇", "", "", "", "", "", "否",
     "", "", "", "", "是", "城市", "420"],
    ["cx003", "1", "户主", "1963-02-11", "男", "532301", "农业", "农村", "", "", "", "", "", "否",
     "", "", "是", "女", "否", "农村", ""],
    ["cx003", "2", "配偶", "1965-08-30", "女", "532301", "农业", "农村", "", "", "", "", "", "否",
     "", "", "是", "女", "否", "农村", ""],
    ["cx004", "1", "户主", "1984-01-05", "女", "532301", "农业", "农村", "", "", "", "", "", "否",
     "", "", "", "", "是", "农村", "300"],
    ["cx004", "2", "子女", "2016-09-10", "男", "532301", "农业", "农村", "", "", "", "", "", "否",
     "", "", "", "", "是", "农村", "300"],
    ["cx005", "1", "其他", "2012-06-15", "女", "532301", "农业", "农村", "是", "散居", "", "", "", "否",
     "", "", "", "", "", "", ""],
    ["cx006", "1", "户主", "1934-01-20", "女", "532301", "非农业", "城镇", "", "", "", "", "", "否",
     "", "部分丧失", "", "", "", "", ""],
]

# Fixed workbook metadata, so the file is the same bytes each time it is written.
CREATED = datetime(2025, 8, 1)


def write_roster(path: str | Path) -> Path:
    path = Path(path)
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"title": "楚雄市困难群众花名册（示例）", "created": CREATED})
    sheet = workbook.add_worksheet("花名册")
    text = workbook.add_format({"num_format": "@"})  # keep codes and dates as text
    sheet.write_row(0, 0, HEADERS, workbook.add_format({"bold": True}))
    for r, row in enumerate(ROWS, start=1):
        for c, value in enumerate(row):
            if value:
                sheet.write_string(r, c, value, text)
    sheet.set_column(0, len(HEADERS) - 1, 14)
    workbook.close()
    return path


if __name__ == "__main__":
    out = write_roster(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "county_roster.xlsx")
    print(f"{len(ROWS)} persons in {len({r[0] for r in ROWS})} households written to {out}")
