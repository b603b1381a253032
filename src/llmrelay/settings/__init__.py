"""One settings object: code, environment (``LLMRELAY_*``), ``.env`` and a YAML file.

Precedence, highest first: arguments given in code, environment variables, the YAML
file (``LLMRELAY_CONFIG`` or ``config=``), defaults. Invalid values are refused at
load time with the offending entry named.

API keys are never stored here by default: a deployment names the environment
variable that holds its key (``api_key_env``). An inline ``api_key`` is accepted for
programmatic use and held as a secret.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from llmrelay.catalog import validate_overrides
from llmrelay.errors import ConfigError
from llmrelay.hosts import HOSTS
from llmrelay.settings.cache import CacheSettings
from llmrelay.settings.limits import BudgetSettings, RateLimitSettings
from llmrelay.settings.observe import ObserveSettings
from llmrelay.settings.resilience import (
    CircuitSettings,
    PriceSettings,
    RetrySettings,
    RoutingSettings,
    StrategyName,
    fallback_problem,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentSettings(_Strict):
    """One place a model alias can be served from."""

    provider: str = Field(description="host name from llmrelay.hosts (openai, anthropic, azure, groq…)")
    model: str = Field(min_length=1, description="the provider's model id (Azure: the deployment name)")
    name: str | None = Field(
        default=None, min_length=1, description="a stable name for reports and shared circuit state"
    )
    base_url: str | None = None
    api_key_env: str | list[str] | None = Field(
        default=None, description="the variable holding the key, or a list of them: a key pool in rotation"
    )
    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    weight: float = Field(default=1.0, gt=0)
    price: PriceSettings | None = None
    catalog: dict[str, Any] = Field(
        default_factory=dict,
        description="catalog fields for this deployment's model (prices, context_window…, or base: "
        "'provider/model' to copy a known entry), as in the catalog.models section",
    )

    @field_validator("catalog")
    @classmethod
    def _catalog_entry(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if v:
            key = f"{info.data.get('provider', 'deployment')}/{info.data.get('model', '?')}"
            validate_overrides({key: v})
        return v

    @field_validator("api_key_env")
    @classmethod
    def _key_pool(cls, v: str | list[str] | None) -> str | list[str] | None:
        if isinstance(v, list):
            if not v or not all(v):
                raise ValueError("api_key_env must name at least one variable, and no empty names")
            if len(set(v)) != len(v):
                raise ValueError(f"api_key_env lists a variable twice: {v}")
        return v

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        if v not in HOSTS:
            raise ValueError(f"unknown provider {v!r}; known: {', '.join(sorted(HOSTS))}")
        return v


class AliasSettings(_Strict):
    deployments: list[DeploymentSettings] = Field(min_length=1)
    fallbacks: list[str] = Field(
        default_factory=list,
        description="aliases tried in order when this one is rate limited or unavailable",
    )
    context_window_fallback: str | None = Field(default=None, description="a larger-context alias")
    content_filter_fallback: str | None = Field(default=None, description="an alias for filtered content")
    strategy: StrategyName | None = Field(default=None, description="overrides routing.strategy")
    hedge: bool | None = Field(default=None, description="overrides routing.hedge.enabled")

    @model_validator(mode="after")
    def _unique_names(self) -> AliasSettings:
        names = [d.name for d in self.deployments if d.name is not None]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two deployments are named {name!r}; deployment names must be unique")
        return self

    def fallback_targets(self) -> list[str]:
        extra = (self.context_window_fallback, self.content_filter_fallback)
        return [*self.fallbacks, *(a for a in extra if a is not None)]


class TimeoutSettings(_Strict):
    connect: float = Field(default=10.0, gt=0)
    read: float = Field(default=600.0, gt=0)
    total: float | None = Field(default=None, gt=0)


class StateSettings(_Strict):
    """Where shared state lives: in memory (one process) or Redis (several replicas)."""

    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0")
    prefix: str = Field(default="llmrelay:", min_length=1)


class SimulatorSettings(_Strict):
    seed: int = 0
    latency: float = Field(default=0.0, ge=0)
    ttft: float = Field(default=0.0, ge=0)
    tokens_per_second: float | None = Field(default=None, gt=0)


_LEDGER_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class LedgerSettings(_Strict):
    """The usage ledger: one record per call, written in batches off the request path.

    ``url`` is ``sqlite:///relative/path``, ``sqlite:////absolute/path`` or
    ``postgresql://user:password@host:port/db``; unset means ``ledger.sqlite3`` in the
    user data directory. It is held as a secret because a PostgreSQL URL can carry a
    password.
    """

    enabled: bool = True
    url: SecretStr | None = None
    table_prefix: str = Field(default="llmrelay_", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
    batch_size: int = Field(default=200, ge=1, le=10_000)
    flush_interval: float = Field(default=1.0, gt=0, le=3600)
    queue_size: int = Field(default=10_000, ge=1)
    shutdown_timeout: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith(_LEDGER_SCHEMES):
            raise ValueError(
                "ledger url must start with sqlite:/// (a file) or postgresql:// (a server), "
                "e.g. sqlite:///usage.sqlite3 or postgresql://llmrelay@127.0.0.1:5432/llmrelay"
            )
        return v


class CatalogSettings(_Strict):
    """Overrides of the shipped model catalog, and the preflight context-window check."""

    preflight: bool = Field(
        default=True, description="refuse, before sending, a prompt + max_tokens over the model's window"
    )
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="'provider/model' -> catalog fields (input_price, output_price, cached_input_price, "
        "cache_write_price, context_window, max_output, capabilities, encoding, base…)",
    )

    @field_validator("models")
    @classmethod
    def _entries(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        validate_overrides(v)
        return v


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLMRELAY_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    default_model: str = "local"
    models: dict[str, AliasSettings] = Field(default_factory=dict)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    circuit: CircuitSettings = Field(default_factory=CircuitSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    budgets: BudgetSettings = Field(default_factory=BudgetSettings)
    limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    observe: ObserveSettings = Field(default_factory=ObserveSettings)
    key_file: Path | None = Field(
        default=None, description="a dotenv-style file of KEY=value lines consulted after the environment"
    )

    @model_validator(mode="after")
    def _fallbacks_resolve(self) -> Settings:
        for alias, cfg in self.models.items():
            for target in cfg.fallback_targets():
                if target == alias:
                    raise ValueError(f"models.{alias}: an alias cannot fall back to itself")
                if target in self.models or target == "local":
                    continue
                prefix, sep, model = target.partition("/")
                if not (sep and model and prefix in HOSTS):
                    known = ", ".join(sorted({*self.models, "local"}))
                    raise ValueError(
                        f"models.{alias}: unknown fallback alias {target!r}; "
                        + f"use a configured alias ({known}) or 'provider/model'"
                    )
        problem = fallback_problem({a: c.fallback_targets() for a, c in self.models.items()})
        if problem:
            raise ValueError(problem + "; a call could go round it forever")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives through init kwargs (see load), so keep the default order.
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @classmethod
    def load(cls, config: str | Path | None = None, **overrides: Any) -> Settings:
        """Build settings from a YAML file (``config`` or ``$LLMRELAY_CONFIG``), the
        environment and ``overrides``. Raises ``ConfigError`` naming the bad entry."""
        path = config if config is not None else os.environ.get("LLMRELAY_CONFIG")
        data: dict[str, Any] = {}
        if path:
            data = _read_yaml(Path(path))
        data.update(overrides)
        try:
            # YAML values go in as init kwargs; environment variables must still win over
            # the file, so drop file keys that the environment sets.
            env_keys = {
                k[len("LLMRELAY_") :].split("__")[0].lower() for k in os.environ if k.startswith("LLMRELAY_")
            }
            for key in env_keys & set(data) - set(overrides):
                data.pop(key)
            return cls(**data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, path)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping at the top level, got {type(data).__name__}"
        )
    return data


def _describe(exc: ValidationError, path: str | Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{loc}: {err['msg']}")
    return f"invalid llmrelay configuration{where}:\n  " + "\n  ".join(lines)


def read_key_file(path: Path) -> dict[str, str]:
    """KEY=value lines (``#`` comments, optional quotes, optional ``export``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"key file {path}, line {n}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = value
    return out
