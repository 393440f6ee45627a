"""`python -m engine` is the `hookyard` command."""

from engine.cli import main

raise SystemExit(main())
