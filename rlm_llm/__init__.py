"""An `llm` plugin: `llm rlm "QUESTION" -c PATH [-c PATH ...] [-m MODEL] [--sub-model M]`.

Runs a Recursive Language Model with any model `llm` knows, with `llm`'s own keys and aliases:
every root call and sub-call is an `llm` prompt, logged into `llm`'s log database as `llm` logs
its own (unless logging is off or `--no-log`). `--save` also stores our trace in RLM Workbench's
database. Installed with the `llm` extra (`pip install 'rlm-workbench[llm]'`); registered
through the `llm` entry point group, as simonw/llm's plugin conventions ask.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import llm

from rlm_engine.config import Budgets
from rlm_llm.provider import LLMProvider, ResponseLog


@llm.hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="rlm")
    @click.argument("question")
    @click.option(
        "-c",
        "--context",
        "paths",
        multiple=True,
        required=True,
        type=click.Path(exists=True, path_type=Path),
        help="A file or directory of the corpus (repeatable)",
    )
    @click.option("-m", "--model", "model_id", help="Root model (default: llm's default model)")
    @click.option("--sub-model", help="Model for llm_query() (default: the root model)")
    @click.option(
        "--max-iterations",
        type=click.IntRange(1),
        default=Budgets.max_iterations,
        show_default=True,
    )
    @click.option(
        "--max-sub-calls", type=click.IntRange(0), default=Budgets.max_sub_calls, show_default=True
    )
    @click.option(
        "--max-depth", type=click.IntRange(1), default=Budgets.max_depth, show_default=True
    )
    @click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds")
    @click.option("--save", is_flag=True, help="Also store the trace in RLM Workbench's database")
    @click.option("--db", help="RLM Workbench database URL for --save")
    @click.option("-n", "--no-log", is_flag=True, help="Don't log to llm's database")
    @click.option("--json", "as_json", is_flag=True, help="Print rlm ask's JSON object")
    def rlm(
        question: str,
        paths: tuple[Path, ...],
        model_id: str | None,
        sub_model: str | None,
        max_iterations: int,
        max_sub_calls: int,
        max_depth: int,
        timeout: float | None,
        save: bool,
        db: str | None,
        no_log: bool,
        as_json: bool,
    ) -> None:
        """Answer QUESTION over files too large for the model's window, with a Recursive
        Language Model: the model writes Python that searches the corpus and calls sub-models."""
        from rlm_engine import ModelSpec, RunConfig
        from rlm_engine.corpus import load_paths
        from rlm_engine.providers import ProviderInfo, register_provider
        from rlm_engine.session import run

        corpus = load_paths(list(paths))
        for problem in corpus.problems:
            click.echo(f"warning: {problem.message}", err=True)
        if not corpus.documents:
            raise click.ClickException("no readable document in --context")
        try:
            root = llm.get_model(model_id) if model_id else llm.get_model()
            sub = llm.get_model(sub_model) if sub_model else None
        except llm.UnknownModelError as exc:
            raise click.ClickException(str(exc)) from None

        responses = ResponseLog()
        register_provider(
            ProviderInfo("llm", "llm", lambda spec, *_, **__: LLMProvider(spec, responses))
        )
        config = RunConfig(
            root=ModelSpec("llm", root.model_id),
            sub=ModelSpec("llm", sub.model_id) if sub else None,
            budgets=Budgets(
                max_iterations=max_iterations,
                max_sub_calls=max_sub_calls,
                max_depth=max_depth,
                max_time_s=timeout,
            ),
        )
        recorder, close_recorder = _recorder(save, db, corpus)
        try:
            outcome = run(
                question, corpus.context, config, on_event=recorder, hidden_paths=_hidden(db)
            )
        finally:
            close_recorder()
        if not no_log and _logs_on():
            responses.log_all()
        if as_json:
            click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False))
        elif outcome.status in ("completed", "limit"):
            click.echo(outcome.answer)
        else:
            click.echo(f"error: {outcome.error}", err=True)
            sys.exit(1)


def _logs_on() -> bool:
    return not (llm.user_dir() / "logs-off").exists()


def _hidden(db_url: str | None) -> tuple[str, ...]:
    """The directories the sandbox hides from model code: RLM Workbench's data and models
    directories and the SQLite file's directory of --db (every saved run lives there)."""
    from rlm_engine.paths import private_dirs
    from storage import sqlite_dir

    return private_dirs(db_url and sqlite_dir(db_url))


def _recorder(save: bool, db_url: str | None, corpus: Any) -> tuple[Any, Any]:
    """RLM Workbench's recorder when --save is given (the run then shows in its History)."""
    if not save:
        return None, lambda: 0
    from rlm_engine.paths import default_db_url
    from storage import Database

    database = Database.open(db_url or default_db_url())
    saved = database.save_corpus(
        ", ".join(doc.name for doc in corpus.documents[:3]), list(corpus.documents)
    )
    return database.recorder(corpus_id=saved.id), database.close
