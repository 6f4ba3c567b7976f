"""Kwont risk service: Checks and sizes signals; publishes approved `orders` or `risk-
rejections`.
"""
