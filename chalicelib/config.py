"""Settings read from an injected environment mapping (never from os.environ at import time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

STAGES = ("local", "dev", "prod")


class ConfigError(ValueError):
    """The environment does not describe a runnable stage."""


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    export_bucket: str
    export_queue_url: str
    aws_endpoint_url: str | None
    public_url: str
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: str
    oidc_client_secret_parameter: str  # SSM SecureString name (production): never in the template
    oidc_scopes: str
    session_idle_seconds: int
    session_absolute_seconds: int
    metrics_namespace: str
    service_name: str
    # What one signed-out client (one IP address) may store per 10 minutes: sign-in attempts,
    # and the bytes they carry (a form kept across sign-in). Generous for an office behind one
    # address; the WAF's per-IP rate rule is the outer layer.
    anonymous_attempts: int = 60
    anonymous_bytes: int = 1024 * 1024

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @property
    def secure_cookies(self) -> bool:
        """`__Host-` cookies need https; plain http://127.0.0.1 only exists locally."""
        return urlsplit(self.public_url).scheme == "https"

    @property
    def session_cookie_name(self) -> str:
        return "__Host-coop_session" if self.secure_cookies else "coop_session"

    @property
    def login_cookie_name(self) -> str:
        return "__Host-coop_login" if self.secure_cookies else "coop_login"

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/connexion/retour"

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/deconnexion/retour"

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    def table_name(self, logical: str) -> str:
        return f"{self.table_prefix}-{logical}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        stage = env.get("STAGE", "local")
        if stage not in STAGES:
            raise ConfigError(f"STAGE must be one of {STAGES}, got {stage!r}")
        settings = cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-3",
            table_prefix=env.get("TABLE_PREFIX", f"coop-{stage}"),
            export_bucket=env.get("EXPORT_BUCKET", f"coop-{stage}-exports"),
            export_queue_url=env.get("EXPORT_QUEUE_URL", ""),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            public_url=env.get("PUBLIC_URL", "http://127.0.0.1:8000"),
            oidc_issuer=env.get("OIDC_ISSUER", ""),
            oidc_client_id=env.get("OIDC_CLIENT_ID", ""),
            oidc_client_secret=env.get("OIDC_CLIENT_SECRET", ""),
            oidc_client_secret_parameter=env.get("OIDC_CLIENT_SECRET_PARAMETER", ""),
            oidc_scopes=env.get(
                "OIDC_SCOPES", "openid email given_name usual_name siret idp_id uid"
            ),
            session_idle_seconds=int(env.get("SESSION_IDLE_SECONDS", str(2 * 3600))),
            session_absolute_seconds=int(env.get("SESSION_ABSOLUTE_SECONDS", str(12 * 3600))),
            metrics_namespace=env.get("POWERTOOLS_METRICS_NAMESPACE", "Coop"),
            service_name=env.get("POWERTOOLS_SERVICE_NAME", "coop"),
            anonymous_attempts=int(env.get("ANONYMOUS_ATTEMPTS_PER_10_MIN", "60")),
            anonymous_bytes=int(env.get("ANONYMOUS_BYTES_PER_10_MIN", str(1024 * 1024))),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that would be unsafe outside a developer machine."""
        if self.is_local:
            return
        if not self.secure_cookies:
            raise ConfigError("PUBLIC_URL must be https outside the local stage")
        if self.aws_endpoint_url:
            raise ConfigError("AWS_ENDPOINT_URL (embedded AWS) is only allowed in the local stage")
        host = urlsplit(self.oidc_issuer).hostname or ""
        if urlsplit(self.oidc_issuer).scheme != "https" or host in {"127.0.0.1", "localhost"}:
            # The fake ProConnect only ever listens on loopback over http.
            raise ConfigError("OIDC_ISSUER must be an https ProConnect issuer outside local")
