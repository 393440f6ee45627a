"""Hookyard's built-in plugins, registered through the same `hookyard` entry points as any other."""
