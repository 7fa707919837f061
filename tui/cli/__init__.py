"""The `roster` command: `tui.cli.main` parses the arguments and runs the handler that
`tui.cli.parser` names for the command; one module per concern holds the handlers, and
`tui.cli.output` prints every outcome."""
