"""The README's configuration table, rendered from the Settings fields (a test keeps the two in step)."""

from __future__ import annotations

from pydantic.fields import FieldInfo

from praktijkkaart.settings import CORPUS_DIR, ENV_PREFIX, NESTED, Settings, sections


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if value == CORPUS_DIR:
        return "./corpus"
    return str(value)


def _row(name: str, info: FieldInfo) -> str:
    desc = (info.description or "").replace("|", "\\|")
    return f"| `{ENV_PREFIX}{name.upper()}` | `{_default(info)}` | {desc} |"


def env_names() -> list[str]:
    """Every setting's environment variable, in table order."""
    return [line.split("`")[1] for line in settings_table().splitlines()[2:] if line.startswith("| `")]


def settings_table() -> str:
    """One Markdown row per setting (a section's fields under a row naming the section)."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    nested = sections()
    for name, info in Settings.model_fields.items():
        section = nested.get(name)
        if section is not None:
            rows.append(f"| **{name}** | | {' '.join((info.description or '').split())} |")
            rows += [_row(f"{name}{NESTED}{field}", sub) for field, sub in section.model_fields.items()]
        else:
            rows.append(_row(name, info))
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
