"""`praktijkkaart feedback [--json|--csv]`: the feedback staff gave in the chat, for school IT to read back.

The rows are already redacted when they are stored (assistant/feedback.py); this command only reads them and
never creates the store. Imports stay lazy so that `praktijkkaart --help` remains instant.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.feedback import FeedbackRecord
    from praktijkkaart.settings import Settings

VERDICTS = {1: "nuttig", 0: "niet nuttig", None: "alleen opmerking"}
EMPTY = "Er is nog geen feedback gegeven (of alles is al na de bewaartermijn verwijderd)."
# Column headers of --csv: Dutch, because the file is opened in a spreadsheet by people.
CSV_COLUMNS = {"created_at": "datum", "question": "vraag", "verdict": "oordeel", "comment": "toelichting",
               "generator": "antwoordvorm", "answer_id": "antwoord_id", "answer": "antwoord"}


def feedback_rows(records: list[FeedbackRecord]) -> list[dict[str, Any]]:
    """One plain dict per feedback row (the --json contract), oldest first."""
    return [{"answer_id": r.id, "created_at": r.created_at.isoformat(), "question": r.question,
             "verdict": VERDICTS.get(r.thumbs, "alleen opmerking"), "thumbs": r.thumbs, "comment": r.comment,
             "generator": r.generator, "answer": r.answer, "passage_ids": list(r.passage_ids)}
            for r in records]


def _print_human(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print(EMPTY)
        return
    for row in rows:
        print(f"{row['created_at'][:16].replace('T', ' ')} UTC  {row['verdict']}  "
              f"(antwoordvorm {row['generator'] or 'onbekend'}, antwoord {row['answer_id']})")
        print(f"  Vraag: {row['question']}")
        if row["comment"]:
            print(f"  Toelichting: {row['comment']}")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS.values()}
    print(f"\n{len(rows)} feedbackregel{'s' if len(rows) != 1 else ''}: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".")


def feedback_command(settings: Settings, *, as_json: bool, as_csv: bool) -> int:
    from assistant.feedback import list_feedback

    rows = feedback_rows(list_feedback(settings))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(CSV_COLUMNS.values()), lineterminator="\n")
        writer.writeheader()
        writer.writerows({CSV_COLUMNS[k]: row[k] or "" for k in CSV_COLUMNS} for row in rows)
    else:
        _print_human(rows)
    return 0


def _run(args: argparse.Namespace) -> int:
    from praktijkkaart.settings import Settings

    return feedback_command(Settings(), as_json=args.json, as_csv=args.csv)


def register(sub: Any) -> None:
    """Add the `feedback` subcommand to the CLI's subparsers."""
    sp = sub.add_parser("feedback", help="toon de feedback uit de chat (vraag, oordeel, toelichting)")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="uitvoer als JSON")
    fmt.add_argument("--csv", action="store_true", help="uitvoer als CSV (voor een spreadsheet)")
    sp.set_defaults(func=_run)
