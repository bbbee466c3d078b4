"""Photos: type from magic bytes, at most 5 MB, resized and re-encoded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from ethical_products import photos
from ethical_products.models import Photo
from portal import db
from tests.conftest import login
from tests.ethical_products.factories import make_producer, make_product


def image_bytes(fmt: str = "PNG", size=(2400, 1200), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 120, 40) if mode == "RGB" else (200, 120, 40, 128)).save(
        buffer, fmt
    )
    return buffer.getvalue()


def test_sniff_reads_magic_bytes_not_names():
    assert photos.sniff(image_bytes("PNG")[:16]) == "png"
    assert photos.sniff(image_bytes("JPEG")[:16]) == "jpeg"
    assert photos.sniff(image_bytes("WEBP")[:16]) == "webp"
    assert photos.sniff(b"<?php echo 1; ?>") is None
    assert photos.sniff(b"GIF89a....") is None


def test_store_resizes_and_reencodes(app, db_session, shop_uploads):
    stored = photos.store(image_bytes("PNG", (3200, 1600), "RGBA"))
    assert (stored.width, stored.height) == (1600, 800)
    large = Image.open(shop_uploads / stored.filename)
    thumb = Image.open(shop_uploads / stored.thumb_filename)
    assert large.format == "JPEG" and max(thumb.size) == photos.THUMB_SIDE


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"broken" * 10,  # right magic bytes, not an image
        b"MZ\x90\x00 not an image at all",
        b"",
    ],
)
def test_bad_files_are_refused(app, db_session, shop_uploads, data):
    with pytest.raises(photos.PhotoError):
        photos.store(data)


def test_too_large_is_refused(app, db_session, shop_uploads):
    with pytest.raises(photos.PhotoError, match="5 MB"):
        photos.store(b"\xff\xd8\xff" + b"0" * photos.MAX_BYTES)


def test_upload_through_the_page(client, db_session, shop_uploads):
    farm, user = make_producer()
    product, _v = make_product(farm)
    login(client, user)
    response = client.post(
        f"/shop/manage/products/{product.id}/photos",
        data={
            "photo": (io.BytesIO(image_bytes("JPEG", (800, 600))), "miele.exe"),
            "alt": "Vasetti di miele",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    photo = db.session.query(Photo).filter_by(product_id=product.id).one()
    assert client.get(f"/shop/photos/{photo.filename}").status_code == 200
    bad = client.post(
        f"/shop/manage/products/{product.id}/photos",
        data={"photo": (io.BytesIO(b"<script>alert(1)</script>"), "evil.jpg"), "alt": "x"},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and 'id="photo-error"' in bad.get_data(as_text=True)
    assert client.get("/shop/photos/..%2Fponte.db").status_code == 404
