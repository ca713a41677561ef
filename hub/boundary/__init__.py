"""The hub's input boundary: what every /v1 request must be before it reaches a service or the database."""
