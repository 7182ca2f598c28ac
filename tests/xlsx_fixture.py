"""Build a national-portal Excel export like the one the National Public Service Portal gives.

The layout follows the 2026 export described in ../shared/reference/tthc-research.md, section 4:
sheet `TTHC2-CAPXA`, two title rows, the header on row 3, data from row 4, sub-sheets after it.
Codes, names and formalityIds are the real ones of catalog/procedures.csv, except:

- `AMENDED_CODE` carries an amended name;
- `NEW_CODE` is a procedure the catalog does not have (code and formalityId invented for the
  test; both have the real shape);
- `ABOLISHED_CODE` is marked "Bãi bỏ";
- `DATE_CODE` has its decision date as an Excel date cell;
- `NUMBER_CODE` is stored as a number (2.000635 keeps all its digits, so it must import);
- a group title row and a repeated header row sit among the data, as in printed exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

SHEET = "TTHC2-CAPXA"
HEADER_ROW = 3
HEADER = (
    "STT",
    "Mã TTHC",
    "Tên TTHC",
    "Link truy cập",
    "Số QĐ",
    "Ngày QĐ",
    "Cơ quan ban hành",
    "Lĩnh vực",
    "Cấp thực hiện",
    "Đối tượng",
    "Trạng thái",
)
PORTAL = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/"

UNCHANGED_CODE = "1.001193"
DATE_CODE = "1.000656"
DATE_DECISION = "1234/QĐ-UBND ngày 12/5/2026"
AMENDED_CODE = "1.000894"
AMENDED_NAME = "Đăng ký kết hôn (trong nước)"
NUMBER_CODE = "2.000635"
ABOLISHED_CODE = "2.001016"
ABOLISHED_DECISION = "4517/QĐ-UBND ngày 25/12/2025"
NEW_CODE = "1.116950"
NEW_NAME = "Hỗ trợ chi phí học tập đối với trẻ em mầm non có hoàn cảnh khó khăn"
NEW_FORMALITY = "01a0f2b1-5c3e-7d21-9a4f-6b8e2c1d0f37"
NO_LINK_CODE = "2.001909"

LAM_DONG = "UBND tỉnh Lâm Đồng"
CITIZENS = "Công dân Việt Nam"
PUBLISHED = "Đã công khai"


def _row(code, name, formality, number, day, field, status=PUBLISHED, level="Cấp xã"):
    link = PORTAL + formality if formality else None
    return [code, name, link, number, day, LAM_DONG, field, level, CITIZENS, status]


#: Rows from row 4 on: a list of cells after STT, a text (a group title) or None (the header
#: repeated).
DEFAULT_ROWS: tuple[list[object] | str | None, ...] = (
    _row(
        UNCHANGED_CODE,
        "Thủ tục đăng ký khai sinh",
        "019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7",
        None,
        None,
        "Hộ tịch",
    ),
    _row(
        DATE_CODE,
        "Thủ tục đăng ký khai tử",
        "019d2bfd-3fac-7489-b53b-9c6c958f2da4",
        "1234/QĐ-UBND",
        datetime(2026, 5, 12),
        "Hộ tịch",
    ),
    _row(AMENDED_CODE, AMENDED_NAME, "019d2bfd-3fac-7489-b53b-a15eb239a6fe", None, None, "Hộ tịch"),
    _row(
        float(NUMBER_CODE),
        "Cấp bản sao Trích lục hộ tịch, bản sao Giấy khai sinh",
        "019d2bfd-867c-72db-b6a7-dcbd8c763807",
        None,
        None,
        "Hộ tịch",
    ),
    "II. LĨNH VỰC CHỨNG THỰC",  # a group title in the STT column
    _row(
        ABOLISHED_CODE,
        "Chứng thực văn bản từ chối nhận di sản",
        "019d2bfd-95e6-7578-ba2d-d1b4373cd174",
        "4517/QĐ-UBND",
        "25/12/2025",
        "Chứng thực",
        status="Bãi bỏ",
    ),
    None,  # the header again, as printed exports repeat it on each page
    _row(
        "1.012568",
        "Giao tài sản kết cấu hạ tầng chợ do cấp xã quản lý",
        "019d2bf7-fc47-724d-98ee-1785e5599e34",
        None,
        None,
        "Tài sản kết cấu hạ tầng chợ do nhà nước đầu tư quản lý",
    ),
    _row(
        NO_LINK_CODE,
        "Thủ tục tiếp công dân tại cấp xã",
        None,
        "3626/QĐ-UBND",
        datetime(2026, 9, 10),
        "Tiếp công dân",
    ),
    _row(NEW_CODE, NEW_NAME, NEW_FORMALITY, "5012/QĐ-BGDĐT", "20/10/2026", "Giáo dục"),
)
#: the codes the default export lists (as the catalog spells them)
FILE_CODES = frozenset(
    {
        UNCHANGED_CODE,
        DATE_CODE,
        AMENDED_CODE,
        NUMBER_CODE,
        ABOLISHED_CODE,
        "1.012568",
        NO_LINK_CODE,
        NEW_CODE,
    }
)


def build_export(
    path: Path,
    rows: Sequence[Sequence[object] | str | None] = DEFAULT_ROWS,
    *,
    header: Sequence[str] = HEADER,
    title_rows: int = 2,
) -> dict[str, int]:
    """Write the export to `path`; return the sheet row of each code written as text."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    titles = (
        "DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ",
        "Cơ quan: UBND phường Nam Gia Nghĩa, tỉnh Lâm Đồng - Ngày xuất: 27/11/2026",
    )
    for index in range(title_rows):
        sheet.append([titles[index % len(titles)]])
        sheet.merge_cells(
            start_row=index + 1, start_column=1, end_row=index + 1, end_column=len(header)
        )
    sheet.append(list(header))
    where: dict[str, int] = {}
    number = 0
    for cells in rows:
        if cells is None:
            sheet.append(list(header))
            continue
        if isinstance(cells, str):
            sheet.append([cells])
            continue
        number += 1
        sheet.append([number, *cells])
        if isinstance(cells[0], str):
            where[cells[0]] = sheet.max_row
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy"
    # sub-sheets of the real export, which also name procedures by code
    documents = book.create_sheet("TPHS")
    documents.append(["STT", "Mã TTHC", "Tên giấy tờ", "Mẫu đơn, tờ khai"])
    documents.append([1, "1.001193", "Tờ khai đăng ký khai sinh", "TK-01"])
    book.create_sheet("Cách thức thực hiện").append(["Mã TTHC", "Hình thức nộp", "Thời hạn"])
    book.save(path)
    return where
