"""SSO against a real OpenID Connect provider (pytest-iam's Canaille) and a Graph stub."""

from tests.support.sso_fixtures import graph, iam_configuration, sso_server

__all__ = ["graph", "iam_configuration", "sso_server"]
