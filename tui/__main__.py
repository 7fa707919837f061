"""`python -m tui` runs the `roster` command."""

from tui.cli import main

raise SystemExit(main())
