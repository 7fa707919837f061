"""`python -m tui` runs the `roster` command."""

from tui.cli.main import main

raise SystemExit(main())
