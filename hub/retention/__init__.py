"""Retention: what the hub keeps of finished work, and the pruning of everything older."""
