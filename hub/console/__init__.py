"""The operator console: server-rendered pages for the platform admin and each tenant."""
