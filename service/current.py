"""The Services of the application serving the current request (or CLI command)."""

from __future__ import annotations

from flask import Flask, current_app

from .services import Services

EXTENSION = "service"


def install(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION] = services


def current_services() -> Services:
    return current_app.extensions[EXTENSION]
