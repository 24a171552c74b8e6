"""A small OpenID Connect relying party: discovery, the authorization code flow with PKCE,
and ID-token verification.

- Discovery (OIDC Discovery 1.0 §4): the provider's metadata, kept for an hour; its `issuer` must
  be the configured one (§4.3), so a discovery document cannot redirect trust elsewhere.
- Authorization request (OIDC Core §3.1.2.1) with `state`, `nonce` and an S256 PKCE challenge
  (RFC 7636 §4.2).
- Token request (RFC 6749 §4.1.3) authenticated with client_secret_basic, or client_secret_post
  where that is all the provider supports.
- ID-token validation (OIDC Core §3.1.3.7) with joserfc: the signature against the provider's
  JWKS (refetched once when a `kid` is unknown: keys rotate), `iss`, `aud` (and `azp` with
  several audiences), `exp`/`iat` with a minute of leeway, and the `nonce` we sent.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from urllib.parse import quote, urlencode

import aiohttp
from attrs import frozen
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

log = logging.getLogger("haimaker.sso")

METADATA_TTL_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 60
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]


class OidcError(Exception):
    """The provider could not be used or its answer was not acceptable (message safe to show)."""


@frozen
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


@frozen
class TokenResponse:
    id_token: str
    access_token: str | None


def _basic_auth(client_id: str, secret: str) -> str:
    """client_secret_basic: both parts form-encoded before base64 (RFC 6749 §2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def new_pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1–4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        issuer: str | None,
        discovery_url: str | None,
        client_id: str,
        client_secret: str | None,
        scopes: str,
    ):
        self.session = session
        self.issuer = issuer.rstrip("/") if issuer else None
        self.discovery_url = discovery_url or (
            f"{self.issuer}/.well-known/openid-configuration" if self.issuer else None
        )
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    async def _get_json(self, url: str, what: str) -> dict:
        try:
            async with self.session.get(url, headers={"Accept": "application/json"}) as response:
                if response.status != 200:
                    raise OidcError(
                        f"the identity provider's {what} answered HTTP {response.status}"
                    )
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise OidcError(
                f"the identity provider's {what} could not be reached: {error}"
            ) from None
        except ValueError:
            raise OidcError(f"the identity provider's {what} is not JSON") from None
        if not isinstance(body, dict):
            raise OidcError(f"the identity provider's {what} is not a JSON object")
        return body

    async def metadata(self) -> ProviderMetadata:
        if self._metadata and time.monotonic() - self._metadata_at < METADATA_TTL_SECONDS:
            return self._metadata
        if not self.discovery_url:
            raise OidcError("no issuer or discovery URL is configured")
        doc = await self._get_json(self.discovery_url, "discovery document")
        issuer = str(doc.get("issuer") or "").rstrip("/")
        if self.issuer and issuer != self.issuer:
            raise OidcError(
                f"the discovery document names issuer {issuer!r}, not the configured {self.issuer!r}"
            )
        try:
            metadata = ProviderMetadata(
                issuer=str(doc["issuer"]),
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                token_auth_methods=tuple(
                    doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
                ),
            )
        except KeyError as missing:
            raise OidcError(f"the discovery document has no {missing}") from None
        self._metadata, self._metadata_at = metadata, time.monotonic()
        return metadata

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str
    ) -> str:
        metadata = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return f"{metadata.authorization_endpoint}{separator}{query}"

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str
    ) -> TokenResponse:
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Accept": "application/json"}
        if self.client_secret is None:
            form["client_id"] = self.client_id
        elif "client_secret_basic" in metadata.token_auth_methods:
            headers["Authorization"] = _basic_auth(self.client_id, self.client_secret)
        else:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        try:
            async with self.session.post(
                metadata.token_endpoint,
                data=form,
                headers=headers,
            ) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise OidcError(f"the token endpoint could not be reached: {error}") from None
        except ValueError:
            raise OidcError("the token endpoint did not answer JSON") from None
        if status != 200 or not isinstance(body, dict):
            detail = (
                body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
            )
            raise OidcError(f"the token endpoint refused the code (HTTP {status}): {detail}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the token response has no ID token (is the 'openid' scope granted?)")
        access_token = body.get("access_token")
        return TokenResponse(id_token, access_token if isinstance(access_token, str) else None)

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            jwks = await self._get_json(metadata.jwks_uri, "key set (JWKS)")
            try:
                self._keys = KeySet.import_key_set(jwks)
            except (JoseError, KeyError, TypeError, ValueError) as error:
                raise OidcError(f"the provider's key set could not be read: {error}") from None
        return self._keys

    async def verify_id_token(self, id_token: str, *, nonce: str) -> dict:
        """The claims of a valid ID token; OidcError otherwise."""
        metadata = await self.metadata()
        try:
            token = jwt.decode(id_token, await self._key_set(), algorithms=SIGNING_ALGORITHMS)
        except JoseError as first:
            log.info("ID token did not verify with the cached keys (%s); refetching JWKS", first)
            try:
                token = jwt.decode(
                    id_token, await self._key_set(refresh=True), algorithms=SIGNING_ALGORITHMS
                )
            except (JoseError, ValueError) as error:
                raise OidcError(f"the ID token's signature is not valid: {error}") from None
        except ValueError as error:
            raise OidcError(f"the ID token is malformed: {error}") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as error:
            raise OidcError(f"the ID token is not acceptable: {error}") from None
        audiences = token.claims["aud"]
        several = isinstance(audiences, list) and len(audiences) > 1
        if several and token.claims.get("azp") != self.client_id:
            raise OidcError("the ID token has several audiences and another authorized party")
        return dict(token.claims)
