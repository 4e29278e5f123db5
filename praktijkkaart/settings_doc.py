"""The README's configuration table, rendered from the Settings fields (a test keeps the two in step)."""

from __future__ import annotations

from pydantic.fields import FieldInfo

from praktijkkaart.settings import CORPUS_DIR, Settings


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value == CORPUS_DIR:
        return "./corpus"
    return str(value)


def settings_table() -> str:
    """One Markdown row per setting: environment variable, default, description."""
    prefix = Settings.model_config.get("env_prefix", "")
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        desc = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{prefix}{name.upper()}` | `{_default(info)}` | {desc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
