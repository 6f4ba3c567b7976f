"""Kwont portfolio service: Positions, balances, PnL and equity from fills and marks; publishes
`portfolio-snapshots`.
"""
