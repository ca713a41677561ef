"""The Stripe plugin: client factory, transformers (Stripe <-> neutral), webhook parsing."""
