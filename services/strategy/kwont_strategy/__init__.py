"""Kwont strategy service: Runs deployed strategies on closed candles and publishes `signals`."""
