"""Reading TOML configuration files (``tomllib`` on Python >= 3.11, ``tomli`` before) with clear errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _toml  # type: ignore[no-redef]


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file at ``path`` as a dict; ConfigError if it is missing, unreadable or not valid TOML."""
    p = Path(path)
    try:
        return _toml.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {str(p)!r}: {e}") from None
    except _toml.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {e}") from None
