"""Settings of the auth service, from AUTH_* environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from auth_service.oidc import OidcProviderSettings
from shared.settings import ServiceSettings

DEV_DEVICE_TOKEN_SECRET = "local-development-device-token-secret"  # noqa: S105 - refused in production


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth"

    jwt_private_key: SecretStr = Field(
        description="Path to, or content of, the PEM private key that signs access tokens."
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    refresh_reuse_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="A rotated refresh token seen again this soon is a concurrent retry, not theft.",
    )

    password_hash_memory_kib: int = Field(default=19_456, ge=19_456)
    password_hash_time_cost: int = Field(default=2, ge=2)
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How far below the process the hashing threads run (Linux nice steps): a "
        "login storm then takes only CPU that serving other requests leaves idle.",
    )

    login_pair_max_failures: int = Field(default=5, ge=1)
    login_pair_window_seconds: int = Field(default=15 * 60, ge=60)
    login_account_hourly_checks: int = Field(default=100, ge=10)
    device_token_secret: SecretStr = Field(
        default=SecretStr(DEV_DEVICE_TOKEN_SECRET),
        description="Signs device tokens (clients known to an account); the same on every replica.",
    )
    device_token_ttl_days: int = Field(default=365, ge=1, le=3650)
    trusted_proxies: str = Field(
        default="127.0.0.1/32,::1/128",
        description="Networks whose X-Forwarded-For is believed (the gateway's addresses).",
    )

    smtp_host: str = Field(default="localhost", description="The SMTP server auth sends mail to.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password_file: Path | None = Field(
        default=None, description="A file holding the SMTP password (a mounted secret)."
    )
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    mail_from: str = Field(default="suite <no-reply@suite.local>")
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Where users reach the suite: the links in mail start here.",
    )
    require_verified_email: bool = Field(
        default=False, description="Refuse logins (email_not_verified) until the email is verified."
    )
    mail_requests_per_hour: int = Field(
        default=5, ge=1, description="Verification or reset mails one account may ask for hourly."
    )
    mail_requests_per_address_hour: int = Field(
        default=30,
        ge=1,
        description="Reset requests, and reset attempts, one client address may make hourly.",
    )

    oidc_providers: dict[str, OidcProviderSettings] = Field(
        default_factory=dict,
        description="OpenID providers users may sign in with, as JSON: "
        '{"name": {"issuer": ..., "client_id": ..., "client_secret_file": ..., "scopes": [...]}}',
    )
    security_log_days: int = Field(
        default=90, ge=1, le=3650, description="How long security log entries are kept."
    )

    admin_email: str | None = None
    admin_username: str | None = None
    admin_password: SecretStr | None = None

    @model_validator(mode="after")
    def _refuse_dev_device_secret_in_production(self) -> "Settings":
        if (
            self.environment == "production"
            and self.device_token_secret.get_secret_value() == DEV_DEVICE_TOKEN_SECRET
        ):
            raise ValueError("set DEVICE_TOKEN_SECRET: the development default is refused")
        return self

    @model_validator(mode="after")
    def _admin_all_or_nothing(self) -> "Settings":
        given = [self.admin_email, self.admin_username, self.admin_password]
        if any(given) and not all(given):
            raise ValueError("set ADMIN_EMAIL, ADMIN_USERNAME and ADMIN_PASSWORD together")
        return self
