from tests.conftest import login
from tests.factories import make_user


def test_home_renders_in_italian_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'lang="it"' in response.data


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_directory_and_login(client, db_session):
    user = make_user("employer")
    login(client, user)
    assert client.get("/directory").status_code == 200
    assert client.get("/account").status_code == 200
