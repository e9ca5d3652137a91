"""Service-task handlers, registered by name (see ``handlers.registry``).

Importing the package registers the programme's handlers in ``handlers.registry.REGISTRY``, the
registry an ``Engine`` uses by default, so every entry point (CLI, web, scheduler, tests) that
builds an engine can run the diagrams in ``bpmn/``.
"""

from handlers import cycle_data, deadlines, notices, program, titles  # noqa: F401  (they register on import)
