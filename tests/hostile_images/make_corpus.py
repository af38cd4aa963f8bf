"""Write the hostile-image corpus next to this file: `python tests/hostile_images/make_corpus.py`.

Each file is something a browser or an old image library might be talked into trusting; the cover upload
must refuse it with a message (or, for the last few, accept only the pixels and drop everything else).
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, body: bytes = b"") -> bytes:
    """A PNG whose header declares these dimensions, with a little (or no) image data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(body)) + png_chunk(b"IEND", b"")


def bomb() -> bytes:
    """30000×30000 one-bit pixels of zeros: 900 million pixels once decoded, about 110 KB compressed."""
    row = b"\x00" + b"\x00" * (30000 // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(30000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def small_image(fmt: str, size=(40, 60), **options) -> bytes:
    """A small real image in a format."""
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 30)).save(out, fmt, **options)
    return out.getvalue()


def exif_with_location() -> bytes:
    """A real JPEG carrying a GPS position and a comment, which must not survive re-encoding."""
    image = Image.new("RGB", (120, 180), (30, 60, 90))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"home address here")
    return out.getvalue()


CORPUS = {
    # Refused.
    "png-header-on-html.png": b"\x89PNG\r\n\x1a\n<html><script>alert(document.cookie)</script></html>",
    "html-named-jpg.jpg": b"<!doctype html><html><body onload=alert(1)>cover</body></html>",
    "svg-with-script.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
    "svg-named-png.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="200" height="300"/>',
    "decompression-bomb.png": bomb(),
    "huge-width.png": png_declaring(100_000, 10),
    "huge-declared-area.png": png_declaring(5_900, 5_900),
    "truncated.jpg": small_image("JPEG", (400, 600))[:300],
    "gif-animation.gif": small_image("GIF"),
    "bmp.bmp": small_image("BMP"),
    "tiff.tiff": small_image("TIFF"),
    "zero-bytes.jpg": b"",
    "one-pixel.png": small_image("PNG", (1, 1)),
    # Accepted, but only as fresh pixels.
    "ok-exif-location.jpg": exif_with_location(),
    "ok-jpeg-with-html-appended.jpg": small_image("JPEG", (100, 150)) + b"<html><script>alert(1)</script></html>",
}


if __name__ == "__main__":
    for name, data in CORPUS.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(CORPUS)} files to {HERE}")
