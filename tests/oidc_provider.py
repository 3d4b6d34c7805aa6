"""A small but real OpenID Connect provider for the tests, built on authlib's server side.

Authorization code flow (PKCE S256 required), ID tokens signed RS256 with a key made at
start (published as JWKS), a discovery document, a sign-in form where the test types a
username, and an end-session endpoint (RP-initiated logout). It serves HTTP on 127.0.0.1
from a thread (werkzeug). Users and their groups are the test's to set, also between
sign-ins; ``tweak`` lets a test forge claims (another nonce, audience...) to see them
refused."""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on 127.0.0.1

CLIENT_ID = "deskwatch-test"
CLIENT_SECRET = "s3cret-for-the-test-provider"


@dataclass
class Person:
    """Someone the provider knows."""

    username: str
    groups: list[str]
    name: str = ""
    sub: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class _Client:
    def __init__(self, redirect_uris: list[str]) -> None:
        self.redirect_uris = redirect_uris

    def get_client_id(self) -> str:
        return CLIENT_ID

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email"}
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return not self.redirect_uris or redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, CLIENT_SECRET)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def data(self) -> Any:
        return self._request.values

    @property
    def datalist(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = defaultdict(list)
        for k in self._request.values:
            values[k].extend(self._request.values.getlist(k))
        return values


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: Request) -> None:
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self._request = request
        self.payload = _Payload(request)

    @property
    def args(self) -> Any:
        return self._request.args

    @property
    def form(self) -> Any:
        return self._request.form


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, request: Request) -> None:
        self._request = request

    @property
    def data(self) -> Any:
        return self._request.get_json()


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(scopes_supported=["openid", "profile", "email"])
        self.provider = provider
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32))
        )

    def query_client(self, client_id: str) -> _Client | None:
        return self.provider.client if client_id == CLIENT_ID else None

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        pass

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def create_json_request(self, request: Request) -> JsonRequest:
        made = JsonRequest(request.method, request.url, request.headers)
        made.payload = _JsonPayload(request)
        return made

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        text = json.dumps(body) if isinstance(body, dict) else str(body or "")
        return Response(text, status=status, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.provider.codes[code] = _Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.payload.scope,
            user=request.user,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        found: _Code | None = self.server.provider.codes.get(code)
        return found if found and found.client_id == client.get_client_id() else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> Person:
        return authorization_code.user


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return any(c.nonce == nonce for c in self.provider.codes.values())

    def resolve_client_private_key(self, client: _Client) -> RSAKey:
        return self.provider.rogue_key if self.provider.sign_with_rogue_key else self.provider.key

    def get_encode_header(self, client: _Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.kid}

    def get_client_algorithm(self, client: _Client) -> str:
        return "RS256"

    def get_client_claims(self, client: _Client) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()]}

    def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "sub": user.sub,
            "preferred_username": user.username,
            "name": user.name or user.username.title(),
            "email": f"{user.username}@example.test",
            "groups": list(user.groups),
        }
        return self.provider.tweak(claims) if self.provider.tweak else claims


FORM = """<!doctype html><html><head><title>Test IdP sign-in</title></head><body>
<h1>Test identity provider</h1><form method="post" action="/authorize">{hidden}
<label for="idp-username">Username</label> <input id="idp-username" name="username">
<button id="idp-submit" type="submit">Sign in</button></form></body></html>"""


class OidcProvider:
    """The provider; ``start()`` serves it, ``issuer`` is its URL. ``host`` is the name its
    URLs use (``localhost`` makes it another site than 127.0.0.1 to a browser)."""

    def __init__(
        self,
        people: list[Person],
        *,
        redirect_uris: list[str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.people = {p.username: p for p in people}
        self.client = _Client(redirect_uris or [])
        self.codes: dict[str, _Code] = {}
        self.key = RSAKey.generate_key(2048, private=True)
        self.rogue_key = RSAKey.generate_key(2048, private=True)
        self.kid = secrets.token_hex(4)
        self.sign_with_rogue_key = False
        self.tweak: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.ended: list[dict[str, str]] = []  # the end-session requests seen
        self.host = host
        self.server = _Server(self)
        self.server.register_grant(_CodeGrant, [_OpenIDCode(self), CodeChallenge(required=True)])
        self._http: BaseWSGIServer | None = None

    @property
    def issuer(self) -> str:
        assert self._http is not None
        return f"http://{self.host}:{self._http.server_port}"

    def start(self) -> OidcProvider:
        self._http = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes: dict[str, Callable[[Request], Response]] = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": lambda r: self.server.create_token_response(r),
            "/logout": self._logout,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _discovery(self, request: Request) -> Response:
        base = self.issuer
        document = {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
        return Response(json.dumps(document), content_type="application/json")

    def _jwks(self, request: Request) -> Response:
        public = self.key.as_dict(private=False)
        public.update(kid=self.kid, use="sig", alg="RS256")
        return Response(json.dumps({"keys": [public]}), content_type="application/json")

    def _authorize(self, request: Request) -> Response:
        grant = self.server.get_consent_grant(_Request(request))
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in request.args.items()
            )
            return Response(FORM.format(hidden=hidden), content_type="text/html")
        person = self.people.get(request.form.get("username", ""))
        if person is None:
            return Response("unknown user", status=403)
        response: Response = self.server.create_authorization_response(
            _Request(request), grant_user=person, grant=grant
        )
        return response

    def _logout(self, request: Request) -> Response:
        self.ended.append(dict(request.args))
        back = request.args.get("post_logout_redirect_uri", "")
        if back:
            return Response(status=302, headers={"location": back})
        return Response(
            "<p>Signed out of the test identity provider.</p>", content_type="text/html"
        )
