"""A corpus of hostile uploads, built in memory: each is small to send and would be costly to read without
bounds (the cases an attack on the service found, and their cousins)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable

from PIL import Image

from yijing.volunteers.imports import COLUMNS

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEADER = [column.label for column in COLUMNS]


def _workbook_parts(sheet: bytes | Iterable[bytes], shared_strings: bytes | None = None) -> dict[str, object]:
    strings_type = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        if shared_strings is not None
        else ""
    )
    strings_rel = (
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        if shared_strings is not None
        else ""
    )
    parts: dict[str, object] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            f"{strings_type}</Types>"
        ).encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f"{strings_rel}</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def workbook(sheet: bytes | Callable[[], Iterable[bytes]], shared_strings: bytes | None = None) -> bytes:
    """An XLSX file with one sheet whose XML is ``sheet`` (or streamed from a generator of chunks, so that
    gigabytes can be zipped without holding them)."""
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _workbook_parts(b"", shared_strings).items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)  # type: ignore[arg-type]
        if isinstance(sheet, bytes):
            archive.writestr("xl/worksheets/sheet1.xml", sheet)
        else:
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as stream:
                for chunk in sheet():
                    stream.write(chunk)
    return output.getvalue()


def _inline(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


def _sheet(rows: str, dimension: str = "A1:L2") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><dimension ref="{dimension}"/>'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()


def _header_row() -> str:
    letters = "ABCDEFGHIJKL"
    return (
        '<row r="1">' + "".join(_inline(f"{letters[i]}1", label) for i, label in enumerate(HEADER)) + "</row>"
    )


def dimension_bomb(last_row: int = 3000, *, header: bool = True) -> bytes:
    """A sheet that declares A1:XFD<last_row> and holds (its header and) one cell in row ``last_row``: a
    reader trusting the dimension pads every row to 16,384 columns."""
    rows = (_header_row() if header else "") + f'<row r="{last_row}">{_inline(f"A{last_row}", "x")}</row>'
    return workbook(_sheet(rows, dimension=f"A1:XFD{last_row}"))


def cell_flood(cells: int) -> bytes:
    """``cells`` cells, 26 a row: within the row and column bounds, over the cell bound."""
    row = "".join(f'<c r="{letter}{{n}}"><v>1</v></c>' for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    rows = "".join(f'<row r="{n}">' + row.format(n=n) + "</row>" for n in range(2, cells // 26 + 3))
    return workbook(_sheet(_header_row() + rows))


def far_column() -> bytes:
    """One cell in column XFD: its row alone is 16,384 cells wide."""
    return workbook(_sheet(_header_row() + f'<row r="2">{_inline("XFD2", "x")}</row>'))


def zip_bomb(unzipped_mib: int = 2048) -> bytes:
    """A sheet that unzips to ``unzipped_mib`` MiB of whitespace inside an XML comment (a few MB zipped)."""

    def chunks() -> Iterable[bytes]:
        yield f'<?xml version="1.0"?><worksheet xmlns="{_MAIN}"><!--'.encode()
        block = b" " * (1 << 20)
        for _ in range(unzipped_mib):
            yield block
        yield b"--></worksheet>"

    return workbook(chunks)


def row_flood(rows: int = 1_000_000, *, numbered: bool = False) -> bytes:
    """A header row and then ``rows`` empty row elements (numbered ones zip less well)."""
    if numbered:
        return workbook(_sheet(_header_row() + "".join(f'<row r="{n}"/>' for n in range(2, rows + 2))))
    return workbook(_sheet(_header_row() + "<row/>" * rows))


def shared_strings_flood(strings: int = 2_000_000, *, varied: bool = False) -> bytes:
    """A shared-strings table of ``strings`` entries, as if a sheet used them all: the same one (zipped very
    small) or all different (zipped less well)."""
    entries = (f"<si><t>{n}</t></si>" for n in range(strings)) if varied else ("<si><t>x</t></si>",) * strings
    table = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">' + "".join(entries) + "</sst>"
    ).encode()
    return workbook(_sheet(_header_row()), shared_strings=table)


def huge_shared_string(mebibytes: int = 80) -> bytes:
    """One shared string of ``mebibytes`` MiB."""
    table = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="1" uniqueCount="1"><si><t>'
        + "x" * (mebibytes << 20)
        + "</t></si></sst>"
    ).encode()
    return workbook(_sheet(_header_row()), shared_strings=table)


def entity_expansion(encoding: str = "utf-8") -> bytes:
    """The billion-laughs entities in a sheet (in UTF-16, a reader that only looks for "<" misses it)."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]><worksheet xmlns="{_MAIN}"><sheetData>'
        f'<row r="1">{_inline("A1", "&i;")}</row></sheetData></worksheet>'
    ).encode(encoding)
    return workbook(sheet)


def many_parts(count: int) -> bytes:
    """A small workbook with ``count`` extra parts of a few bytes each."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook(_sheet(_header_row())))) as source,
        zipfile.ZipFile(output, "w") as target,
    ):
        for part in source.infolist():
            target.writestr(part, source.read(part))
        for number in range(count):
            target.writestr(f"customXml/item{number}.xml", "<a/>")
    return output.getvalue()


def large_styles(mebibytes: int = 5) -> bytes:
    """A styles part of ``mebibytes`` MiB: parsed whole by a reader, so bounded tighter than sheets."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook(_sheet(_header_row())))) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            target.writestr(part, source.read(part))
        filler = "".join(f'<xf numFmtId="{n % 200}"/>' for n in range((mebibytes << 20) // 18))
        target.writestr(
            "xl/styles.xml", f'<styleSheet xmlns="{_MAIN}"><cellXfs>{filler}</cellXfs></styleSheet>'
        )
    return output.getvalue()


def csv_column_flood(columns: int = 500_000) -> bytes:
    return (",".join(HEADER) + "\n" + "," * columns + "\n").encode()


def csv_row_flood(rows: int = 1_000_000) -> bytes:
    return (",".join(HEADER) + "\n" + "x\n" * rows).encode()


def csv_long_line(characters: int = 8 << 20) -> bytes:
    return (",".join(HEADER) + "\n" + "x" * characters + "\n").encode()


def csv_long_cell(characters: int) -> bytes:
    return (",".join(HEADER) + "\n" + "x" * characters + ",男\n").encode()


def csv_rows_of(rows: int) -> bytes:
    """A plain CSV file of ``rows`` short rows under the template's header."""
    return (",".join(HEADER) + "\n" + "义警,男\n" * rows).encode()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels, with almost no picture data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def blank_png(width: int, height: int) -> bytes:
    """A real, fully decodable PNG of ``width`` × ``height`` black pixels (it zips to a few hundred KB)."""
    output = io.BytesIO()
    Image.new("RGB", (width, height)).save(output, format="PNG", compress_level=1)
    return output.getvalue()
