"""Entry point: `create_app()` and the command line (serve, migrate, seed, token,
import-register, export-schema)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from fastapi import FastAPI

if TYPE_CHECKING:
    from models.db import Readiness

log = logging.getLogger("app")


def create_app(libpq_uri: str | None = None, readiness: Readiness | None = None) -> FastAPI:
    """Build the ASGI app for an already-migrated database (the embedded one by default).

    `PETITION_SCHEDULER_SECONDS` (default 60, 0 turns it off) paces automatic escalation;
    `readiness` tells `/readyz` about the database server (`external_readiness` if omitted).
    """
    import os

    from models.db import external_readiness, libpq_url
    from ops.metrics import configure_request_log
    from schema.http import build_app

    configure_request_log()
    every = float(os.environ.get("PETITION_SCHEDULER_SECONDS", "60"))
    return build_app(
        libpq_uri or libpq_url(),
        scheduler_seconds=every,
        readiness=readiness or external_readiness,
    )


def cmd_migrate(_: argparse.Namespace) -> None:
    from models.db import libpq_url
    from models.migrate import upgrade

    upgrade(libpq_url())
    print("database migrated to head")


def cmd_seed(args: argparse.Namespace) -> None:
    from models.db import libpq_url
    from models.migrate import upgrade
    from seeds.run import seed

    uri = libpq_url()
    upgrade(uri)
    asyncio.run(seed(uri, args.scale, force=args.force))


class Stop(BaseException):
    """SIGTERM or SIGINT: unwinds `serve` through its cleanup, then exits 0."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, _: FrameType | None) -> None:
    raise Stop(signum)


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve until SIGTERM or SIGINT, then stop the embedded server this process started.

    uvicorn catches both signals for its graceful shutdown and re-raises them afterwards;
    with the default SIGTERM action that killed the process before any cleanup ran, so
    the postmaster outlived the app. Our handler turns the re-raised signal into `Stop`.
    """
    signals = (signal.SIGTERM, signal.SIGINT)
    pending: list[int] = []

    def defer(signum: int, _: FrameType | None) -> None:
        pending.append(signum)

    for signum in signals:  # initdb and pg_ctl must not be cut short: a signal waits
        signal.signal(signum, defer)

    import uvicorn

    from models.db import external_readiness, libpq_url, supervise_embedded
    from models.migrate import upgrade
    from seeds.run import seed

    supervisor = None
    try:
        supervisor = supervise_embedded()
        for signum in signals:  # migrations and the seed roll back when interrupted
            signal.signal(signum, _raise_stop)
        if pending:
            _raise_stop(pending[0], None)
        uri = libpq_url()
        upgrade(uri)
        if not args.no_seed:
            asyncio.run(seed(uri, "demo", force=False))
        print(f"GraphQL and GraphiQL on http://{args.host}:{args.port}/graphql")
        readiness = supervisor.readiness if supervisor is not None else external_readiness
        # No per-message compression on WebSockets: screens get small JSON messages, and a
        # compressor per connection costs about 60 KiB of memory and CPU per message sent.
        uvicorn.run(
            create_app(uri, readiness),
            host=args.host,
            port=args.port,
            log_level="info",
            ws_per_message_deflate=False,
        )
    except Stop as stop:
        log.info("stopping on %s", stop)
    finally:
        if supervisor is not None:
            for signum in signals:  # a second signal must not cut the (bounded) fast
                signal.signal(signum, signal.SIG_IGN)  # shutdown short
            supervisor.stop()


def cmd_token(args: argparse.Namespace) -> None:
    """Bootstrap an API token without signing in: needs access to the database itself."""
    from models.db import libpq_url
    from models.migrate import upgrade
    from seeds.tokens import issue_token

    uri = libpq_url()
    upgrade(uri)
    secret = asyncio.run(issue_token(uri, args.org_unit, args.role, args.name, args.days))
    print(f"{args.role} token for {args.org_unit} (shown once, store it now):")
    print(secret)


def cmd_import_register(args: argparse.Namespace) -> None:
    """Check (and without --dry-run import) a register file for a community or grid, as the
    operator with access to the database itself; the same checks and audit as the API."""
    from models.db import libpq_url, make_engine, make_sessionmaker
    from models.migrate import upgrade
    from resolvers.errors import DomainError
    from resolvers.register import RowStatus, write_report
    from schema.register import import_from_command_line

    uri = libpq_url()
    upgrade(uri)
    path = Path(args.file)
    content = path.read_bytes()

    async def run() -> int:
        engine = make_engine(uri)
        try:
            outcome = await import_from_command_line(
                make_sessionmaker(engine), args.org_unit, content, path.name, write=not args.dry_run
            )
        except DomainError as error:
            print(f"refused: {error.code}: {error.message}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        check = outcome.check
        print(
            f"{len(check.rows)} rows: {check.count(RowStatus.NEW)} new residents in"
            f" {len(check.new_households)} new households, {check.count(RowStatus.UNCHANGED)}"
            f" unchanged, {check.invalid} with problems"
        )
        for problem in check.problems[:20]:
            print(f"  row {problem.row}: {problem.code}: {problem.message}")
        if args.report:
            report = write_report(check)
            await asyncio.to_thread(Path(args.report).write_bytes, report)
            print(f"report written to {args.report}")
        if outcome.imported is not None:
            imported = outcome.imported
            print(
                f"imported {len(imported.person_ids)} residents,"
                f" {len(imported.household_ids)} households"
            )
        elif not args.dry_run:
            print("nothing imported: fix the rows with problems and run again", file=sys.stderr)
        return 1 if check.invalid else 0

    code = asyncio.run(run())
    if code:
        raise SystemExit(code)


def cmd_export_schema(args: argparse.Namespace) -> None:
    from schema.root import schema

    sdl = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
    else:
        sys.stdout.write(sdl)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="app.py", description="Red Beautiful Building (红色美丽楼栋) GraphQL platform"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate, seed the demo city once, serve GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-seed", action="store_true", help="do not seed the demo city")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load the demo city or the city-scale data set")
    seed.add_argument("--scale", choices=["demo", "city"], default="demo")
    seed.add_argument("--force", action="store_true", help="seed even if data already exists")
    seed.set_defaults(func=cmd_seed)

    token = sub.add_parser("token", help="create an INTEGRATOR or DISPLAY API token")
    token.add_argument("--org-unit", required=True, help="code of the node it is bound to")
    token.add_argument("--role", choices=["INTEGRATOR", "DISPLAY"], required=True)
    token.add_argument("--name", required=True, help="who or what uses it")
    token.add_argument("--days", type=int, default=90, help="lifetime (1-366 days)")
    token.set_defaults(func=cmd_token)

    register = sub.add_parser(
        "import-register", help="check and import a register (台账) .xlsx for a community or grid"
    )
    register.add_argument("file", help="the .xlsx, one row per resident (see README)")
    register.add_argument("--org-unit", required=True, help="code of the community or grid")
    register.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    register.add_argument("--report", help="write the checked rows, problems marked, to this .xlsx")
    register.set_defaults(func=cmd_import_register)

    export = sub.add_parser("export-schema", help="print the GraphQL SDL (or write --output)")
    export.add_argument("--output", help="file to write instead of standard output")
    export.set_defaults(func=cmd_export_schema)
    return p


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from ops.metrics import configure_request_log

    configure_request_log()
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
