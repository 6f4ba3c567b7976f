"""Kwont gateway service: REST, GraphQL and WebSocket API; pushes progress, results, fills and
candles to subscribers.
"""
