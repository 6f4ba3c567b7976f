"""Kwont marketdata service: Exchange feeds, replays and the synthetic feed into `ticks` and
`candles`; owns `ohlcv`.
"""
