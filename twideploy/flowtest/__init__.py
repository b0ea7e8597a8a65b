"""Offline flow tests: a Studio interpreter and a Serverless Function runtime."""
