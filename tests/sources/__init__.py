"""Tests of the built-in source plugins."""
