"""Settings: safe defaults on a developer machine, and refusal of unsafe combinations elsewhere."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigError, Settings

PROD = {
    "STAGE": "prod",
    "PUBLIC_URL": "https://coop.example.gouv.fr",
    "OIDC_ISSUER": "https://auth.agentconnect.gouv.fr/api/v2",
    "OIDC_CLIENT_ID": "coop",
    "OIDC_CLIENT_SECRET": "secret",
}


def test_an_empty_environment_describes_the_local_stage() -> None:
    settings = Settings.from_env({})

    assert settings.stage == "local" and settings.is_local
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.region == "eu-west-3"
    assert settings.table_name("app") == "coop-local-app"
    assert settings.export_bucket == "coop-local-exports"
    assert settings.aws_endpoint_url is None
    assert settings.session_idle_seconds == 2 * 3600
    assert settings.session_absolute_seconds == 12 * 3600
    assert "openid" in settings.oidc_scopes.split() and "siret" in settings.oidc_scopes.split()


def test_locally_cookies_work_over_plain_http() -> None:
    settings = Settings.from_env({})

    assert not settings.secure_cookies
    assert settings.session_cookie_name == "coop_session"
    assert settings.login_cookie_name == "coop_login"


def test_the_local_stage_accepts_the_embedded_aws_and_the_fake_provider() -> None:
    settings = Settings.from_env(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "OIDC_ISSUER": "http://127.0.0.1:9000"}
    )

    assert settings.aws_endpoint_url == "http://127.0.0.1:5000"
    assert settings.oidc_issuer == "http://127.0.0.1:9000"


def test_the_region_comes_from_aws_region_then_the_default_region() -> None:
    assert Settings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    assert (
        Settings.from_env({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}).region
        == "eu-central-1"
    )


def test_the_session_lifetimes_can_be_configured() -> None:
    settings = Settings.from_env(
        {"SESSION_IDLE_SECONDS": "600", "SESSION_ABSOLUTE_SECONDS": "3600"}
    )

    assert (settings.session_idle_seconds, settings.session_absolute_seconds) == (600, 3600)


@pytest.mark.parametrize("stage", ["production", "PROD", "", "test"])
def test_an_unknown_stage_is_refused(stage: str) -> None:
    with pytest.raises(ConfigError, match="STAGE"):
        Settings.from_env({"STAGE": stage})


def test_a_well_formed_production_environment_is_accepted() -> None:
    settings = Settings.from_env(PROD)

    assert settings.stage == "prod" and not settings.is_local
    assert settings.table_name("app") == "coop-prod-app"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_outside_local_an_http_public_url_is_refused(stage: str) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        Settings.from_env({**PROD, "STAGE": stage, "PUBLIC_URL": "http://coop.example.gouv.fr"})


def test_outside_local_the_default_public_url_is_refused() -> None:
    env = {k: v for k, v in PROD.items() if k != "PUBLIC_URL"}

    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        Settings.from_env(env)


def test_outside_local_the_embedded_aws_is_refused() -> None:
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL"):
        Settings.from_env({**PROD, "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})


@pytest.mark.parametrize(
    "issuer",
    [
        "http://auth.agentconnect.gouv.fr/api/v2",
        "https://127.0.0.1:9000",
        "https://localhost:9000",
        "http://127.0.0.1:9000",
        "",
    ],
)
def test_outside_local_the_issuer_must_be_a_real_https_provider(issuer: str) -> None:
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        Settings.from_env({**PROD, "OIDC_ISSUER": issuer})


def test_an_https_public_url_gets_host_prefixed_secure_cookies() -> None:
    settings = Settings.from_env(PROD)

    assert settings.secure_cookies
    assert settings.session_cookie_name == "__Host-coop_session"
    assert settings.login_cookie_name == "__Host-coop_login"


def test_an_https_public_url_gets_secure_cookies_even_locally() -> None:
    settings = Settings.from_env({"PUBLIC_URL": "https://coop.localhost"})

    assert settings.secure_cookies and settings.session_cookie_name.startswith("__Host-")


@pytest.mark.parametrize(
    "public_url", ["https://coop.example.gouv.fr", "https://coop.example.gouv.fr/"]
)
def test_provider_redirects_are_derived_from_the_public_url(public_url: str) -> None:
    settings = Settings.from_env({**PROD, "PUBLIC_URL": public_url})

    assert settings.redirect_uri == "https://coop.example.gouv.fr/connexion/retour"
    assert settings.post_logout_redirect_uri == "https://coop.example.gouv.fr/deconnexion/retour"
    assert settings.public_origin == "https://coop.example.gouv.fr"


def test_the_public_origin_drops_the_path_of_the_public_url() -> None:
    settings = Settings.from_env({**PROD, "PUBLIC_URL": "https://example.gouv.fr/coop"})

    assert settings.public_origin == "https://example.gouv.fr"
    assert settings.redirect_uri == "https://example.gouv.fr/coop/connexion/retour"
