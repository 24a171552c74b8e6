"""Failed master-key sign-ins are limited per client address (own module: its own database,
so the lock-out of 127.0.0.1 here cannot reach other tests)."""

from __future__ import annotations

from tests.support.server import MASTER_KEY
from tests.support.ui import UiClient, form_token


async def test_five_failures_a_minute_lock_the_address_out(server):
    ui = UiClient(server.base_url)
    try:
        for _ in range(5):
            status, _, _ = await ui.sign_in("sk-master-wrong")
            assert status == 401
        _, _, page = await ui.get("/ui/login")
        status, headers, body = await ui.post_form(
            "/ui/login", {"csrf_token": form_token(page), "master_key": MASTER_KEY, "next": "/ui"}
        )
        assert status == 429  # even the right key, until the minute has passed
        assert headers["Retry-After"] == "60"
        assert "Too many failed sign-ins" in body
        assert ui.cookie("haimaker_session") is None
    finally:
        await ui.close()
    page = await server.services.audit.page(action="ui.login_failed")
    assert page.total == 5
    assert {event.target_id for event in page.items} == {"127.0.0.1"}
    assert all("sk-master" not in str(event.details) for event in page.items)
