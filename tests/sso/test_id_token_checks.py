"""ID-token validation (OIDC Core §3.1.3.7) by the relying party, against a provider whose keys
the test holds, so every way a token can be wrong can be produced."""

from __future__ import annotations

import base64
import time

import aiohttp
import orjson
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.web.oidc_client import OidcClient, OidcError
from tests.support.server import free_port

CLIENT_ID = "haimaker-app"
NONCE = "n-0S6_WzA2Mj"


class KeyedProvider:
    """Discovery and JWKS of an issuer whose signing keys can rotate."""

    def __init__(self):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.jwks_fetches = 0
        self.discovery_issuer = self.issuer

    async def start(self):
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def _discovery(self, request):
        return web.json_response(
            {
                "issuer": self.discovery_issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
            }
        )

    async def _jwks(self, request):
        self.jwks_fetches += 1
        return web.json_response({"keys": [key.as_dict(private=False) for key in self.keys]})

    def sign(self, key=None, **overrides) -> str:
        key = key or self.keys[-1]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "alice",
            "iat": now,
            "exp": now + 300,
            "nonce": NONCE,
            **overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@pytest.fixture(scope="module")
async def provider():
    stub = await KeyedProvider().start()
    yield stub
    await stub.runner.cleanup()


@pytest.fixture
async def client(provider):
    async with aiohttp.ClientSession() as session:
        yield OidcClient(
            session,
            issuer=provider.issuer,
            discovery_url=None,
            client_id=CLIENT_ID,
            client_secret="s",
            scopes="openid",
        )


async def test_a_valid_token_gives_its_claims(provider, client):
    claims = await client.verify_id_token(provider.sign(), nonce=NONCE)
    assert claims["sub"] == "alice"


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example"},
        {"aud": "another-app"},
        {"exp": int(time.time()) - 600},
        {"nonce": "replayed"},
        {"nonce": None},
        {"sub": None},
        {"aud": [CLIENT_ID, "other"], "azp": "other"},
    ],
    ids=["issuer", "audience", "expired", "nonce", "no-nonce", "no-subject", "azp"],
)
async def test_tokens_with_wrong_claims_are_refused(provider, client, overrides):
    with pytest.raises(OidcError):
        await client.verify_id_token(provider.sign(**overrides), nonce=NONCE)


async def test_a_token_signed_by_another_key_is_refused(provider, client):
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(OidcError, match="signature"):
        await client.verify_id_token(provider.sign(key=stranger), nonce=NONCE)


async def test_an_unsigned_token_is_refused(provider, client):
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    now = int(time.time())
    unsigned = f"{part({'alg': 'none'})}.{part({'iss': provider.issuer, 'aud': CLIENT_ID, 'sub': 'x', 'iat': now, 'exp': now + 60, 'nonce': NONCE})}."
    with pytest.raises(OidcError):
        await client.verify_id_token(unsigned, nonce=NONCE)


async def test_rotated_keys_are_fetched_again(provider, client):
    await client.verify_id_token(provider.sign(), nonce=NONCE)
    fetched = provider.jwks_fetches
    provider.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    claims = await client.verify_id_token(provider.sign(), nonce=NONCE)
    assert claims["sub"] == "alice" and provider.jwks_fetches == fetched + 1


async def test_a_discovery_document_for_another_issuer_is_refused(provider):
    provider.discovery_issuer = "https://evil.example"
    try:
        async with aiohttp.ClientSession() as session:
            client = OidcClient(
                session,
                issuer=provider.issuer,
                discovery_url=None,
                client_id=CLIENT_ID,
                client_secret="s",
                scopes="openid",
            )
            with pytest.raises(OidcError, match="issuer"):
                await client.metadata()
    finally:
        provider.discovery_issuer = provider.issuer
