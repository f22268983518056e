"""Programs that run inside the RedCode-Exec sandbox as its services (stdlib only)."""
