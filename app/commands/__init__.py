"""The command line's commands, one module each: `serve` (and `web`), `worker`, `demo`, `check`,
`protect`. Each has `main(args) -> int`, the exit code; `app/__main__.py` parses the arguments
and imports only the module of the command it runs. The service itself starts in one place,
`Service.start` (app/service.py), whether `serve`, `web`, `worker` or `demo` runs it."""
