"""Kwont execution service: Sends orders to a venue (paper or Binance); publishes `order-
updates` and `fills`.
"""
