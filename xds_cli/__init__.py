"""The `xds` command: the operator's entry point to the registry and repository."""
