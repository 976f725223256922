"""The ``m6`` command: one entry point whose subcommands live in the packages they belong to."""
