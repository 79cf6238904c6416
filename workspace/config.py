"""The workspace's settings: from a TOML file and the environment (the environment wins).

Why both: a council's server keeps its settings in a file its administrators manage
(``CARELEDGER_WORKSPACE_CONFIG=/etc/careledger/workspace.toml``, a ``[workspace]`` table), and containers
pass the same keys as ``CARELEDGER_WORKSPACE_<KEY>`` variables. docs/runbook.md lists every key.

The secret key has no default outside the demo: without it the workspace refuses to start, rather than
run with a key anyone can read in this file.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

ENV_PREFIX = "CARELEDGER_WORKSPACE_"
CONFIG_FILE_ENV = "CARELEDGER_WORKSPACE_CONFIG"
SECRET_KEY_MIN_CHARS = 32


class ConfigError(ValueError):
    """A setting that is missing or cannot be used; the message names it and says what is expected."""


@dataclass(frozen=True)
class WorkspaceConfig:
    secret_key: str
    base_url: str = "http://127.0.0.1:8000"  # how people reach it (links in e-mail); https:// turns Secure cookies on
    secure_cookies: bool | None = None  # None: Secure when base_url is https://
    session_idle_minutes: int = 30  # signed out after this long without a request
    session_absolute_hours: int = 10  # and after this long however busy (a working day)
    sign_in_failures_max: int = 5  # wrong passwords in a row before the account locks
    sign_in_window_minutes: int = 15  # ... counted over this long
    lock_minutes: int = 15  # how long the lock lasts
    address_attempts_per_minute: int = 20  # sign-in attempts one address may make in a minute
    trusted_proxies: str = "127.0.0.1"  # addresses whose X-Forwarded-For / -Proto are believed (uvicorn)

    def __post_init__(self) -> None:
        if len(self.secret_key) < SECRET_KEY_MIN_CHARS:
            raise ConfigError(
                f"secret_key must be at least {SECRET_KEY_MIN_CHARS} characters (set {ENV_PREFIX}SECRET_KEY or "
                "secret_key in the config file; `python -c 'import secrets; print(secrets.token_urlsafe(48))'` makes one)"
            )
        for name in ("session_idle_minutes", "session_absolute_hours", "sign_in_failures_max", "sign_in_window_minutes",
                     "lock_minutes", "address_attempts_per_minute"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def cookies_secure(self) -> bool:
        return self.secure_cookies if self.secure_cookies is not None else self.base_url.startswith("https://")


def _coerce(name: str, raw: object, kind: type) -> object:
    if kind is bool or name == "secure_cookies":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    if kind is int:
        try:
            return int(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    return str(raw)


def load_config(env: dict[str, str] | None = None, *, demo: bool = False) -> WorkspaceConfig:
    """Settings from the file named by CARELEDGER_WORKSPACE_CONFIG (if any), then CARELEDGER_WORKSPACE_* variables.

    ``demo``: a random secret key when none is set (the demo's sessions end when it stops)."""
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    if path := env.get(CONFIG_FILE_ENV):
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the workspace config file {path}: {exc}") from exc
        values.update(doc.get("workspace", {}))
    known = {f.name: f for f in fields(WorkspaceConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown workspace setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for name in known:
        if (raw := env.get(ENV_PREFIX + name.upper())) is not None:
            values[name] = raw
    kinds = {"secret_key": str, "base_url": str, "trusted_proxies": str, "secure_cookies": bool}
    typed = {n: _coerce(n, v, kinds.get(n, int)) for n, v in values.items()}
    if "secret_key" not in typed:
        if not demo:
            raise ConfigError(f"no secret key: set {ENV_PREFIX}SECRET_KEY or secret_key in the config file ({CONFIG_FILE_ENV})")
        typed["secret_key"] = secrets.token_urlsafe(48)
    return WorkspaceConfig(**typed)  # type: ignore[arg-type]


def fresh_config(**overrides: object) -> WorkspaceConfig:
    """A configuration for tests and the demo: a fresh random key, everything else as given or default."""
    return replace(WorkspaceConfig(secret_key=secrets.token_urlsafe(48)), **overrides)
