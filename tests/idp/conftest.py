"""The fixture every IdP replay starts from: an IdP configured with this server's tenant URL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.idp.replay import IdP


@pytest.fixture
def connect_idp(server, http_session, scim_token) -> Callable[..., IdP]:
    """`connect_idp(user_agent, **options)`: an IdP pointed at /scim/v2 with a valid SCIM token;
    `options` are what else sets it apart on the wire (`content_type`, `tenant_query`)."""

    def connect(user_agent: str, **options) -> IdP:
        return IdP(http_session, server.scim_url, scim_token, user_agent=user_agent, **options)

    return connect
