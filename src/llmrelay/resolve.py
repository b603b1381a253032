"""Model names to deployments.

A model name is a configured alias (``fast``), the default alias ``local`` (the built-in
simulator when nothing else is configured), or ``host/model`` (``openai/gpt-4o-mini``,
``groq/llama-3.1-8b-instant``). Keys are read here, from the environment mapping and key
file given at construction — never by the adapters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmrelay.errors import MissingKeyError, UnknownModelError, UnknownProviderError
from llmrelay.hosts import HOSTS, Host
from llmrelay.secrets import Secret
from llmrelay.settings import DeploymentSettings, Settings
from llmrelay.wire import Endpoint

if TYPE_CHECKING:
    from llmrelay.catalog import Catalog

#: the alias that works with no configuration at all
LOCAL_ALIAS = "local"
LOCAL_MODEL = "sim-1"


@dataclass(frozen=True, slots=True)
class Deployment:
    """One concrete place to send a call: an endpoint plus routing attributes."""

    alias: str
    endpoint: Endpoint
    weight: float = 1.0
    #: the configured name; None reports ``host/model``
    label: str | None = None
    #: a key pool rotated by the router; the endpoint carries the first key
    keys: tuple[Secret, ...] = ()
    #: USD per million (input, output) tokens, for cost-based routing
    price: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        return self.label or f"{self.endpoint.host}/{self.endpoint.model}"


@dataclass(frozen=True, slots=True)
class Route:
    """What a model name resolves to: deployments in preference order, then fallback aliases."""

    alias: str
    deployments: tuple[Deployment, ...]
    fallbacks: tuple[str, ...] = ()


class Resolver:
    """``catalog``, when given, sends models it marks ``responses_only`` to their host's
    Responses API row (``Host.responses_host``): ``openai/o3-pro`` is served by
    ``openai-responses``, as OpenAI serves it nowhere else."""

    def __init__(
        self, settings: Settings, environ: Mapping[str, str], catalog: Catalog | None = None
    ) -> None:
        self._settings = settings
        self._environ = environ
        self._catalog = catalog

    def _host_for(self, host: Host, model: str) -> Host:
        if host.responses_host is None or self._catalog is None:
            return host
        info = self._catalog.lookup(host.name, model)
        if info is not None and info.supports("responses_only"):
            return HOSTS[host.responses_host]
        return host

    def aliases(self) -> list[str]:
        names = list(self._settings.models)
        if LOCAL_ALIAS not in names:
            names.append(LOCAL_ALIAS)
        return names

    def resolve(self, model: str | None) -> Route:
        name = model or self._settings.default_model
        configured = self._settings.models.get(name)
        if configured is not None:
            deps = tuple(
                self._deployment(name, configured.deployments, i) for i in range(len(configured.deployments))
            )
            return Route(name, deps, tuple(configured.fallbacks))
        if name == LOCAL_ALIAS:
            return Route(name, (Deployment(name, self._host_endpoint(HOSTS["simulator"], LOCAL_MODEL)),))
        prefix, sep, model_id = name.partition("/")
        if not sep:
            configured_names = ", ".join(sorted(self.aliases()))
            raise UnknownModelError(
                f"unknown model {name!r}: use 'provider/model' (for example 'openai/gpt-4o-mini' or "
                f"'anthropic/claude-sonnet-4-5') or one of the configured aliases: {configured_names}"
            )
        host = HOSTS.get(prefix)
        if host is None:
            raise UnknownProviderError(
                f"unknown provider {prefix!r} in model {name!r}; known providers: {', '.join(sorted(HOSTS))}"
            )
        if not model_id:
            raise UnknownModelError(f"model {name!r} names a provider but no model after the '/'")
        return Route(name, (Deployment(name, self._host_endpoint(self._host_for(host, model_id), model_id)),))

    def _deployment(self, alias: str, configured: list[DeploymentSettings], index: int) -> Deployment:
        d = configured[index]
        label = d.name
        if label is None and sum(1 for o in configured if (o.provider, o.model) == (d.provider, d.model)) > 1:
            # Two unnamed deployments of one host/model (say, two regions) need distinct
            # names, or they would share a circuit breaker and routing statistics.
            label = f"{d.provider}/{d.model}#{index + 1}"
        keys = self._key_pool(d)
        price = (d.price.input, d.price.output) if d.price is not None else None
        return Deployment(alias, self.endpoint_for(d), d.weight, label, keys, price)

    def _key_pool(self, d: DeploymentSettings) -> tuple[Secret, ...]:
        if not isinstance(d.api_key_env, list) or d.api_key is not None:
            return ()
        keys = []
        for var in d.api_key_env:
            value = self._environ.get(var)
            if not value:
                raise MissingKeyError(
                    f"deployment {d.provider}/{d.model} has a key pool: set the environment variable {var}"
                    + " (or remove it from api_key_env)",
                    env_var=var,
                    provider=d.provider,
                )
            keys.append(Secret(value))
        return tuple(keys)

    def endpoint_for(self, d: DeploymentSettings) -> Endpoint:
        host = self._host_for(HOSTS[d.provider], d.model)
        key: Secret | None
        if d.api_key is not None:
            key = Secret(d.api_key.get_secret_value())
        elif d.api_key_env:
            var = d.api_key_env if isinstance(d.api_key_env, str) else d.api_key_env[0]
            value = self._environ.get(var)
            if not value:
                raise MissingKeyError(
                    f"deployment {d.provider}/{d.model} needs an API key: set the environment variable {var}",
                    env_var=var,
                    provider=d.provider,
                )
            key = Secret(value)
        else:
            key = self._key_for(host)
        base = d.base_url or self._base_url(host)
        return Endpoint(
            provider=host.protocol,
            model=d.model,
            base_url=base.rstrip("/"),
            api_key=key,
            host=host.name,
            headers=dict(d.headers),
            query=dict(d.query),
            options={**host.options, **d.options},
        )

    def _host_endpoint(self, host: Host, model_id: str) -> Endpoint:
        return Endpoint(
            provider=host.protocol,
            model=model_id,
            base_url=self._base_url(host).rstrip("/"),
            api_key=self._key_for(host),
            host=host.name,
            options=dict(host.options),
        )

    def _base_url(self, host: Host) -> str:
        if host.base_url_env and (v := self._environ.get(host.base_url_env)):
            return v
        if host.base_url is None:
            raise MissingKeyError(
                f"provider {host.name!r} needs its endpoint: set the environment variable "
                f"{host.base_url_env} (for example https://my-resource.openai.azure.com) "
                + "or give base_url in the deployment",
                env_var=host.base_url_env,
                provider=host.name,
            )
        return host.base_url

    def _key_for(self, host: Host) -> Secret | None:
        for var in host.key_env:
            value = self._environ.get(var)
            if value:
                return Secret(value)
        if host.key_required:
            var = host.key_env[0]
            raise MissingKeyError(
                f"no API key for provider {host.name!r}: set the environment variable {var}"
                + (f" (or {', '.join(host.key_env[1:])})" if len(host.key_env) > 1 else ""),
                env_var=var,
                provider=host.name,
            )
        return None
