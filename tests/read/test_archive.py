"""ZIP archives of uploads and KMZ: bounded like gzip, names outside the archive refused, typed errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from offcourse.errors import ArchiveError, FileTooLargeError, ReadError
from offcourse.read import archive
from offcourse.read.archive import ZipMember, zip_members


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_members_in_archive_order_folders_and_macos_forks_skipped(tmp_path: Path) -> None:
    data = _zip({"runs/": b"", "runs/a.gpx": b"<gpx/>", "__MACOSX/runs/._a.gpx": b"junk", "b.fit": b"\x0e"})
    p = tmp_path / "uploads.zip"
    p.write_bytes(data)
    expected = [ZipMember("runs/a.gpx", b"<gpx/>"), ZipMember("b.fit", b"\x0e")]
    assert zip_members(p) == expected
    assert zip_members(data, name="uploads.zip") == expected


def test_one_level_of_nested_archive_is_opened() -> None:
    inner = _zip({"c.gpx": b"<gpx>c</gpx>"})
    data = _zip({"a.gpx": b"<gpx/>", "more.zip": inner})
    assert [m.name for m in zip_members(data, name="u.zip")] == ["a.gpx", "more.zip/c.gpx"]


def test_two_levels_of_nested_archives_are_refused() -> None:
    data = _zip({"more.zip": _zip({"deeper.zip": _zip({"c.gpx": b"<gpx/>"})})})
    with pytest.raises(ArchiveError, match=r"^u.zip: member 'more.zip/deeper.zip': an archive inside an archive"):
        zip_members(data, name="u.zip")


@pytest.mark.parametrize("name", ["../escape.gpx", "runs/../../escape.gpx", "/etc/passwd", "C:\\x.gpx", "\\\\host\\x"])
def test_names_outside_the_archive_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError, match=r"is named outside the archive"):
        zip_members(_zip({name: b"x"}), name="evil.zip")


def test_total_size_is_bounded() -> None:
    data = _zip({"a.gpx": b"a" * 6000, "b.gpx": b"b" * 6000})
    assert len(data) < 1000
    assert len(zip_members(data, name="u.zip", max_bytes=12000)) == 2
    with pytest.raises(FileTooLargeError, match=r"^u.zip: decompressed archive content exceeds 10000 bytes"):
        zip_members(data, name="u.zip", max_bytes=10000)
    with pytest.raises(FileTooLargeError, match=r"^u.zip: archive is .* bytes, more than the bound of 100"):
        zip_members(data, name="u.zip", max_bytes=100)


def test_a_zip_bomb_stops_at_the_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "RATIO_FREE_BYTES", 1000)
    data = _zip({"bomb.gpx": b"\0" * 500_000})  # deflate: about 1000 times smaller
    with pytest.raises(FileTooLargeError, match=r"'bomb.gpx' decompresses to more than 200 times its size"):
        zip_members(data, name="u.zip")


def test_member_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 3)
    with pytest.raises(FileTooLargeError, match=r"more than 3 members"):
        zip_members(_zip({f"{i}.gpx": b"x" for i in range(4)}), name="u.zip")


def test_damaged_archives_are_typed_errors() -> None:
    data = _zip({"a.gpx": b"<gpx>" + b"x" * 1000 + b"</gpx>"})
    with pytest.raises(ArchiveError, match=r"^u.zip: damaged ZIP archive"):
        zip_members(data[: len(data) // 2], name="u.zip")
    bad_crc = bytearray(_zip({"a.gpx": b"<gpx/>"}, zipfile.ZIP_STORED))
    bad_crc[bad_crc.index(b"<gpx/>")] ^= 1
    with pytest.raises(ArchiveError, match=r"damaged ZIP archive: Bad CRC-32 for file 'a.gpx'"):
        zip_members(bytes(bad_crc), name="u.zip")
    with pytest.raises(ArchiveError, match=r"^u.zip: not a ZIP archive"):
        zip_members(b"<gpx/>", name="u.zip")


def test_encrypted_member_is_refused() -> None:
    data = bytearray(_zip({"a.gpx": b"<gpx/>"}, zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag in both headers
        i = data.index(sig)
        flag_at = i + (6 if sig == b"PK\x03\x04" else 8)
        data[flag_at] |= 1
    with pytest.raises(ArchiveError, match=r"'a.gpx' is encrypted"):
        zip_members(bytes(data), name="u.zip")


def test_missing_file_is_a_read_error(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"no such file"):
        zip_members(tmp_path / "none.zip")


def test_only_wanted_members_are_read() -> None:
    data = _zip({"a.gpx": b"<gpx/>", "doc.kml": b"<kml/>"})
    assert zip_members(data, name="x.kmz", wanted=lambda n: n.endswith(".kml")) == [ZipMember("doc.kml", b"<kml/>")]
