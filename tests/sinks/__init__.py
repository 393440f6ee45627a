"""Tests of the built-in sink plugins."""
