"""The HTML pages through the real app: login, overview, site, history, account, forms."""

from __future__ import annotations

from contextlib import closing

from portal_api.seed import DEMO_PASSWORD
from tests.portal.web.conftest import METER, OWNER, SITE, Portal, csrf_of


def test_wrong_password_shows_the_same_message_as_unknown_user(portal: Portal) -> None:
    with closing(portal.client()) as client:
        token = csrf_of(client.get("/login").text)
        wrong = client.post(
            "/login", data={"csrf_token": token, "username": OWNER, "password": "nope"}
        )
        unknown = client.post(
            "/login", data={"csrf_token": token, "username": "ghost", "password": "nope"}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert "Грешно потребителско име или парола." in wrong.text
    assert "Грешно потребителско име или парола." in unknown.text
    assert 'value="ghost"' in unknown.text  # the name stays filled in, the password not


def test_login_overview_and_logout(portal: Portal) -> None:
    with closing(portal.client()) as client:
        assert client.get("/sites").headers["location"] == "/login?next=/sites"
        token = csrf_of(client.get("/login?next=/sites/varna-0001").text)
        answer = client.post(
            "/login",
            data={
                "csrf_token": token,
                "username": OWNER,
                "password": DEMO_PASSWORD,
                "next": f"/sites/{SITE}",
            },
        )
        assert answer.headers["location"] == f"/sites/{SITE}"
        overview = client.get("/sites").text
        assert "Къща, кв. Бриз" in overview and "Апартамент, ж.к. Дружба" in overview
        assert "Пекарна" not in overview  # another customer's site
        assert "kWh" in overview
        site = client.get(f"/sites/{SITE}").text
        assert f'data-site-id="{SITE}"' in site and METER in site
        assert "-71 dBm" in site and "на линия" in site
        out = client.post("/logout", data={"csrf_token": csrf_of(site)})
        assert out.headers["location"] == "/login"
        assert client.get("/sites").status_code == 303


def test_history_page_views(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        day = client.get(f"/sites/{SITE}/history?view=day&date=2026-03-02").text
        assert "понеделник, 2 март 2026" in day
        assert "consumption.csv?period_from=2026-03-02&amp;period_to=2026-03-03" in day
        assert f"/api/v1/devices/{METER}/phases?" in day
        assert day.count('<th scope="row">') == 96  # every quarter-hour in the table
        assert "Пълнота на данните" in day
        week = client.get(f"/sites/{SITE}/history?view=week&date=2026-03-04").text
        assert "period_from=2026-03-02&amp;period_to=2026-03-09" in week
        year = client.get(f"/sites/{SITE}/history?view=year&date=2026-03-04").text
        assert year.count("/phases?") == 4  # a year's phases are asked per quarter
        assert client.get(f"/sites/{SITE}/history?view=decade").status_code == 400


def test_account_password_change(fresh_portal: Portal) -> None:
    with closing(fresh_portal.browser_session(OWNER)) as client:
        page = client.get("/account").text
        assert "3100000017" in page
        token = csrf_of(page)
        differ = client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": DEMO_PASSWORD,
                "new_password": "brand-new-pass-1",
                "confirm_password": "brand-new-pass-2",
            },
        )
        assert differ.status_code == 422 and "Двете нови пароли се различават." in differ.text
        done = client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": DEMO_PASSWORD,
                "new_password": "brand-new-pass-1",
                "confirm_password": "brand-new-pass-1",
            },
        )
        assert done.status_code == 200 and "Паролата Ви е сменена." in done.text
        assert client.get("/sites").status_code == 200  # this session stays
    assert fresh_portal.token(OWNER, "brand-new-pass-1")


def test_lost_credentials_form(portal: Portal) -> None:
    with closing(portal.client()) as client:
        page = client.get("/lost-credentials").text
        assert "5.4" in page
        answer = client.post(
            "/lost-credentials",
            data={
                "csrf_token": csrf_of(page),
                "customer_number": "3100000017",
                "contact_email": "ivan.georgiev@example.bg",
                "note": "",
            },
        )
    assert answer.status_code == 200
    # Received on Monday 2026-03-02; 3 March is Liberation Day (a public holiday), so
    # the third working day after it is Friday 2026-03-06.
    assert "до 6 март 2026" in answer.text


def test_reset_request_and_reset_pages(portal: Portal) -> None:
    with closing(portal.client()) as client:
        page = client.get("/reset-request").text
        answer = client.post("/reset-request", data={"csrf_token": csrf_of(page), "login": OWNER})
        assert answer.status_code == 200 and "един час" in answer.text
        form = client.get("/reset?token=forged").text
        assert 'value="forged"' in form
        refused = client.post(
            "/reset",
            data={
                "csrf_token": csrf_of(form),
                "token": "forged",
                "new_password": "long-enough-pass",
                "confirm_password": "long-enough-pass",
            },
        )
    assert refused.status_code == 422 and "невалидна" in refused.text
