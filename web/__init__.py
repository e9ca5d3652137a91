"""The edge: the Flask web app (``web.app.create_app``) and the ``shanyu`` CLI (``web.cli``)."""
