"""Request bodies are limited before they are read: a clear 413 page or JSON error."""

from __future__ import annotations

import io

from portal.uploads import MB
from tests.conftest import login
from tests.ethical_products.factories import make_producer, make_product
from tests.factories import make_user


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that records how much of it the server read."""

    def __init__(self, size: int) -> None:
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = max(0, min(len(buffer), self.size - self.pos))
        buffer[:n] = b"0" * n
        self.pos += n
        self.read_bytes += n
        return n


def post_body(client, path, size, content_type, headers=None):
    stream = CountingStream(size)
    response = client.post(
        path,
        input_stream=stream,
        content_type=content_type,
        headers={"Content-Length": str(size), **(headers or {})},
    )
    return response, stream


def test_a_21_mb_photo_is_refused_before_it_is_read(client, db_session):
    farm, user = make_producer()
    product, _v = make_product(farm)
    login(client, user)
    response, stream = post_body(
        client,
        f"/shop/manage/products/{product.id}/photos",
        21 * MB,
        "multipart/form-data; boundary=x",
    )
    assert response.status_code == 413
    assert stream.read_bytes == 0
    page = response.get_data(as_text=True)
    assert "5 MB" in page and "<h1>" in page


def test_a_file_over_the_route_limit_but_under_the_ceiling_is_refused(client, db_session):
    farm, user = make_producer()
    product, _v = make_product(farm)
    login(client, user)
    response, stream = post_body(
        client,
        f"/shop/manage/products/{product.id}/photos",
        6 * MB,
        "multipart/form-data; boundary=x",
    )
    assert response.status_code == 413 and stream.read_bytes == 0


def test_forms_without_files_accept_little(client, db_session):
    response, stream = post_body(client, "/login", 2 * MB, "application/x-www-form-urlencoded")
    assert response.status_code == 413 and stream.read_bytes == 0


def test_the_api_answers_413_in_json(client, db_session):
    from portal.accounts import issue_token

    officer = make_user("public_officer")
    token = issue_token(officer)
    response, stream = post_body(
        client,
        "/api/v1/tenders/import",
        25 * MB,
        "application/json",
        {"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413 and stream.read_bytes == 0
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and "MB" in error["message"]
