"""Service-task handlers, registered by name (see ``handlers.registry``)."""
