"""Channel layer: how a channel without buttons shows and reads what the handlers send."""
