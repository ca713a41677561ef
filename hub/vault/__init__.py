"""The credential vault: envelope encryption, key ring, rotation. The only code that sees plaintext secrets."""
