"""Process wiring: settings, the dispatcher factory, middlewares, runners and the command line."""
