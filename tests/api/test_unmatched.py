"""Requests no route takes, and the admin page's static files: both go through the same
frontline as every route (app.web.middlewares): error bodies, security headers, request ids and
metrics, with no aiohttp middleware in between."""

from __future__ import annotations

from tests.support.scim_data import assert_scim_error


def _frontline_headers(response) -> None:
    assert response.headers["X-Request-Id"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Server"] == "haimaker"


async def test_an_unknown_scim_path_is_a_scim_404_after_authentication(scim):
    response = await scim.get("/NoSuchResource")
    body = assert_scim_error(response, 404)
    assert body["detail"] == "no such endpoint"
    assert response.headers["Cache-Control"] == "no-store"
    _frontline_headers(response)
    assert_scim_error(await scim.with_token(None).get("/NoSuchResource"), 401)


async def test_a_path_served_with_other_methods_is_405_with_allow(scim, anonymous):
    response = await scim.post("/Users/some-id", {})
    assert_scim_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {
        "GET",
        "HEAD",
        "PUT",
        "PATCH",
        "DELETE",
    }
    _frontline_headers(response)
    health = await anonymous.post("/health", None)
    assert health.status == 405
    assert health.headers["Allow"] == "GET,HEAD"


async def test_an_unknown_path_elsewhere_is_a_json_404(anonymous):
    response = await anonymous.get("/no/such/page")
    assert response.status == 404
    assert response.json["error"]["code"] == "404"
    _frontline_headers(response)


async def test_static_files_are_served_with_the_frontline_headers(anonymous):
    css = await anonymous.get("/ui/static/ui.css")
    assert css.status == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert css.headers["X-Frame-Options"] == "DENY"
    _frontline_headers(css)
    again = await anonymous.get("/ui/static/ui.css", headers={"If-None-Match": css.headers["ETag"]})
    assert again.status == 304
    for name in ("nope.css", "..%2Fui.css", "%2E%2E%2Fapp%2Fserver.py", "static"):
        missing = await anonymous.get(f"/ui/static/{name}")
        assert missing.status in (400, 404), (name, missing.status)
        _frontline_headers(missing)


async def test_unmatched_requests_are_counted_under_one_label(anonymous):
    await anonymous.get("/no/such/page/42")
    metrics = (await anonymous.get("/metrics")).body.decode()
    assert 'route="unmatched"' in metrics
    assert "/no/such/page" not in metrics
