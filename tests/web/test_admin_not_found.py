"""A missing page in the admin, as staff and strangers meet it."""

from __future__ import annotations

import httpx

from tests.delivery.sending_support import LIST, PERIOD
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in

admin_site = admin_support.admin_site

MISSING = [
    "/admin/articles/999",
    "/admin/editions/999",
    "/admin/editions/999/recipients/999",
    "/admin/lists/ni-seznama",
    f"/admin/digests/ni-seznama/{PERIOD}",
    f"/admin/digests/{LIST}/ni-obdobje",
    "/admin/ni-take-strani",
]


def test_staff_get_the_admins_own_404_page_with_a_way_back(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    for path in MISSING:
        page = client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert "<h1>Strani ni</h1>" in page.text, path
        assert '<a href="/admin">Nazaj na pregled</a>' in page.text, path
        assert 'aria-label="Uredništvo"' in page.text and "Odjava" in page.text, path  # its layout
        assert '<html lang="sl"' in page.text, path


def test_strangers_are_sent_to_sign_in_first_and_see_no_admin_frame(
    admin_site: AdminSite,
) -> None:
    with admin_site.client() as client:
        for path in MISSING[:-1]:  # a route that exists: the login page, as for any admin page
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login?next=/admin"), path
        unknown = client.get(MISSING[-1])
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/plain")
        assert "Odjava" not in unknown.text


def test_the_api_keeps_its_json_404_for_a_signed_in_staff_member(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    for path in ("/api/ni-take-poti", "/api/articles/999"):
        response = client.get(path)
        assert response.status_code in (401, 404), path
        assert response.headers["content-type"].startswith("application/json"), path
        assert "Strani ni" not in response.text, path
    assert isinstance(httpx.get(admin_site.url + "/api/ni-take-poti").json(), dict)
