"""Pure verifiers: bytes in, findings out. No network, no database, no Prefect."""
