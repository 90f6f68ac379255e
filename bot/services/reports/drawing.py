"""The chart and the workbook, drawn in a worker thread: matplotlib and openpyxl are slow
enough to stall the event loop, and are imported only when a report needs them."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

EXCEL_CELL_MAX = 32767  # characters in one cell (Excel's specifications and limits)


def chart_png(buckets: Sequence[date], labels: Sequence[str], blocks: Sequence[str],
              counts: dict[tuple[date, str], int], title: str) -> bytes:
    """Stacked bars of incidents by block per day (or week). matplotlib is imported here,
    not at start-up: it takes about a second and only reports need it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.8), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    x = list(range(len(buckets)))
    bottom = [0] * len(buckets)
    for block in blocks:
        values = [counts.get((bucket, block), 0) for bucket in buckets]
        if any(values):
            axes.bar(x, values, bottom=bottom, label=block, width=0.7)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for i, total in enumerate(bottom):
        if total:
            axes.annotate(str(total), (i, total), ha="center", va="bottom", fontsize=9)
    axes.set_xticks(x, labels=list(labels), fontsize=8 if len(x) > 8 else 10)
    axes.set_title(title, fontsize=11)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    axes.spines[["top", "right"]].set_visible(False)
    if any(bottom):
        axes.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX of plain sheets (title, header, rows). Text cells stay text: a citizen's
    message starting with «=» must not become a formula in someone's Excel."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.freeze_panes = "A2"
        sample = list(rows)[:100] if isinstance(rows, Sequence) else []
        for i, name in enumerate(header, start=1):
            longest = max([len(name), *(len(str(row[i - 1] or "")) for row in sample)])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, longest + 2))
        bold = Font(bold=True)
        head = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            head.append(cell)
        sheet.append(head)
        for row in rows:
            out: list[Any] = []
            for value in row:
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)[:EXCEL_CELL_MAX]
                    if value.startswith("="):  # what openpyxl would store as a formula
                        value = WriteOnlyCell(sheet, value=value)
                        value.data_type = "s"
                out.append(value)
            sheet.append(out)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
