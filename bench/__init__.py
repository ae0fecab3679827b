"""Benchmarks of django-jobtastic against real services (run each module as a script)."""
