"""`python -m monitor` works the same as `monitor`."""

from .cli import main

main(prog_name="monitor")
