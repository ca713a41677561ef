"""Database: engine and session setup, the declarative Base, one module per table group."""
