"""A stored name is a safe basename; a stored content type comes from the bytes, never the client."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest

from files_service.filenames import sanitize_filename
from files_service.sniffing import SNIFF_BYTES, detect_content_type

Upload = Callable[..., Awaitable[httpx.Response]]

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 20


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("C:\\Users\\ann\\report.pdf", "report.pdf"),
        ("/absolute/path/", "file"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        ("   ", "file"),
        ("a\x00b.txt", "ab.txt"),
        ("line\nbreak\r\ttab\x7f\x1b.txt", "linebreaktab.txt"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("  spaced name.txt  ", "spaced name.txt"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),  # NFD in, NFC stored
        ("résumé 履歴書 😀.pdf", "résumé 履歴書 😀.pdf"),
        (".bashrc", ".bashrc"),
    ],
)
def test_sanitize_filename(raw: str, stored: str) -> None:
    assert sanitize_filename(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["a" * 300 + ".txt", "é" * 200 + ".tar", "日本語" * 100 + ".json", "x" * 400],
    ids=["ascii", "two_byte", "three_byte", "no_extension"],
)
def test_long_names_keep_their_extension_within_255_bytes(raw: str) -> None:
    stored = sanitize_filename(raw)
    assert len(stored.encode()) <= 255
    assert len(stored.encode()) > 240  # cut, not emptied
    extension = raw.rpartition(".")[2] if "." in raw else None
    if extension:
        assert stored.endswith("." + extension)
    assert stored == unicodedata.normalize("NFC", stored)


def test_a_very_long_extension_is_not_kept_whole() -> None:
    stored = sanitize_filename("name." + "e" * 300)
    assert len(stored.encode()) == 255
    assert stored.startswith("name.")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (GZIP, "application/gzip"),
        (b"plain words\nand lines\r\n\ttabbed\n", "text/plain; charset=utf-8"),
        ("grüße, 世界 😀\n".encode(), "text/plain; charset=utf-8"),
        (b"<html><script>alert(1)</script></html>", "text/plain; charset=utf-8"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream"),
        (b"caf\xe9 latin-1", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
    ids=["png", "pdf", "gzip", "ascii", "utf8", "html_is_text", "binary", "latin1", "empty"],
)
def test_detect_content_type(head: bytes, expected: str) -> None:
    assert detect_content_type(head, whole=True) == expected


def test_a_character_cut_by_the_end_of_the_head_is_still_text() -> None:
    text = ("é" * SNIFF_BYTES).encode()  # two bytes each: the head ends inside one
    head = text[: SNIFF_BYTES - 1]
    assert detect_content_type(head, whole=False) == "text/plain; charset=utf-8"
    assert detect_content_type(head, whole=True) == "application/octet-stream"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("a\\b\\..\\c.txt", "c.txt"),
        ("résumé 😀.txt", "résumé 😀.txt"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),
    ],
)
async def test_uploaded_names_are_sanitised(upload: Upload, sent: str, stored: str) -> None:
    created = await upload(b"x", filename=sent)
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == stored


async def test_a_name_with_nul_and_control_characters(upload: Upload) -> None:
    created = await upload(b"x", filename="re\x00port\x01.txt")
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == "report.txt"


async def test_a_very_long_name_is_shortened(upload: Upload) -> None:
    created = await upload(b"x", filename="n" * 1000 + ".csv")
    assert created.status_code == 201, created.text
    name = created.json()["filename"]
    assert len(name.encode()) == 255 and name.endswith(".csv")


async def test_a_part_without_a_filename_is_named_file(upload: Upload) -> None:
    created = await upload(b"x", filename=None)
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == "file"


async def test_a_name_in_latin_1_is_kept(
    client: httpx.AsyncClient, auth: Callable[[uuid.UUID], dict[str, str]], owner: uuid.UUID
) -> None:
    """Browsers send UTF-8; a name that is not UTF-8 is read as latin-1 rather than refused."""
    disposition = 'form-data; name="file"; filename="caf\xe9.txt"'.encode("latin-1")
    body = b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\nx\r\n--B--\r\n"
    headers = {**auth(owner), "Content-Type": "multipart/form-data; boundary=B"}
    created = await client.post("/api/v1/files", headers=headers, content=body)
    assert created.status_code == 201, created.text
    assert created.json()["filename"] == "caf\u00e9.txt"


@pytest.mark.parametrize(
    ("content", "declared", "expected"),
    [
        (PNG, "text/plain", "image/png"),
        (b"just text\n", "image/png", "text/plain; charset=utf-8"),
        (b"<svg onload=alert(1)>", "image/svg+xml", "text/plain; charset=utf-8"),
        (b"\x00\xff\x10binary", "text/html", "application/octet-stream"),
    ],
    ids=["png_declared_text", "text_declared_png", "svg_declared", "binary_declared_html"],
)
async def test_the_declared_type_is_ignored(
    client: httpx.AsyncClient,
    upload: Upload,
    auth: Callable[[uuid.UUID], dict[str, str]],
    owner: uuid.UUID,
    content: bytes,
    declared: str,
    expected: str,
) -> None:
    created = await upload(content, filename="upload", declared_type=declared)
    assert created.status_code == 201, created.text
    assert created.json()["content_type"] == expected
    download = await client.get(
        f"/api/v1/files/{created.json()['id']}/content", headers=auth(owner)
    )
    assert download.headers["content-type"] == expected
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
