"""Kwont shared code: event models, Kafka I/O, settings, logging, metrics and Mongo access.

Nothing here belongs to a single service; service-specific logic lives in services/.
"""
