"""Test documents built in the test run (no fixture files): PDFs written byte by byte (plain and encrypted with
the standard security handler, revision 2), DOCX and XLSX as OOXML zips (macro-enabled, zip bombs), and an
encrypted Office file's OLE container."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

# ISO 32000-1 7.6.3.3: the 32-byte padding string of the standard security handler
PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
DOC_ID = bytes(range(16))


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def _padded(password: bytes) -> bytes:
    return (password + PAD)[:32]


def encryption_r2(user: bytes, owner: bytes, permissions: int = -44) -> tuple[bytes, bytes, bytes]:
    """(O, U, file key) of a revision-2 (40-bit RC4) standard security handler (Algorithms 3, 2 and 4)."""
    o_value = _rc4(hashlib.md5(_padded(owner)).digest()[:5], _padded(user))  # noqa: S324 (the PDF standard security handler)
    key = hashlib.md5(_padded(user) + o_value + struct.pack("<i", permissions) + DOC_ID).digest()[:5]  # noqa: S324 (the PDF standard security handler)
    return o_value, _rc4(key, PAD), key


def pdf_bytes(
    *,
    pages: int = 1,
    text_box: bool = True,
    encrypt: tuple[bytes, bytes] | None = None,
    broken: bool = False,
) -> bytes:
    """A PDF whose first page (A4) holds a dark blue block and a red bar: the thumbnail has ink to find.
    ``encrypt=(user, owner)`` encrypts it (an empty user password: opens, but restricted by its owner)."""
    content = b"0 0 0.5 rg 60 500 470 280 re f 1 0 0 rg 60 200 470 40 re f" if text_box else b""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    key = None
    encrypt_dict = b""
    if encrypt is not None:
        o_value, u_value, key = encryption_r2(*encrypt)
        encrypt_dict = (
            b"<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 /O <"
            + o_value.hex().encode()
            + b"> /U <"
            + u_value.hex().encode()
            + b"> >>"
        )
    for i in range(pages):
        content_no = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_no} 0 R >>".encode()
        )
        stream = content
        if key is not None:
            object_key = hashlib.md5(key + struct.pack("<i", content_no)[:3] + b"\x00\x00").digest()[:10]  # noqa: S324 (the PDF standard security handler)
            stream = _rc4(object_key, stream)
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if encrypt is not None:
        objects.append(encrypt_dict)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"<< /Size %d /Root 1 0 R /ID [<%s> <%s>]" % (
        len(objects) + 1,
        DOC_ID.hex().encode(),
        DOC_ID.hex().encode(),
    )
    if encrypt is not None:
        trailer += b" /Encrypt %d 0 R" % len(objects)
    out.write(b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    data = out.getvalue()
    if broken:
        # the header survives, the body and cross-reference table do not
        return data[:40] + b"garbage" * 20
    return data


_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
    'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
    '+xml"/></Types>'
)
_DOCM_TYPES = _DOCX_TYPES.replace(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
)
_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
    'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "</Types>"
)
_XLSM_TYPES = _XLSX_TYPES.replace(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
)


def docx_bytes(*, macro: bool = False, vba: bool = False) -> bytes:
    """A minimal DOCX (一页台账 text); ``macro`` declares it .docm, ``vba`` adds word/vbaProject.bin."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _DOCM_TYPES if macro else _DOCX_TYPES)
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>消毒登记台账</w:t></w:r></w:p></w:body>'
            "</w:document>",
        )
        if vba:
            z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    return out.getvalue()


def xlsx_bytes(*, macro: bool = False, vba: bool = False) -> bytes:
    """A real XLSX written by XlsxWriter (a 台账 of three rows); ``macro``/``vba`` as :func:`docx_bytes`."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = workbook.add_worksheet("台账")
    for row, values in enumerate(
        [("日期", "项目", "签名"), ("2026-05-01", "消毒", "张三"), ("2026-05-02", "消毒", "李四")]
    ):
        sheet.write_row(row, 0, values)
    workbook.close()
    data = out.getvalue()
    if not (macro or vba):
        return data
    # rewrite the package with the macro markers (XlsxWriter's add_vba_project needs a real vbaProject.bin)
    source = zipfile.ZipFile(io.BytesIO(data))
    rewritten = io.BytesIO()
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            body = source.read(info.filename)
            if macro and info.filename == "[Content_Types].xml":
                body = body.replace(
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                )
            z.writestr(info.filename, body)
        if vba:
            z.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    return rewritten.getvalue()


def zip_bomb_docx(unpacked: int = 300 * 1024 * 1024) -> bytes:
    """A DOCX whose one extra member declares ``unpacked`` bytes of zeros (deflate packs them ~1000:1).
    Written in 1 MiB pieces so the test never holds the unpacked bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _DOCX_TYPES)
        z.writestr("word/document.xml", "<w:document/>")
        with z.open("word/media/padding.bin", "w", force_zip64=True) as member:
            block = b"\x00" * (1024 * 1024)
            for _ in range(unpacked // len(block)):
                member.write(block)
    return out.getvalue()


def encrypted_office_bytes() -> bytes:
    """What Office writes for a password-protected DOCX/XLSX: an OLE compound file (its header, then the
    directory's UTF-16LE stream names EncryptionInfo and EncryptedPackage). Only those markers matter to the
    check; the rest is filler of the right sector size."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    header = header.ljust(512, b"\x00")
    directory = bytearray(512)
    for i, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        directory[i * 128 : i * 128 + len(encoded)] = encoded
        directory[i * 128 + 64 : i * 128 + 66] = struct.pack("<H", len(encoded))
    return header + bytes(directory) + b"\x00" * 1024


def legacy_doc_bytes() -> bytes:
    """An OLE compound file without encryption streams: a legacy .doc, not accepted."""
    data = bytearray(encrypted_office_bytes())
    for name in ("EncryptionInfo", "EncryptedPackage"):
        encoded = name.encode("utf-16-le")
        index = bytes(data).index(encoded)
        data[index : index + len(encoded)] = "WordDocument".encode("utf-16-le").ljust(len(encoded), b"\x00")
    return bytes(data)
